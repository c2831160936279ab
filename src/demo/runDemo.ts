/**
 * `slate-replicator demo`: the replicator's main job on a machine with no database of its
 * own. It starts an embedded PostgreSQL, makes a source and two destinations from sql/,
 * writes generated events into the source (the load generator, as an application would)
 * and runs the replicator in this process, showing each destination's progress once a second.
 *
 * Stopping (Ctrl-C or SIGTERM), in order: the load stops after its transaction in flight;
 * the destinations are given a moment to copy the last rows; the replicator stops cleanly;
 * every destination is compared with the source (rows, max id, md5 of all rows); PostgreSQL
 * stops and its data directory is removed; then the summary is printed. A destination that
 * does not equal the source ends the demo with the divergence exit code; a replicator that
 * fails ends it with the replicator's exit code. Either way nothing is left running.
 *
 * The replicator logs at info to a file next to the data directory, which is kept.
 */
import { createWriteStream } from 'node:fs';
import type { WriteStream } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import type bunyan from 'bunyan';
import { closeQuietly, connect } from '../db/connect.js';
import { startEmbeddedServer } from '../embedded/embeddedServer.js';
import type { EmbeddedServer } from '../embedded/embeddedServer.js';
import { DivergenceError, ExitCode, ReplicatorError, coerceError } from '../errors.js';
import { runLoad } from '../load/loadGenerator.js';
import type { LoadResult } from '../load/loadGenerator.js';
import { createLogger, formatPretty } from '../log.js';
import type { Logger } from '../log.js';
import { startReplicator } from '../replication/replicator.js';
import type { Replicator } from '../replication/replicator.js';
import type { ReplicatorConfig } from '../types.js';
import { compareDatabases } from './compareDatabases.js';
import type { Comparison } from './compareDatabases.js';
import { createDemoDatabases } from './demoDatabases.js';
import { LiveDisplay } from './liveDisplay.js';
import type { DisplayStream } from './liveDisplay.js';
import { onShutdownSignal } from '../signals.js';

export interface DemoSettings {
  rateEventsPerSecond: number;
  /** Events per insert_events call, i.e. per source transaction. */
  transactionSize: number;
  /** Seed of the event generator. */
  seed: number;
}

const REFRESH_INTERVAL_MS = 1000;
/** After the load stops, how long the destinations get to copy the last rows. */
const CATCH_UP_TIMEOUT_MS = 10_000;
const CATCH_UP_POLL_MS = 50;

const count = (n: number): string => Math.round(n).toLocaleString('en-US');

/** What happened between start and stop, for the summary. */
interface DemoRun {
  server: EmbeddedServer;
  logPath: string | undefined;
  stoppedBy: NodeJS.Signals | undefined;
  load: LoadResult | undefined;
  comparison: Comparison | undefined;
  /** A fault that ended the demo early (the replicator's or the load's). */
  failure: Error | undefined;
}

function waitForAbort(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/** Waits until every destination's position reaches `maxId`; false when the time ran out. */
async function waitForCatchUp(replicator: Replicator, maxId: number): Promise<boolean> {
  const deadline = performance.now() + CATCH_UP_TIMEOUT_MS;
  while (performance.now() < deadline) {
    if (replicator.status().destinations.every((d) => d.position >= maxId)) return true;
    await sleep(CATCH_UP_POLL_MS);
  }
  return false;
}

async function startServer(): Promise<EmbeddedServer> {
  try {
    return await startEmbeddedServer({ purpose: 'demo', callerHandlesSignals: true });
  } catch (thrown) {
    if (thrown instanceof ReplicatorError) throw thrown;
    const error = coerceError(thrown);
    throw new ReplicatorError(`the embedded PostgreSQL did not start: ${error.message}`, { exitCode: ExitCode.internal, cause: error });
  }
}

/** Info and up into the file; warnings and errors also on the display, above the live lines. */
function demoLogger(file: WriteStream, display: LiveDisplay): Logger {
  const log = createLogger({ stream: file, format: 'pretty', level: 'info' });
  const toDisplay = { write: (record: Record<string, unknown>) => display.note(formatPretty(record).trimEnd()) };
  log.addStream({ level: 'warn', type: 'raw', stream: toDisplay as unknown as bunyan.Stream['stream'] });
  return log;
}

async function closeFile(file: WriteStream | undefined): Promise<void> {
  if (file === undefined) return;
  await new Promise<void>((resolve) => file.end(() => resolve()));
}

async function replicate(
  config: ReplicatorConfig,
  settings: DemoSettings,
  display: LiveDisplay,
  log: Logger,
  stop: AbortController,
): Promise<Pick<DemoRun, 'load' | 'comparison' | 'failure'>> {
  let replicator: Replicator | undefined;
  let loadClient: pg.Client | undefined;
  let ticker: NodeJS.Timeout | undefined;
  try {
    replicator = await startReplicator(config, log);
    const running = replicator;
    // The demo's own session: '...' literals must keep backslashes (see load/insertEvents.ts).
    loadClient = await connect(config.eventSource, { connectTimeoutMs: config.connectTimeout, applicationName: 'slate-replicator demo load' });
    await loadClient.query('SET standard_conforming_strings = on');

    let eventsWritten = 0;
    const startedAt = performance.now();
    const figures = () => ({
      elapsedSeconds: (performance.now() - startedAt) / 1000,
      eventsWritten,
      destinations: running.status().destinations,
    });
    const load = runLoad({
      client: loadClient,
      transactionSize: settings.transactionSize,
      seed: settings.seed,
      rateEventsPerSecond: settings.rateEventsPerSecond,
      signal: stop.signal,
      progressIntervalMs: 0,
      onProgress: (progress) => {
        eventsWritten = progress.eventsWritten;
      },
    });
    display.update(figures());
    ticker = setInterval(() => display.update(figures()), REFRESH_INTERVAL_MS);

    // Until a signal, or a fault of the replicator or of the load.
    const failure = await Promise.race([
      waitForAbort(stop.signal).then(() => undefined),
      running.done.then(
        () => undefined,
        (thrown: unknown) => coerceError(thrown),
      ),
      load.then(
        () => undefined,
        (thrown: unknown) => coerceError(thrown),
      ),
    ]);
    stop.abort();
    const loadResult = await load.catch(() => undefined);
    if (failure !== undefined) return { load: loadResult, comparison: undefined, failure };

    const { rows } = await loadClient.query<{ max_id: string }>('SELECT coalesce(max(id), 0)::text AS max_id FROM events');
    const caughtUp = await waitForCatchUp(running, Number(rows[0]?.max_id ?? 0));
    if (!caughtUp) log.warn({ timeoutMs: CATCH_UP_TIMEOUT_MS }, 'the destinations did not copy the last rows in time');
    clearInterval(ticker);
    display.update(figures());
    await running.stop();
    const comparison = await compareDatabases(config.eventSource, config.replicationDestinations);
    return { load: loadResult, comparison, failure: undefined };
  } finally {
    clearInterval(ticker);
    await replicator?.stop();
    await closeQuietly(loadClient);
  }
}

/**
 * Starts everything, runs until stopped and takes everything down again. Throws only when
 * the server cannot start; any later fault is returned in `failure`, after the clean-up.
 */
async function runAndCleanUp(settings: DemoSettings, out: DisplayStream): Promise<DemoRun> {
  const stop = new AbortController();
  let stoppedBy: NodeJS.Signals | undefined;
  let server: EmbeddedServer | undefined;
  const display = new LiveDisplay(out);
  const removeSignalHandler = onShutdownSignal(
    (signal) => {
      stoppedBy = signal;
      display.note(`${signal}: stopping (a second Ctrl-C ends the demo at once)`);
      stop.abort();
    },
    {
      onForcedExit: () => {
        if (server !== undefined) out.write(`The data directory ${server.dataDir} may be left behind.\n`);
      },
    },
  );
  let logFile: WriteStream | undefined;
  try {
    server = await startServer();
    const logPath = `${server.dataDir}.log`;
    out.write(
      `PostgreSQL on 127.0.0.1:${server.port}, data directory ${server.dataDir} (removed at the end)\n` +
        `Replicator log: ${logPath}\n`,
    );
    const run: DemoRun = { server, logPath, stoppedBy, load: undefined, comparison: undefined, failure: undefined };
    try {
      if (stop.signal.aborted) return run;
      const config = await createDemoDatabases(server);
      if (stop.signal.aborted) return run;
      logFile = createWriteStream(logPath, { flags: 'a' });
      // A failed write to the log must not end the demo; the display still shows warnings.
      logFile.on('error', () => {});
      const log = demoLogger(logFile, display);
      out.write('\n');
      Object.assign(run, await replicate(config, settings, display, log, stop));
    } catch (thrown) {
      run.failure = coerceError(thrown);
    } finally {
      run.stoppedBy = stoppedBy;
    }
    return run;
  } finally {
    await server?.destroy();
    await closeFile(logFile);
    removeSignalHandler();
  }
}

function summaryLines(run: DemoRun): string[] {
  const lines = [''];
  const how = run.stoppedBy !== undefined ? `Stopped by ${run.stoppedBy}` : 'Stopped';
  lines.push(run.load === undefined ? `${how} before any event was written.` : `${how} after ${run.load.seconds.toFixed(1)} s.`);
  const names = ['source', ...(run.comparison?.destinations.map((d) => d.databaseName) ?? [])];
  const width = Math.max(...names.map((name) => name.length));
  if (run.load !== undefined) {
    lines.push(
      `  ${'source'.padEnd(width)}  ${count(run.load.eventsWritten)} events written in ${count(run.load.transactions)} ` +
        `transactions (${count(run.load.eventsPerSecond)} events/s)`,
    );
  }
  for (const d of run.comparison?.destinations ?? []) {
    const verdict = d.equal
      ? 'equal to the source'
      : `NOT equal to the source (source: ${count(run.comparison?.source.rows ?? 0)} rows, max id ${count(run.comparison?.source.maxId ?? 0)})`;
    lines.push(`  ${d.databaseName.padEnd(width)}  ${count(d.rows)} events, max id ${count(d.maxId)}, ${verdict}`);
  }
  if (run.comparison !== undefined && run.comparison.destinations.every((d) => d.equal)) {
    lines.push(`Every destination equals the source (md5 of all rows ${run.comparison.source.hash || 'of an empty table'}).`);
  }
  lines.push(`PostgreSQL stopped; ${run.server.dataDir} removed.`);
  if (run.logPath !== undefined) lines.push(`The replicator's log is kept in ${run.logPath}.`);
  return lines;
}

export async function runDemo(settings: DemoSettings, out: DisplayStream = process.stdout): Promise<void> {
  out.write(
    `slate-replicator demo: a source and two destinations on an embedded PostgreSQL, ` +
      `${count(settings.rateEventsPerSecond)} events/s written to the source in transactions of ` +
      `${count(settings.transactionSize)}. Ctrl-C stops it.\n`,
  );
  const run = await runAndCleanUp(settings, out);
  out.write(`${summaryLines(run).join('\n')}\n`);
  if (run.failure !== undefined) throw run.failure;
  const different = run.comparison?.destinations.filter((d) => !d.equal) ?? [];
  if (different.length > 0) {
    throw new DivergenceError(
      `${different.map((d) => d.databaseName).join(' and ')} did not end equal to the source; ` +
        `the replicator's log is in ${run.logPath ?? 'the demo directory'}`,
    );
  }
}
