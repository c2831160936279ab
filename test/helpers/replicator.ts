/**
 * Running the replicator inside the test process (fast, and its status is at hand) or as a
 * child process (for signals, kill -9 and exit codes), always stopped after the test.
 */
import { onTestFinished } from 'vitest';
import { Writable } from 'node:stream';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../../src/log.js';
import type { Logger } from '../../src/log.js';
import { startReplicator } from '../../src/replication/replicator.js';
import type { Replicator } from '../../src/replication/replicator.js';
import type { DatabaseConfig, ReplicatorConfig } from '../../src/types.js';

export const CLI_PATH = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

/** Log records kept in memory, so a test can look at them and a run stays quiet. */
export class LogCapture {
  readonly records: Array<Record<string, unknown>> = [];
  readonly log: Logger;

  constructor() {
    const records = this.records;
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') records.push(JSON.parse(line));
        callback();
      },
    });
    this.log = createLogger({ format: 'json', level: 'debug', stream: sink });
  }

  messages(): string[] {
    return this.records.map((r) => String(r.msg));
  }
}

export function replicatorConfig(
  source: { config: DatabaseConfig },
  destinations: Array<{ config: DatabaseConfig }>,
  overrides: Partial<ReplicatorConfig> = {},
): ReplicatorConfig {
  return {
    eventSource: source.config,
    replicationDestinations: destinations.map((d) => d.config),
    maxEventsPerWrite: 10_000,
    connectTimeout: 5_000,
    pollIntervalMs: 60_000,
    ...overrides,
  };
}

/** Starts an in-process replicator that is stopped when the test ends. */
export async function startTestReplicator(config: ReplicatorConfig): Promise<{ replicator: Replicator; logs: LogCapture }> {
  const logs = new LogCapture();
  const replicator = await startReplicator(config, logs.log);
  replicator.done.catch(() => {});
  onTestFinished(() => replicator.stop());
  return { replicator, logs };
}

/** Writes `config` as a CommonJS config file in a fresh directory removed after the test. */
export function writeConfigFile(config: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'slate-config-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'config.js');
  writeFileSync(file, `module.exports = ${JSON.stringify(config, null, 2)};\n`);
  return file;
}

export interface CliRun {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code (or the signal's name) when the process ends. */
  exited: Promise<number | string>;
  /** Resolves when a stdout line satisfies `match`. */
  waitForOutput(match: (line: string) => boolean, timeoutMs?: number): Promise<string>;
}

/** Starts `node dist/cli.js ...args`; the process is killed after the test if still running. */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv = {}): CliRun {
  const child = spawn(process.execPath, [CLI_PATH, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const waiters: Array<{ match: (line: string) => boolean; resolve: (line: string) => void }> = [];
  let pending = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8');
    pending += chunk.toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      for (const waiter of [...waiters]) {
        if (waiter.match(line)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
    }
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    err += chunk.toString('utf8');
  });
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? signal ?? -1));
  });
  onTestFinished(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitForOutput(match, timeoutMs = 30_000) {
      const already = out.split('\n').find(match);
      if (already !== undefined) return Promise.resolve(already);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching output within ${timeoutMs} ms; stdout:\n${out}\nstderr:\n${err}`)), timeoutMs);
        waiters.push({ match, resolve: (line) => { clearTimeout(timer); resolve(line); } });
      });
    },
  };
}

/** Runs the CLI to completion and returns its exit code and output. */
export async function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const run = spawnCli(args, env);
  const code = await run.exited;
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}

/** Parses the JSON log lines of a child's stdout. */
export function logRecords(stdout: string): Array<Record<string, unknown>> {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
