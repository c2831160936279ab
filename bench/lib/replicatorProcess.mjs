/**
 * The replicator as users run it: `slate-replicator -c <config>`, i.e. node with the flags
 * on the first line of dist/cli.js, in a child process, with
 * a configuration file written for the run. Its memory is sampled from /proc while it
 * runs; its JSON log lines are read to know when it is replicating.
 */
import { spawn } from 'node:child_process';
import { cp, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { cpuSecondsOf } from './processStats.mjs';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const RSS_SAMPLE_MS = 50;
const RSS_SERIES_MS = 1000;
const STARTUP_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;

/** VmRSS and VmHWM of a process, in bytes; undefined once it has gone. */
async function memoryOf(pid) {
  let status;
  try {
    status = await readFile(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const kb = (field) => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return match === null ? undefined : Number(match[1]) * 1024;
  };
  return { rssBytes: kb('VmRSS'), hwmBytes: kb('VmHWM') };
}

/**
 * A copy of the built replicator (dist/, sql/, package.json; node_modules linked) in
 * `dir`, so every measurement of a run runs the same build even when dist/ is rebuilt
 * meanwhile. Resolves with the path of its cli.js.
 */
export async function snapshotBuild(dir) {
  await mkdir(dir, { recursive: true });
  for (const entry of ['dist', 'sql', 'package.json']) await cp(join(REPO, entry), join(dir, entry), { recursive: true });
  await symlink(join(REPO, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return join(dir, 'dist', 'cli.js');
}

/** The node flags of the script's `#!/usr/bin/env -S node ...` line (what the installed command runs with). */
async function shebangNodeFlags(cliPath) {
  const firstLine = (await readFile(cliPath, 'utf8')).split('\n', 1)[0] ?? '';
  const match = /^#!\/usr\/bin\/env -S node(.*)$/.exec(firstLine);
  return match ? match[1].split(' ').filter((flag) => flag !== '') : [];
}

/**
 * Starts the replicator at `cliPath` (default: this checkout's dist/cli.js) on `config` (a
 * configuration object, written to `configPath`).
 * `nodeArgs` go before the script (e.g. `--cpu-prof`). Resolves once the child has logged
 * `replicating` (its start-up checks passed and its listener is in place).
 */
export async function startReplicator(config, { cliPath = join(REPO, 'dist', 'cli.js'), configPath, nodeArgs = [], onLogLine } = {}) {
  await writeFile(configPath, JSON.stringify(config, null, 2));
  const spawnedAt = performance.now();
  const child = spawn(process.execPath, [...(await shebangNodeFlags(cliPath)), ...nodeArgs, cliPath, '-c', configPath], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = once(child, 'exit').then(([code, signal]) => ({ code, signal }));
  const stderr = [];
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text) => {
    stderr.push(text);
  });
  const logLines = [];
  let replicatingAt;
  let markReplicating;
  const replicating = new Promise((resolve) => {
    markReplicating = resolve;
  });
  createInterface({ input: child.stdout }).on('line', (line) => {
    let record;
    try {
      record = JSON.parse(line);
    } catch {
      record = { msg: line };
    }
    logLines.push(record);
    onLogLine?.(record);
    if (record.msg === 'replicating' && replicatingAt === undefined) {
      replicatingAt = performance.now();
      markReplicating();
    }
  });

  let peakRssBytes = 0;
  let peakHwmBytes = 0;
  let sampling = true;
  // VmRSS once a second: [seconds since spawn, MB], to see whether memory grows with time.
  const rssSeries = [];
  let nextSeriesMs = spawnedAt;
  const sample = async () => {
    const memory = await memoryOf(child.pid);
    if (memory === undefined) return;
    peakRssBytes = Math.max(peakRssBytes, memory.rssBytes ?? 0);
    peakHwmBytes = Math.max(peakHwmBytes, memory.hwmBytes ?? 0);
    const now = performance.now();
    if (now >= nextSeriesMs) {
      rssSeries.push([Number(((now - spawnedAt) / 1000).toFixed(1)), Number(((memory.rssBytes ?? 0) / 1e6).toFixed(1))]);
      nextSeriesMs += RSS_SERIES_MS;
    }
  };
  const sampler = (async () => {
    while (sampling) {
      await sample();
      await new Promise((resolve) => setTimeout(resolve, RSS_SAMPLE_MS));
    }
  })();

  const failure = exited.then(({ code, signal }) => {
    throw new Error(`the replicator exited during start-up (code ${code}, signal ${signal}):\n${stderr.join('')}${tail(logLines)}`);
  });
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the replicator did not start within ${STARTUP_TIMEOUT_MS} ms:\n${tail(logLines)}`)), STARTUP_TIMEOUT_MS);
  });
  try {
    await Promise.race([replicating, failure, timeout]);
  } catch (error) {
    child.kill('SIGKILL');
    sampling = false;
    throw error;
  } finally {
    clearTimeout(timer);
  }
  failure.catch(() => {});

  return {
    pid: child.pid,
    spawnedAt,
    /** Milliseconds from spawn until the `replicating` log line. */
    startupMs: replicatingAt - spawnedAt,
    logLines,
    /** Settles with `{ code, signal }` when the child exits, for whatever reason. */
    exited,
    /** Its stderr and last log lines, to explain an exit. */
    output: () => `${stderr.join('')}${tail(logLines)}`,
    /** The highest VmRSS sampled and VmHWM read so far, in bytes. */
    memory: () => ({ peakRssBytes, peakHwmBytes }),
    /** Samples once more, stops with SIGTERM and resolves with the exit code, peak memory and CPU seconds used. */
    async stop() {
      await sample();
      sampling = false;
      await sampler;
      const cpuSeconds = await cpuSecondsOf(child.pid);
      child.kill('SIGTERM');
      let killTimer;
      const result = await Promise.race([
        exited,
        new Promise((resolve) => {
          killTimer = setTimeout(() => {
            child.kill('SIGKILL');
            resolve({ code: null, signal: 'SIGKILL (did not stop within 30 s)' });
          }, STOP_TIMEOUT_MS);
        }),
      ]);
      clearTimeout(killTimer);
      return { ...result, peakRssBytes, peakHwmBytes, rssSeries, cpuSeconds, stderr: stderr.join('') };
    },
  };
}

function tail(records, n = 10) {
  return records
    .slice(-n)
    .map((record) => JSON.stringify(record))
    .join('\n');
}

/** A replicator configuration for `sourceName` and `destinationNames` on `server`, defaults otherwise. */
export function replicatorConfig(server, sourceName, destinationNames) {
  return {
    eventSource: server.databaseConfig(sourceName),
    replicationDestinations: destinationNames.map((name) => server.databaseConfig(name)),
  };
}
