/**
 * Floors under any replicator woken by pg_notify, measured with the lag loads:
 *
 * - `notify`: how long after a row's source `ts` the notification for it reaches a client
 *   that does nothing but LISTEN (a process of its own, as the replicator is);
 * - `pipe` (measured by measureLag): that client copying the rows itself on each
 *   notification with one COPY out of the source piped into one COPY into the destination,
 *   with no transaction, lock or check: the least a replicator that reads the source when
 *   notified can do.
 *
 * Logical replication has neither step (its WAL sender pushes the changes to the apply
 * worker), so where these come near logical replication's lag, the replicator cannot match it.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { runLoad } from '../../dist/load/loadGenerator.js';
import { checkpoint, loadAverage } from './measurements.mjs';

const LISTENER = fileURLToPath(new URL('./notifyListener.mjs', import.meta.url));
/** How long the listener keeps listening after the load ends, for the last notifications. */
const SETTLE_MS = 1000;

/**
 * Starts bench/lib/notifyListener.mjs on `sourceName` (and `destinationName` for mode pipe);
 * resolves once it listens. `exited` settles when it exits; `finish()` asks for its figures.
 */
export async function startFloorListener(server, mode, sourceName, destinationName) {
  const config = { mode, source: server.clientConfig(sourceName) };
  if (destinationName !== undefined) config.destination = server.clientConfig(destinationName);
  const child = fork(LISTENER, [JSON.stringify(config)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = once(child, 'exit').then(([code, signal]) => ({ code, signal }));
  const [ready] = await Promise.race([once(child, 'message'), exited.then(() => [undefined])]);
  if (ready !== 'ready') throw new Error(`the ${mode} listener exited before listening`);
  return {
    exited,
    async finish() {
      const reply = once(child, 'message');
      child.send('done');
      const [figures] = await Promise.race([
        reply,
        exited.then(({ code, signal }) => {
          throw new Error(`the ${mode} listener exited (code ${code}, signal ${signal}) before sending its figures`);
        }),
      ]);
      await exited;
      return figures;
    },
    /** Ends the child; resolves once it has exited. */
    async kill() {
      child.kill();
      await exited;
    },
  };
}

function percentile(sorted, fraction) {
  const at = (sorted.length - 1) * fraction;
  const low = Math.floor(at);
  const high = Math.min(low + 1, sorted.length - 1);
  return sorted[low] + (sorted[high] - sorted[low]) * (at - low);
}

/**
 * Per-row figures from the rows' ids and ts (milliseconds) and the notifications'
 * [payload, arrival]: a row's figure is the arrival of the first notification whose id (the
 * statement's last id) is at or after the row's id, minus the row's ts. Percentiles are
 * interpolated as percentile_cont does for the lag figures.
 */
export function floorStats(rows, arrivals) {
  const notifications = arrivals
    .map(([payload, atMs]) => ({ lastId: Number(payload), atMs }))
    .filter((n) => Number.isSafeInteger(n.lastId))
    .sort((a, b) => a.lastId - b.lastId || a.atMs - b.atMs);
  const lags = [];
  let uncovered = 0;
  let next = 0;
  for (const { id, tsMs } of rows) {
    while (next < notifications.length && notifications[next].lastId < id) next += 1;
    if (next === notifications.length) uncovered += 1;
    else lags.push(notifications[next].atMs - tsMs);
  }
  lags.sort((a, b) => a - b);
  const figure = (fraction) => (lags.length === 0 ? undefined : percentile(lags, fraction));
  return {
    rows: rows.length,
    notifications: notifications.length,
    p50Ms: figure(0.5),
    p99Ms: figure(0.99),
    maxMs: lags.at(-1),
    uncovered,
    negative: lags.filter((lag) => lag < 0).length,
  };
}

/** Mode notify: the same load as the lag measurements (same seeds), on a fresh source. */
export async function measureNotifyArrival(ctx, rate, transactionSize, rep) {
  const label = `pg_notify arrival at ${rate} events/s, transactions of ${transactionSize}`;
  const sourceName = await ctx.server.cloneDatabase(ctx.sourceTemplate, 'notify_source');
  try {
    await checkpoint(ctx.server);
    const load = loadAverage();
    const listener = await startFloorListener(ctx.server, 'notify', sourceName);
    const source = await ctx.server.connect(sourceName);
    try {
      const loaded = await runLoad({
        client: source,
        transactionSize,
        seed: ctx.seed + 100 + rep,
        rateEventsPerSecond: rate,
        durationMs: ctx.lagSeconds * 1000,
      });
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
      const { arrivals } = await listener.finish();
      const rows = await source.query('SELECT id::float8 AS id, (extract(epoch FROM ts) * 1000)::float8 AS ts_ms FROM events ORDER BY id');
      const stats = floorStats(rows.rows.map((r) => ({ id: r.id, tsMs: r.ts_ms })), arrivals);
      if (stats.uncovered !== 0) ctx.problems.push(`${label}: ${stats.uncovered} rows had no notification`);
      if (stats.negative !== 0) ctx.problems.push(`${label}: ${stats.negative} rows arrived before their ts (clocks disagree)`);
      return { ...stats, events: loaded.eventsWritten, achievedRate: loaded.eventsPerSecond, loadAverage: load };
    } finally {
      await listener.kill();
      await source.end();
    }
  } finally {
    await ctx.server.dropDatabase(sourceName);
  }
}
