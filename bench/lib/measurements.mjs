/**
 * One measurement each: a fresh destination (or two) cloned from the destination template,
 * a CHECKPOINT so no method pays for another's dirty buffers, the timed work, then the
 * destinations' rows compared with the source's by hash, and the databases dropped.
 *
 * Every function resolves with a record of figures; rows that differ are recorded in
 * `ctx.problems` (the bench then exits non-zero) rather than thrown, so the run goes on.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runLoad } from '../../dist/load/loadGenerator.js';
import { runCopyPipes } from './copyPipe.mjs';
import { differingDestinations, eventsHash, maxId, waitUntilCaughtUp } from './destinations.mjs';
import { lagStats } from './lag.mjs';
import { startFloorListener } from './notifyFloor.mjs';
import { cpuSecondsOfAll } from './processStats.mjs';
import { subscribe } from './logicalReplication.mjs';
import { replicatorConfig, startReplicator } from './replicatorProcess.mjs';

/** Longest a catch-up may take before the bench calls it stuck. */
const CATCH_UP_TIMEOUT_MS = 30 * 60_000;
/** Longest a destination may trail the end of a lag load before the bench calls it stuck. */
const DRAIN_TIMEOUT_MS = 5 * 60_000;

/** The 1-minute load average when the measurement starts: other work on the machine shows here. */
export function loadAverage() {
  try {
    return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  } catch {
    return undefined;
  }
}

export async function checkpoint(server) {
  // Needs superuser (or pg_checkpoint); on a shared server without it the bench goes on.
  await server.query('CHECKPOINT').catch(() => {});
}

async function newDestinations(ctx, count, template = ctx.destinationTemplate) {
  const names = [];
  for (let i = 0; i < count; i += 1) names.push(await ctx.server.cloneDatabase(template, 'dest'));
  return names;
}

/** Hash-checks `names` against `sourceHash`, records any difference, drops them. */
async function verifyAndDrop(ctx, label, names, sourceHash = ctx.sourceHash, extraDrops = []) {
  try {
    const differing = await differingDestinations(ctx.server, sourceHash, names);
    for (const name of differing) ctx.problems.push(`${label}: destination ${name} does not equal its source (events hash differs)`);
    return differing.length === 0;
  } finally {
    for (const name of [...names, ...extraDrops]) await ctx.server.dropDatabase(name);
  }
}

function mb(bytes) {
  return bytes / 1e6;
}

/** CPU seconds of the replicator's reader (source) and writer (destination) backends so far. */
async function replicatorBackendCpu(server) {
  const result = await server.query(
    "SELECT pid, application_name FROM pg_stat_activity WHERE application_name IN ('slate-replicator reader', 'slate-replicator writer')",
  );
  const pidsOf = (role) => result.rows.filter((row) => row.application_name === `slate-replicator ${role}`).map((row) => row.pid);
  return { reader: await cpuSecondsOfAll(pidsOf('reader')), writer: await cpuSecondsOfAll(pidsOf('writer')) };
}

/** `count` binary COPY pipes side by side, each into its own destination. */
export async function measureCopyPipes(ctx, count) {
  const names = await newDestinations(ctx, count);
  await checkpoint(ctx.server);
  const load = loadAverage();
  const cpuBefore = process.cpuUsage();
  const { seconds, rows, sourceBackendCpuSeconds, destinationBackendCpuSeconds } = await runCopyPipes(ctx.server, ctx.sourceName, names);
  const cpu = process.cpuUsage(cpuBefore);
  const rowsOk = rows.every((n) => n === ctx.sourceMaxId);
  if (!rowsOk) ctx.problems.push(`COPY pipes x${count}: rows copied ${rows.join(', ')}, expected ${ctx.sourceMaxId} each`);
  const equal = await verifyAndDrop(ctx, `COPY pipes x${count}`, names);
  return {
    seconds,
    eventsPerSecond: (count * ctx.sourceMaxId) / seconds,
    // This process's CPU while piping (its other work then is negligible).
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    sourceBackendCpuSeconds,
    destinationBackendCpuSeconds,
    equal: equal && rowsOk,
    loadAverage: load,
  };
}

/** Logical replication's initial sync of the loaded source into a fresh destination. */
export async function measureLogicalSync(ctx) {
  const [name] = await newDestinations(ctx, 1);
  await checkpoint(ctx.server);
  const load = loadAverage();
  const subscription = await subscribe(ctx.server, ctx.sourceName, name, { copyData: true });
  let seconds;
  try {
    seconds = await subscription.initialCopyDone();
  } finally {
    await subscription.close();
  }
  const equal = await verifyAndDrop(ctx, 'logical replication initial sync', [name]);
  return { seconds, eventsPerSecond: ctx.sourceMaxId / seconds, equal, loadAverage: load };
}

/**
 * The replicator CLI catching up the loaded source into `count` fresh destinations: the
 * time from spawning it until every destination's max id is the source's, its start-up
 * time (spawn to its `replicating` log line) and its peak memory.
 */
export async function measureReplicatorCatchUp(ctx, count, rep) {
  const names = await newDestinations(ctx, count);
  await checkpoint(ctx.server);
  const load = loadAverage();
  const label = `replicator catch-up x${count}`;
  const nodeArgs = ctx.cpuProfileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${ctx.cpuProfileDir}`];
  const replicator = await startReplicator(replicatorConfig(ctx.server, ctx.sourceName, names), {
    cliPath: ctx.cliPath,
    configPath: join(ctx.workDir, `catch-up-${count}-${rep}.json`),
    nodeArgs,
  });
  let caughtUp;
  let stopped;
  let backends = {};
  try {
    const failure = replicator.exited.then(({ code, signal }) => {
      throw new Error(`${label}: the replicator exited (code ${code}, signal ${signal}) before catching up:\n${replicator.output()}`);
    });
    failure.catch(() => {});
    caughtUp = await waitUntilCaughtUp(ctx.server, names, ctx.sourceMaxId, {
      startedAt: replicator.spawnedAt,
      failure,
      timeoutMs: CATCH_UP_TIMEOUT_MS,
    });
    backends = await replicatorBackendCpu(ctx.server);
  } finally {
    stopped = await replicator.stop();
  }
  if (stopped.code !== 0) ctx.problems.push(`${label}: the replicator exited with code ${stopped.code} (signal ${stopped.signal}) on SIGTERM`);
  const equal = await verifyAndDrop(ctx, label, names);
  return {
    seconds: caughtUp.seconds,
    perDestinationSeconds: caughtUp.perDestinationSeconds,
    startupMs: replicator.startupMs,
    eventsPerSecond: (count * ctx.sourceMaxId) / caughtUp.seconds,
    eventsPerSecondAfterStartup: (count * ctx.sourceMaxId) / (caughtUp.seconds - replicator.startupMs / 1000),
    peakRssMB: mb(stopped.peakHwmBytes),
    peakRssSampledMB: mb(stopped.peakRssBytes),
    cpuSeconds: stopped.cpuSeconds,
    sourceBackendCpuSeconds: backends.reader,
    destinationBackendCpuSeconds: backends.writer,
    rssSeries: stopped.rssSeries,
    equal,
    loadAverage: load,
  };
}

/**
 * Lag while the load generator writes `rate` events/s in transactions of `transactionSize`
 * for `ctx.lagSeconds` into a fresh, empty source, replicated by `method` ('logical',
 * 'replicator', or 'pipe': the bare notify-and-copy client of notifyFloor.mjs) into a
 * fresh destination with the lag trigger.
 */
export async function measureLag(ctx, method, rate, transactionSize, rep) {
  const sourceName = await ctx.server.cloneDatabase(ctx.sourceTemplate, 'lag_source');
  const [name] = await newDestinations(ctx, 1, ctx.lagDestinationTemplate);
  const label = `${method} lag at ${rate} events/s, transactions of ${transactionSize}`;
  await checkpoint(ctx.server);
  const load = loadAverage();
  let stop;
  let replicatorProcess;
  let failure;
  if (method === 'logical') {
    const subscription = await subscribe(ctx.server, sourceName, name, { copyData: false });
    stop = async () => subscription.close();
    await subscription.streaming().catch(async (error) => {
      await stop();
      throw error;
    });
  } else if (method === 'pipe') {
    const listener = await startFloorListener(ctx.server, 'pipe', sourceName, name);
    failure = listener.exited.then(({ code, signal }) => {
      throw new Error(`${label}: the listener exited (code ${code}, signal ${signal}) while streaming`);
    });
    failure.catch(() => {});
    stop = async () => listener.kill();
  } else {
    replicatorProcess = await startReplicator(replicatorConfig(ctx.server, sourceName, [name]), {
      cliPath: ctx.cliPath,
      configPath: join(ctx.workDir, `lag-${rate}-${rep}.json`),
    });
    stop = async () => {
      const stopped = await replicatorProcess.stop();
      if (stopped.code !== 0) ctx.problems.push(`${label}: the replicator exited with code ${stopped.code} (signal ${stopped.signal}) on SIGTERM`);
      return stopped;
    };
  }
  let stats;
  let loaded;
  let stopped;
  try {
    const source = await ctx.server.connect(sourceName);
    try {
      loaded = await runLoad({
        client: source,
        transactionSize,
        seed: ctx.seed + 100 + rep,
        rateEventsPerSecond: rate,
        durationMs: ctx.lagSeconds * 1000,
      });
    } finally {
      await source.end();
    }
    failure ??= replicatorProcess?.exited.then(({ code, signal }) => {
      throw new Error(`${label}: the replicator exited (code ${code}, signal ${signal}) while streaming:\n${replicatorProcess.output()}`);
    });
    failure?.catch(() => {});
    await waitUntilCaughtUp(ctx.server, [name], loaded.eventsWritten, {
      startedAt: performance.now(),
      failure,
      timeoutMs: DRAIN_TIMEOUT_MS,
    });
    const destination = await ctx.server.connect(name);
    try {
      stats = await lagStats(destination, loaded.eventsWritten);
    } finally {
      await destination.end();
    }
  } finally {
    stopped = await stop();
  }
  if (stats.missing !== 0 || stats.duplicated !== 0) {
    ctx.problems.push(`${label}: ${stats.missing} rows missing, ${stats.duplicated} duplicated`);
  }
  const sourceHash = await eventsHash(ctx.server, sourceName);
  const equal = await verifyAndDrop(ctx, label, [name], sourceHash, [sourceName]);
  return {
    ...stats,
    events: loaded.eventsWritten,
    achievedRate: loaded.eventsPerSecond,
    equal,
    loadAverage: load,
    ...(stopped?.peakHwmBytes === undefined ? {} : { peakRssMB: mb(stopped.peakHwmBytes) }),
  };
}

/** The source's max id (ids are consecutive from 1, so it is also the row count). */
export async function sourceMaxId(server, sourceName) {
  const client = await server.connect(sourceName);
  try {
    return await maxId(client);
  } finally {
    await client.end();
  }
}
