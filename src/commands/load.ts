/**
 * `slate-replicator load`: writes generated Person events into a source database through
 * its `insert_events(text)`, as an application would, to try the replicator under load.
 * SIGINT or SIGTERM stops it after the transaction in flight (exit 0).
 */
import { Command } from 'commander';
import type pg from 'pg';
import { loadConfig } from '../config/load.js';
import { closeQuietly, connect } from '../db/connect.js';
import { ConfigError, SchemaError } from '../errors.js';
import type { ConfigProblem } from '../errors.js';
import type { LoadProgress } from '../load/loadGenerator.js';
import { createLogger } from '../log.js';
import type { DatabaseConfig } from '../types.js';
import { describeDatabase } from '../types.js';
import { loadShape, positiveOption } from './loadOptions.js';

/** Events written when neither --events nor --duration is given. */
const DEFAULT_EVENTS = 10_000;
/** Events per insert_events call when --transaction-size is not given. */
const DEFAULT_TRANSACTION_SIZE = 10;
/** Milliseconds to wait for the source connection when it is given by --url. */
const URL_CONNECT_TIMEOUT_MS = 10_000;
/** Milliseconds between progress lines. */
const PROGRESS_INTERVAL_MS = 5_000;
/** PostgreSQL's port when a URL names none. */
const DEFAULT_PORT = 5432;

export interface LoadCommandOptions {
  configFilename?: string;
  url?: string;
  events?: string;
  duration?: string;
  rate?: string;
  transactionSize?: string;
  seed?: string;
}

/** What the command line resolves to, every value checked. */
export interface LoadSettings {
  source: { configFilename: string } | { db: DatabaseConfig };
  events: number | undefined;
  durationSeconds: number | undefined;
  rateEventsPerSecond: number | undefined;
  transactionSize: number;
  seed: number;
}

/**
 * A postgres:// or postgresql:// URL as a DatabaseConfig. Problems never quote the URL,
 * which may hold a password.
 */
export function databaseFromUrl(text: string, path: string, problems: ConfigProblem[]): DatabaseConfig | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    problems.push({ path, message: 'is not a URL; expected postgres://user:password@host:port/database' });
    return undefined;
  }
  const before = problems.length;
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    problems.push({ path, message: `scheme must be postgres: or postgresql:, got ${url.protocol}` });
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') problems.push({ path, message: 'names no host' });
  const databaseName = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (databaseName === '' || databaseName.includes('/')) {
    problems.push({ path, message: 'must name one database as its path: postgres://host/database' });
  }
  if (url.search !== '' || url.hash !== '') {
    problems.push({ path, message: 'query parameters and fragments are not supported' });
  }
  if (problems.length > before) return undefined;
  return {
    host,
    port: url.port === '' ? DEFAULT_PORT : Number(url.port),
    databaseName,
    user: url.username === '' ? undefined : decodeURIComponent(url.username),
    password: url.password === '' ? undefined : decodeURIComponent(url.password),
  };
}

/** Checks every option and reports all problems at once (ConfigError, exit code 2). */
export function loadSettings(options: LoadCommandOptions): LoadSettings {
  const problems: ConfigProblem[] = [];
  let source: LoadSettings['source'] | undefined;
  if (options.configFilename !== undefined && options.url !== undefined) {
    problems.push({ path: '--url', message: 'give either --config-filename or --url, not both' });
  } else if (options.url !== undefined) {
    const db = databaseFromUrl(options.url, '--url', problems);
    if (db !== undefined) source = { db };
  } else if (options.configFilename !== undefined) {
    source = { configFilename: options.configFilename };
  } else {
    problems.push({ path: '--url', message: 'required: name the source with --url <postgres-uri> or -c <file>' });
  }
  const events = positiveOption(options.events, '--events', 'integer', problems);
  const durationSeconds = positiveOption(options.duration, '--duration', 'number', problems);
  const { rateEventsPerSecond, transactionSize, seed } = loadShape(options, problems);
  if (problems.length > 0 || source === undefined) throw new ConfigError('the command line', problems);
  return {
    source,
    events: events ?? (durationSeconds === undefined ? DEFAULT_EVENTS : undefined),
    durationSeconds,
    rateEventsPerSecond,
    transactionSize: transactionSize ?? DEFAULT_TRANSACTION_SIZE,
    seed: seed ?? Math.floor(Math.random() * 0x1_0000_0000),
  };
}

async function resolveSource(source: LoadSettings['source']): Promise<{ db: DatabaseConfig; connectTimeoutMs: number }> {
  if ('db' in source) return { db: source.db, connectTimeoutMs: URL_CONNECT_TIMEOUT_MS };
  const config = await loadConfig(source.configFilename);
  return { db: config.eventSource, connectTimeoutMs: config.connectTimeout };
}

async function requireInsertEvents(client: pg.ClientBase, db: DatabaseConfig): Promise<void> {
  const result = await client.query<{ found: boolean }>("SELECT to_regprocedure('insert_events(text)') IS NOT NULL AS found");
  if (result.rows[0]?.found !== true) {
    throw new SchemaError(
      `${describeDatabase(db)} has no function insert_events(text), so it is not a slate source database. ` +
        'Point load at a source created by init-slate-db or by this project\'s sql/.',
    );
  }
}

function round(progress: LoadProgress): LoadProgress {
  return {
    eventsWritten: progress.eventsWritten,
    transactions: progress.transactions,
    seconds: Math.round(progress.seconds * 1000) / 1000,
    eventsPerSecond: Math.round(progress.eventsPerSecond * 10) / 10,
  };
}

export async function loadAction(options: LoadCommandOptions): Promise<void> {
  const settings = loadSettings(options);
  const { db, connectTimeoutMs } = await resolveSource(settings.source);
  const logger = createLogger();
  const controller = new AbortController();
  const stop = (signal: NodeJS.Signals): void => {
    logger.info({ signal }, 'stopping after the transaction in flight');
    controller.abort();
  };
  // `once`: a second signal finds no handler left and ends the process at once.
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let client: pg.Client | undefined;
  try {
    client = await connect(db, { connectTimeoutMs, applicationName: 'slate-replicator load' });
    await requireInsertEvents(client, db);
    // Our own session: make sure '...' literals keep backslashes (see insertEvents.ts).
    await client.query('SET standard_conforming_strings = on');
    logger.info(
      {
        db,
        events: settings.events,
        durationSeconds: settings.durationSeconds,
        rateEventsPerSecond: settings.rateEventsPerSecond,
        transactionSize: settings.transactionSize,
        seed: settings.seed,
      },
      'load starting',
    );
    // Loaded here, not at start-up: the generator's word lists stay out of the replicator.
    const { runLoad } = await import('../load/loadGenerator.js');
    const result = await runLoad({
      client,
      transactionSize: settings.transactionSize,
      seed: settings.seed,
      events: settings.events,
      durationMs: settings.durationSeconds === undefined ? undefined : settings.durationSeconds * 1000,
      rateEventsPerSecond: settings.rateEventsPerSecond,
      signal: controller.signal,
      progressIntervalMs: PROGRESS_INTERVAL_MS,
      onProgress: (progress) => logger.info(round(progress), 'load progress'),
    });
    logger.info({ ...round(result), stoppedBy: result.stoppedBy }, 'load finished');
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await closeQuietly(client);
  }
}

export function loadCommand(): Command {
  return new Command('load')
    .description(
      'Insert generated Person events into a source database through insert_events(text), ' +
        'the way an application does, to try the replicator under load.',
    )
    .option('-c, --config-filename <file>', "configuration file; its eventSource is the database written to")
    .option('--url <postgres-uri>', 'the source database as postgres://user:password@host:port/database (instead of -c)')
    .option('--events <n>', `events to write in all (default ${DEFAULT_EVENTS}, or no limit when --duration is given)`)
    .option('--duration <seconds>', 'stop starting transactions after this many seconds')
    .option('--rate <events/s>', 'average events per second (default: as fast as possible)')
    .option('--transaction-size <n>', `events per insert_events call, i.e. per source transaction (default ${DEFAULT_TRANSACTION_SIZE})`)
    .option('--seed <n>', 'seed of the event generator; the same seed writes the same events (default: random, logged)')
    .helpOption('-h, --help', 'print this help and exit')
    .showHelpAfterError('(run with --help for usage)')
    // Commands added with addCommand do not inherit the program's settings: without this,
    // commander would end the process itself, with its own exit code, on a usage error.
    .exitOverride()
    // The program's own -c (the legacy `slate-replicator -c config.js`) is recognised after
    // the subcommand name too, so -c may land on the program rather than here: read both.
    .action((_options: LoadCommandOptions, command: Command) => loadAction(command.optsWithGlobals<LoadCommandOptions>()));
}
