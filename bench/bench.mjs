/**
 * `npm run bench`: the replicator measured side by side with the limits it is held to, in
 * one run on one machine: a binary COPY pipe (1 and 2 side by side), PostgreSQL's logical
 * replication (initial sync, lag), and the replicator CLI (catch-up into 1 and 2
 * destinations, lag, peak memory); and, to show what bounds the replicator's lag, how long
 * a notification alone takes to reach a listening client and the lag of a bare client that
 * copies the rows on each notification. See README "Performance".
 *
 * A measurement, not a test: it exits non-zero when a destination's rows differ from its
 * source's (or a measurement could not run), never because a figure is slow.
 */
import { execFileSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { runLoad } from '../dist/load/loadGenerator.js';
import { openServer } from './lib/server.mjs';
import { LAG_TRIGGER_SQL } from './lib/lag.mjs';
import { eventsHash } from './lib/destinations.mjs';
import { measureCopyPipes, measureLag, measureLogicalSync, measureReplicatorCatchUp, sourceMaxId } from './lib/measurements.mjs';
import { measureNotifyArrival } from './lib/notifyFloor.mjs';
import { formatTables, summarize } from './lib/report.mjs';
import { snapshotBuild } from './lib/replicatorProcess.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const USAGE = `usage: npm run bench -- [options]

  --events <n>        events loaded into the source (default 1000000)
  --reps <n>          runs of every measurement; figures are medians (default 3)
  --lag-seconds <s>   how long each lag load runs (default 20)
  --skip-lag          measure catch-up and memory only
  --only <list>       only these measurements, comma-separated: pipe1, replicator1, logical-sync,
                      pipe2, replicator2, lag (e.g. --only replicator1 for memory with a big backlog)
  --quick             smoke run: 100000 events, 1 run, 10 s lag loads
  --seed <n>          seed of the event generator (default 1)
  --cpu-prof          run the replicator's catch-ups under node --cpu-prof (profiles in bench/results/profiles)
  --out <file>        JSON results (default bench/results/latest.json)

Runs on an embedded PostgreSQL, or on BENCH_DATABASE_URL (a superuser on a maintenance database).`;

/** Events per source transaction while loading the source. */
const LOAD_TRANSACTION_SIZE = 100;
/** insert_events serialises writers on the id lock, but event generation and parsing overlap. */
const LOADERS = 3;
const MEASUREMENTS = ['pipe1', 'replicator1', 'logical-sync', 'pipe2', 'replicator2', 'lag'];
const LAG_LOADS = [
  { key: '1k', rate: 1000, transactionSize: 10 },
  { key: '10k', rate: 10_000, transactionSize: 100 },
];

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      events: { type: 'string' },
      reps: { type: 'string' },
      'lag-seconds': { type: 'string' },
      'skip-lag': { type: 'boolean', default: false },
      only: { type: 'string' },
      quick: { type: 'boolean', default: false },
      seed: { type: 'string' },
      'cpu-prof': { type: 'boolean', default: false },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  const problems = [];
  const positive = (name, text, fallback, { integer = true } = {}) => {
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!(n > 0) || (integer && !Number.isSafeInteger(n))) problems.push(`--${name} must be a positive ${integer ? 'integer' : 'number'}, got ${text}`);
    return n;
  };
  const options = {
    help: values.help,
    events: positive('events', values.events, values.quick ? 100_000 : 1_000_000),
    reps: positive('reps', values.reps, values.quick ? 1 : 3),
    lagSeconds: positive('lag-seconds', values['lag-seconds'], values.quick ? 10 : 20, { integer: false }),
    skipLag: values['skip-lag'],
    seed: values.seed === undefined ? 1 : Number(values.seed),
    cpuProf: values['cpu-prof'],
    out: resolve(values.out ?? join(HERE, 'results', 'latest.json')),
  };
  if (values.only !== undefined) {
    options.only = new Set(values.only.split(',').map((name) => name.trim()));
    for (const name of options.only) if (!MEASUREMENTS.includes(name)) problems.push(`--only: unknown measurement ${name} (known: ${MEASUREMENTS.join(', ')})`);
  }
  if (!Number.isSafeInteger(options.seed) || options.seed < 0) problems.push(`--seed must be an integer >= 0, got ${values.seed}`);
  if (options.events < LOADERS) problems.push(`--events must be at least ${LOADERS}`);
  return { options, problems };
}

/** The checked-out commit, and whether src/ or sql/ differ from it. */
function gitRevision() {
  try {
    const git = (...args) => execFileSync('git', args, { cwd: HERE, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const commit = git('rev-parse', '--short', 'HEAD');
    return git('status', '--porcelain', '--', '../src', '../sql') === '' ? commit : `${commit} (src/ or sql/ modified)`;
  } catch {
    return undefined;
  }
}

function say(text) {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${text}\n`);
}

/** Loads `events` events into `sourceName` with the project's load generator, as fast as it goes. */
async function loadSource(server, sourceName, events, seed) {
  const clients = await Promise.all(Array.from({ length: LOADERS }, () => server.connect(sourceName)));
  const startedAt = performance.now();
  try {
    const share = Math.floor(events / LOADERS);
    await Promise.all(
      clients.map((client, i) =>
        runLoad({ client, transactionSize: LOAD_TRANSACTION_SIZE, seed: seed + i, events: i === 0 ? events - share * (LOADERS - 1) : share }),
      ),
    );
    const seconds = (performance.now() - startedAt) / 1000;
    // Hint bits and statistics set once, so no measurement pays for them.
    await clients[0].query('VACUUM (ANALYZE) events');
    const size = await clients[0].query(
      `SELECT avg(octet_length(event::text))::float8 AS event_bytes,
              pg_total_relation_size('events')::float8 AS total_bytes FROM events`,
    );
    return { seconds, eventsPerSecond: events / seconds, meanEventBytes: size.rows[0].event_bytes, tableBytes: size.rows[0].total_bytes };
  } finally {
    await Promise.all(clients.map((client) => client.end()));
  }
}

async function main() {
  let parsed;
  try {
    parsed = parseOptions(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${error.message}\n\n${USAGE}\n`);
    return 2;
  }
  const { options, problems: optionProblems } = parsed;
  if (options.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (optionProblems.length > 0) {
    process.stderr.write(`${optionProblems.join('\n')}\n\n${USAGE}\n`);
    return 2;
  }

  const runStartedAt = performance.now();
  const url = process.env.BENCH_DATABASE_URL || undefined;
  say(url === undefined ? 'starting an embedded PostgreSQL' : 'using BENCH_DATABASE_URL');
  const server = await openServer({ url, events: options.events });
  const workDir = await mkdtemp(join(tmpdir(), 'slate-bench-'));
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    say('interrupted: cleaning up (again to quit at once)');
    void server.close().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    const settings = await server.settings();
    const logicalAvailable = settings.wal_level === 'logical';
    if (!logicalAvailable) say(`wal_level is ${settings.wal_level}: logical replication is not measured`);
    say(`${settings.version}; fsync=${settings.fsync}, synchronous_commit=${settings.synchronous_commit}, wal_level=${settings.wal_level}`);

    // Every replicator of the run runs this build, even if dist/ is rebuilt meanwhile.
    const cliPath = await snapshotBuild(join(workDir, 'build'));
    const revision = gitRevision();

    const sourceTemplate = await server.createDatabase('source_template', 'source');
    const destinationTemplate = await server.createDatabase('destination_template', 'destination');
    const lagDestinationTemplate = await server.createDatabase('lag_destination_template', 'destination');
    const lagClient = await server.connect(lagDestinationTemplate);
    await lagClient.query(LAG_TRIGGER_SQL);
    await lagClient.end();

    const sourceName = await server.cloneDatabase(sourceTemplate, 'source');
    say(`loading ${options.events.toLocaleString('en-US')} events into the source`);
    const load = await loadSource(server, sourceName, options.events, options.seed);
    const maxId = await sourceMaxId(server, sourceName);
    const problems = [];
    if (maxId !== options.events) problems.push(`the source holds ${maxId} events, expected ${options.events}`);
    const sourceHash = await eventsHash(server, sourceName);
    say(
      `loaded in ${load.seconds.toFixed(1)} s (${Math.round(load.eventsPerSecond)} events/s), mean event ${Math.round(load.meanEventBytes)} bytes, ` +
        `table with indexes ${(load.tableBytes / 1e6).toFixed(0)} MB`,
    );

    let cpuProfileDir;
    if (options.cpuProf) {
      cpuProfileDir = join(HERE, 'results', 'profiles');
      await mkdir(cpuProfileDir, { recursive: true });
    }
    const ctx = {
      server,
      sourceName,
      sourceMaxId: maxId,
      sourceHash,
      sourceTemplate,
      destinationTemplate,
      lagDestinationTemplate,
      workDir,
      cliPath,
      seed: options.seed,
      lagSeconds: options.lagSeconds,
      cpuProfileDir,
      problems,
    };
    const records = {};
    const record = async (key, rep, what, measure) => {
      if (interrupted) throw new Error('interrupted');
      say(`${what}...`);
      try {
        const result = { rep, ...(await measure()) };
        (records[key] ??= []).push(result);
        say(`${what}: ${JSON.stringify(result, (_, v) => (typeof v === 'number' ? Number(v.toPrecision(5)) : v))}`);
      } catch (error) {
        problems.push(`${what}: ${error.message}`);
        say(`${what} failed: ${error.stack ?? error.message}`);
      }
    };

    for (let rep = 1; rep <= options.reps; rep += 1) {
      const run = `run ${rep}/${options.reps}`;
      // Odd runs measure each reference first, even runs the replicator first, so neither
      // always comes first (or last) in a row of measurements.
      const inTurn = (pair) => (rep % 2 === 1 ? pair : [...pair].reverse());
      const wanted = (name) => options.only === undefined || options.only.has(name);
      const step = (name, key, what, measure) => (wanted(name) ? [() => record(key, rep, `${run}: ${what}`, measure)] : []);
      const steps = [
        ...inTurn([
          ...step('pipe1', 'copyPipe1', 'COPY pipe, 1 destination', () => measureCopyPipes(ctx, 1)),
          ...step('replicator1', 'replicator1', 'replicator catch-up, 1 destination', () => measureReplicatorCatchUp(ctx, 1, rep)),
        ]),
        ...(logicalAvailable ? step('logical-sync', 'logicalSync', 'logical replication initial sync', () => measureLogicalSync(ctx)) : []),
        ...inTurn([
          ...step('pipe2', 'copyPipe2', 'COPY pipes, 2 destinations', () => measureCopyPipes(ctx, 2)),
          ...step('replicator2', 'replicator2', 'replicator catch-up, 2 destinations', () => measureReplicatorCatchUp(ctx, 2, rep)),
        ]),
      ];
      if (!options.skipLag) {
        for (const { key, rate, transactionSize } of LAG_LOADS) {
          const load = `${rate} events/s in transactions of ${transactionSize}`;
          const logical = logicalAvailable
            ? step('lag', `lag_logical_${key}`, `logical replication lag, ${load}`, () => measureLag(ctx, 'logical', rate, transactionSize, rep))
            : [];
          const replicator = step('lag', `lag_replicator_${key}`, `replicator lag, ${load}`, () => measureLag(ctx, 'replicator', rate, transactionSize, rep));
          // Not targets: what bounds the replicator's lag (see bench/lib/notifyFloor.mjs).
          const floors = [
            ...step('lag', `lag_notify_${key}`, `pg_notify arrival alone, ${load}`, () => measureNotifyArrival(ctx, rate, transactionSize, rep)),
            ...step('lag', `lag_pipe_${key}`, `bare notify-and-copy client lag, ${load}`, () => measureLag(ctx, 'pipe', rate, transactionSize, rep)),
          ];
          steps.push(...inTurn([...logical, ...replicator]), ...floors);
        }
      }
      for (const step of steps) await step();
    }

    const summary = summarize(records);
    const tables = formatTables(summary, { events: options.events, reps: options.reps });
    const environment = {
      revision,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      memoryGB: Number((totalmem() / 1024 ** 3).toFixed(1)),
      node: process.version,
      server: url === undefined ? `embedded (${server.dataDir})` : 'BENCH_DATABASE_URL',
      postgres: settings,
    };
    const results = {
      finishedAt: new Date().toISOString(),
      wallSeconds: (performance.now() - runStartedAt) / 1000,
      options: { ...options, only: options.only === undefined ? undefined : [...options.only], out: undefined, help: undefined },
      environment,
      load,
      summary,
      runs: records,
      problems,
    };
    await mkdir(dirname(options.out), { recursive: true });
    await writeFile(options.out, `${JSON.stringify(results, null, 2)}\n`);

    process.stdout.write(`\n${tables}\n\n`);
    process.stdout.write(
      `${environment.cpus} cores (${environment.cpuModel}), ${environment.memoryGB} GB, Node ${environment.node}; ` +
        `PostgreSQL ${settings.server_version}, fsync=${settings.fsync}, synchronous_commit=${settings.synchronous_commit}, ` +
        `full_page_writes=${settings.full_page_writes}, shared_buffers=${settings.shared_buffers}; ` +
        `mean event ${Math.round(load.meanEventBytes)} bytes; wall time ${Math.round(results.wallSeconds)} s.\n`,
    );
    process.stdout.write(`Results: ${options.out}\n`);
    if (problems.length > 0) {
      process.stdout.write(`\nPROBLEMS (${problems.length}):\n${problems.map((p) => `- ${p}`).join('\n')}\n`);
      return 1;
    }
    process.stdout.write('Every destination equals its source; no row missing or duplicated.\n');
    return 0;
  } finally {
    await server.close();
    await rm(workDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`bench: ${error.stack ?? error.message}\n`);
    process.exitCode = 1;
  },
);
