/**
 * The command line as users and CI run it: `node dist/cli.js -c <file> --dry-run`, as a
 * subprocess, exit codes included. None of these needs or touches a database.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const cliPath = join(repoRoot, 'dist', 'cli.js');
const examplePath = join(repoRoot, 'config.example.js');
const EXAMPLE_PASSWORD_VARS = ['SLATE_SOURCE_PASSWORD', 'SLATE_DESTINATION1_PASSWORD', 'SLATE_DESTINATION2_PASSWORD'];

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  elapsedMs: number;
}

/** Runs the built CLI with `args`; `env` entries set to undefined are removed from its environment. */
function runCli(args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete childEnv[key];
    else childEnv[key] = value;
  }
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], { cwd: repoRoot, env: childEnv });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, elapsedMs: performance.now() - started }));
  });
}

/** A local port nothing listens on: bound by the OS, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

let dir = '';
let fileCount = 0;
async function configFile(text: string, extension = 'js'): Promise<string> {
  const file = join(dir, `config${++fileCount}.${extension}`);
  await writeFile(file, text);
  return file;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'slate-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('--dry-run', () => {
  test('config.example.js is valid: exit 0, the resolved config on stdout', async () => {
    const unset = Object.fromEntries(EXAMPLE_PASSWORD_VARS.map((name) => [name, undefined]));
    const result = await runCli(['-c', examplePath, '--dry-run'], unset);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const printed = JSON.parse(result.stdout) as { eventSource: Record<string, unknown>; replicationDestinations: unknown[] };
    expect(printed.eventSource).toMatchObject({ host: 'localhost', port: 5432, databaseName: 'sourceDb' });
    expect(printed.eventSource).not.toHaveProperty('password');
    expect(printed.replicationDestinations.length).toBeGreaterThanOrEqual(1);
  });

  test('passwords from the environment are masked, never printed', async () => {
    const secrets = Object.fromEntries(EXAMPLE_PASSWORD_VARS.map((name, i) => [name, `env-secret-${i}-7f3a`]));
    const result = await runCli(['--config-filename', examplePath, '--dry-run'], secrets);
    expect(result.code).toBe(0);
    for (const secret of Object.values(secrets)) {
      expect(result.stdout).not.toContain(secret);
      expect(result.stderr).not.toContain(secret);
    }
    expect((JSON.parse(result.stdout) as { eventSource: { password: string } }).eventSource.password).toBe('********');
  });

  test('connects to nothing: a server that never answers and a closed port still validate at once', async () => {
    const port = await closedPort();
    // Accepts TCP connections and never answers: a connection attempt would hang until connectTimeout.
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const silentPort = (silent.address() as AddressInfo).port;
    try {
      const file = await configFile(`module.exports = {
        connectTimeout: 15000,
        eventSource: { host: '127.0.0.1', port: ${silentPort}, databaseName: 'src', password: 'unreachable-secret' },
        replicationDestinations: [{ host: '127.0.0.1', port: ${port}, databaseName: 'dst' }],
      };`);
      const result = await runCli(['-c', file, '--dry-run']);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.elapsedMs).toBeLessThan(3000);
      expect(result.stdout).not.toContain('unreachable-secret');
      expect(sockets).toHaveLength(0);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  test('an invalid config: exit 2, every problem on stderr, nothing on stdout, no password anywhere', async () => {
    const file = await configFile(`module.exports = {
      maxEventsPerWrite: 0,
      eventSource: { host: 'localhost', databaseName: 'src', password: 'invalid-case-secret' },
      replicationDestinations: [
        { host: 'localhost', databaseName: 'src', password: 'invalid-case-secret' },
        { host: 'localhost', databaseName: 'dst', pasword: 'invalid-case-secret' },
      ],
    };`);
    const result = await runCli(['-c', file, '--dry-run']);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      `slate-replicator: ${file} is invalid:\n` +
        '  replicationDestinations[1].pasword: unknown key (did you mean password?)\n' +
        '  maxEventsPerWrite: must be an integer between 1 and 1000000, got 0\n' +
        '  replicationDestinations[0]: same database as eventSource (localhost:5432/src): a destination must not be the source\n',
    );
    expect(result.stderr).not.toContain('invalid-case-secret');
  });

  test('a syntax error on the password line: exit 2, the password not quoted', async () => {
    const file = await configFile("module.exports = {\n  eventSource: { password: 'syntax-line-secret' oops },\n};\n");
    const result = await runCli(['-c', file, '--dry-run']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/has a syntax error at line 2: /);
    expect(result.stdout + result.stderr).not.toContain('syntax-line-secret');
  });

  test('a file that throws: exit 2, one line, no stack trace', async () => {
    const file = await configFile("throw new Error('broken on purpose');");
    const result = await runCli(['-c', file, '--dry-run']);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`slate-replicator: ${file} is invalid:\n  threw an error while being evaluated at line 1: Error: broken on purpose\n`);
  });

  test('a missing file: exit 2', async () => {
    const file = join(dir, 'missing.js');
    const result = await runCli(['-c', file, '--dry-run']);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`slate-replicator: ${file} is invalid:\n  cannot be read: no such file\n`);
  });

  test('a .json config', async () => {
    const file = await configFile(
      JSON.stringify({ eventSource: { host: 'h', databaseName: 's' }, replicationDestinations: [{ host: 'h', databaseName: 'd' }] }),
      'json',
    );
    const result = await runCli(['-c', file, '--dry-run']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ maxEventsPerWrite: 10000, pollIntervalMs: 5000 });
  });

  test('an ESM config with a default export', async () => {
    const file = await configFile(
      "export default { eventSource: { host: 'h', databaseName: 's' }, replicationDestinations: [{ host: 'h', databaseName: 'd' }] };",
      'mjs',
    );
    const result = await runCli(['-c', file, '--dry-run']);
    expect(result.code).toBe(0);
  });
});

describe('command line', () => {
  test('without -c: exit 2', async () => {
    const result = await runCli(['--dry-run']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--config-filename: required');
  });

  test('an unknown option: exit 2', async () => {
    const result = await runCli(['-c', examplePath, '--dry-runn']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--dry-runn');
  });

  test('--help: exit 0, lists -c and --dry-run', async () => {
    const result = await runCli(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('-c, --config-filename <file>');
    expect(result.stdout).toContain('--dry-run');
  });

  test("--version prints package.json's version", async () => {
    const { version } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    const result = await runCli(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(version);
  });
});
