/**
 * `node bench/profile.mjs [--events 300000]`: where the replicator's time and memory go,
 * for whoever tunes it. Not part of `npm run bench`: the relay and the profiler slow
 * things down, so its absolute figures are not the bench's.
 *
 * On an embedded PostgreSQL with the bench settings plus pg_stat_statements, it runs:
 *   1. a COPY pipe, directly and through the wire tap (bench/lib/wireTap.mjs);
 *   2. the replicator's catch-up into one destination directly, then through the wire tap
 *      under `node --cpu-prof`: its batch cycle (COPY in and out, the next plan query,
 *      COMMIT with the next BEGIN and position, and the time no statement is in flight),
 *      statements per batch, server time per statement (pg_stat_statements), and the CPU
 *      profile by package and function;
 *   3. memory: the replicator idle (nothing to copy), and a catch-up with V8's young
 *      generation capped (--max-semi-space-size=1), against the default catch-up's peak;
 *   4. the replicator streaming at 1,000 events/s in transactions of 10 and at 10,000 in
 *      transactions of 100, through the wire tap: for each in-sync write, the time from the
 *      notification to its sending, its COPY next to the source's, and its commit; for
 *      planned batches (when the loop fell behind), the time from the notification to the
 *      plan query and from there to COMMIT; and the statements per transaction.
 * Prints the summary and writes it to bench/results/profile.json; CPU profiles are kept in
 * bench/results/profiles/.
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { runLoad } from '../dist/load/loadGenerator.js';
import { openServer } from './lib/server.mjs';
import { runBatchedCopyPipe, runCopyPipes } from './lib/copyPipe.mjs';
import { waitUntilCaughtUp } from './lib/destinations.mjs';
import { replicatorConfig, startReplicator } from './lib/replicatorProcess.mjs';
import { startWireTap } from './lib/wireTap.mjs';
import { batchCycles, classify, inSyncWrites, statementCounts } from './lib/batchCycles.mjs';
import { summarizeCpuProfile } from './lib/cpuProfile.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const READER = 'slate-replicator reader';
const WRITER = 'slate-replicator writer';
const LISTENER = 'slate-replicator listener';
const LOADER = 'slate-bench loader';
const IDLE_SAMPLE_MS = 3000;

function say(text) {
  process.stderr.write(`[profile ${new Date().toISOString().slice(11, 19)}] ${text}\n`);
}

const round = (v, d = 1) => (v === undefined ? undefined : Number(v.toFixed(d)));

async function main() {
  const { values } = parseArgs({
    options: { events: { type: 'string', default: '300000' }, out: { type: 'string' }, 'lag-seconds': { type: 'string', default: '10' } },
  });
  const events = Number(values.events);
  const lagSeconds = Number(values['lag-seconds']);
  const out = resolve(values.out ?? join(HERE, 'results', 'profile.json'));
  const profileDir = join(HERE, 'results', 'profiles');
  await mkdir(profileDir, { recursive: true });
  const workDir = await mkdtemp(join(tmpdir(), 'slate-profile-'));
  say('starting an embedded PostgreSQL with pg_stat_statements');
  const server = await openServer({ events, settings: { shared_preload_libraries: 'pg_stat_statements' } });
  const tap = await startWireTap({ host: '127.0.0.1', port: server.databaseConfig('x').port });
  // The same server reached through the tap.
  const tapped = {
    ...server,
    databaseConfig: (name) => ({ ...server.databaseConfig(name), port: tap.port }),
    async connect(name, applicationName = 'slate-bench') {
      const c = server.databaseConfig(name);
      const client = new pg.Client({ host: c.host, port: tap.port, user: c.user, password: c.password, database: name, application_name: applicationName });
      client.on('error', () => {});
      await client.connect();
      return client;
    },
  };
  const topStatements = async (limit = 10) =>
    (
      await server.query(
        `SELECT calls::int, round(total_exec_time::numeric, 1)::float8 AS total_ms, round(mean_exec_time::numeric, 3)::float8 AS mean_ms,
                rows::bigint::text AS rows, left(regexp_replace(query, '\\s+', ' ', 'g'), 100) AS query
         FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT $1`,
        [limit],
      )
    ).rows;
  const report = { events };
  try {
    await server.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    const sourceTemplate = await server.createDatabase('source_template', 'source');
    const destinationTemplate = await server.createDatabase('destination_template', 'destination');
    const sourceName = await server.cloneDatabase(sourceTemplate, 'source');
    say(`loading ${events} events`);
    const loaders = await Promise.all([1, 2, 3].map(() => server.connect(sourceName)));
    const share = Math.floor(events / 3);
    await Promise.all(loaders.map((client, i) => runLoad({ client, transactionSize: 100, seed: 1 + i, events: i === 0 ? events - 2 * share : share })));
    await loaders[0].query('VACUUM (ANALYZE) events');
    report.pipeSourcePlan = (await loaders[0].query('EXPLAIN SELECT id, ts, event FROM events ORDER BY id')).rows.map((r) => r['QUERY PLAN']);
    await Promise.all(loaders.map((client) => client.end()));

    const fresh = async () => {
      const name = await server.cloneDatabase(destinationTemplate, 'dest');
      await server.query('CHECKPOINT');
      return name;
    };

    say('COPY pipe, directly');
    let destination = await fresh();
    const cpuBefore = process.cpuUsage();
    const pipeDirect = await runCopyPipes(server, sourceName, [destination]);
    const pipeCpu = process.cpuUsage(cpuBefore);
    await server.dropDatabase(destination);
    say('COPY pipe, through the wire tap');
    destination = await fresh();
    await server.query('SELECT pg_stat_statements_reset()');
    let mark = tap.statements().length;
    const pipeTapped = await runCopyPipes(tapped, sourceName, [destination]);
    const pipeCopyIn = tap.statements().slice(mark).find((s) => classify(s.text) === 'COPY in');
    report.copyPipe = {
      directEventsPerSecond: round(events / pipeDirect.seconds, 0),
      directCpuSeconds: round((pipeCpu.user + pipeCpu.system) / 1e6, 2),
      tappedEventsPerSecond: round(events / pipeTapped.seconds, 0),
      tappedCopyInMs: round(pipeCopyIn.doneMs - pipeCopyIn.sentMs),
      tappedCopyInFirstByteMs: round(pipeCopyIn.copyStartedMs - pipeCopyIn.sentMs, 2),
      tappedCopyInMessages: pipeCopyIn.copyMessages,
      statements: await topStatements(3),
    };
    report.copyPipe.copyInServerMsPer10k = round((report.copyPipe.statements.find((row) => row.query.startsWith('COPY events')).total_ms / events) * 10_000, 1);
    await server.dropDatabase(destination);

    report.batchedCopyPipe = [];
    for (const batchSize of [10_000, 100_000]) {
      for (const transaction of [false, true]) {
        say(`COPY pipe in batches of ${batchSize}${transaction ? ', each in BEGIN ... COMMIT' : ''}, directly`);
        destination = await fresh();
        await server.query('SELECT pg_stat_statements_reset()');
        const batched = await runBatchedCopyPipe(server, sourceName, destination, { batchSize, lastId: events, transaction });
        const copyIn = (await topStatements(20)).find((row) => row.query.startsWith('COPY events'));
        report.batchedCopyPipe.push({
          batchSize,
          transaction,
          eventsPerSecond: round(events / batched.seconds, 0),
          copyInServerMsPer10k: round((copyIn.total_ms / events) * 10_000, 1),
        });
        await server.dropDatabase(destination);
      }
    }

    say('replicator catch-up, directly');
    destination = await fresh();
    let replicator = await startReplicator(replicatorConfig(server, sourceName, [destination]), { configPath: join(workDir, 'direct.json') });
    let caughtUp = await waitUntilCaughtUp(server, [destination], events, { startedAt: replicator.spawnedAt, timeoutMs: 30 * 60_000 });
    let stopped = await replicator.stop();
    report.catchUpDirect = {
      seconds: round(caughtUp.seconds, 2),
      startupMs: round(replicator.startupMs, 0),
      eventsPerSecond: round(events / caughtUp.seconds, 0),
      eventsPerSecondAfterStartup: round(events / (caughtUp.seconds - replicator.startupMs / 1000), 0),
      peakRssMB: round(stopped.peakHwmBytes / 1e6),
      cpuSeconds: round(stopped.cpuSeconds, 2),
    };

    say('replicator idle (destination in sync): memory');
    replicator = await startReplicator(replicatorConfig(server, sourceName, [destination]), { configPath: join(workDir, 'idle.json') });
    await sleep(IDLE_SAMPLE_MS);
    stopped = await replicator.stop();
    report.memory = { idlePeakRssMB: round(stopped.peakHwmBytes / 1e6), catchUpPeakRssMB: report.catchUpDirect.peakRssMB };
    await server.dropDatabase(destination);

    say('replicator catch-up with --max-semi-space-size=1: memory');
    destination = await fresh();
    replicator = await startReplicator(replicatorConfig(server, sourceName, [destination]), {
      configPath: join(workDir, 'semi.json'),
      nodeArgs: ['--max-semi-space-size=1'],
    });
    caughtUp = await waitUntilCaughtUp(server, [destination], events, { startedAt: replicator.spawnedAt, timeoutMs: 30 * 60_000 });
    stopped = await replicator.stop();
    report.memory.smallYoungGenerationPeakRssMB = round(stopped.peakHwmBytes / 1e6);
    report.memory.smallYoungGenerationEventsPerSecond = round(events / caughtUp.seconds, 0);
    await server.dropDatabase(destination);

    say('replicator catch-up through the wire tap under --cpu-prof');
    destination = await fresh();
    await server.query('SELECT pg_stat_statements_reset()');
    const before = new Set(await readdir(profileDir));
    mark = tap.statements().length;
    replicator = await startReplicator(replicatorConfig(tapped, sourceName, [destination]), {
      configPath: join(workDir, 'tapped.json'),
      nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`],
    });
    caughtUp = await waitUntilCaughtUp(server, [destination], events, { startedAt: replicator.spawnedAt, timeoutMs: 30 * 60_000 });
    stopped = await replicator.stop();
    const seen = tap.statements().slice(mark);
    const profileFile = (await readdir(profileDir)).find((name) => !before.has(name) && name.endsWith('.cpuprofile'));
    report.catchUpTapped = {
      eventsPerSecond: round(events / caughtUp.seconds, 0),
      batchCycle: batchCycles(seen, { reader: READER, writer: WRITER }),
      statementCounts: statementCounts(seen, [READER, WRITER, LISTENER, 'slate-replicator check']),
      serverTime: await topStatements(),
      cpuProfile: profileFile === undefined ? undefined : { file: join(profileDir, profileFile), ...(await summarizeCpuProfile(join(profileDir, profileFile))) },
    };
    await server.dropDatabase(destination);

    report.streaming = {};
    for (const { rate, transactionSize } of [
      { rate: 1000, transactionSize: 10 },
      { rate: 10_000, transactionSize: 100 },
    ]) {
      say(`replicator streaming ${rate} events/s in transactions of ${transactionSize} for ${lagSeconds} s, through the wire tap`);
      const lagSource = await server.cloneDatabase(sourceTemplate, 'lag_source');
      const lagDestination = await server.cloneDatabase(destinationTemplate, 'lag_dest');
      const streaming = await startReplicator(replicatorConfig(tapped, lagSource, [lagDestination]), { configPath: join(workDir, `lag-${rate}.json`) });
      mark = tap.statements().length;
      const notificationMark = tap.notifications().length;
      await server.query('SELECT pg_stat_statements_reset()');
      const client = await tapped.connect(lagSource, LOADER);
      const loaded = await runLoad({ client, transactionSize, seed: 7, rateEventsPerSecond: rate, durationMs: lagSeconds * 1000 });
      await client.end();
      await waitUntilCaughtUp(server, [lagDestination], loaded.eventsWritten, { startedAt: performance.now(), timeoutMs: 120_000 });
      await streaming.stop();
      const seen = tap.statements().slice(mark);
      const notifications = tap.notifications().slice(notificationMark).filter((n) => n.application === LISTENER);
      const inserts = seen.filter((s) => s.application === LOADER && classify(s.text) === 'insert_events');
      // From a source commit's acknowledgement to the listener receiving its notification.
      const notifyDelays = inserts
        .map((s) => notifications.find((n) => n.atMs >= s.doneMs - 5)?.atMs - s.doneMs)
        .filter((v) => v !== undefined && Number.isFinite(v));
      const commits = seen.filter((s) => s.application === WRITER && ['COMMIT', 'COMMIT+BEGIN+position'].includes(classify(s.text))).length;
      const plans = seen.filter((s) => s.application === READER && classify(s.text) === 'plan').length;
      const inSync = inSyncWrites(seen, { reader: READER, writer: WRITER, notifications });
      report.streaming[`${rate}`] = {
        sourceTransactions: loaded.transactions,
        achievedRate: round(loaded.eventsPerSecond, 0),
        notifications: notifications.length,
        destinationTransactions: commits,
        planQueries: plans,
        // Every commit that did not end an in-sync write ended a planned batch.
        planQueriesFindingNothing: plans - (commits - inSync.committed),
        statementsPerDestinationTransaction: round(
          seen.filter((s) => s.application === READER || s.application === WRITER).length / Math.max(commits, 1),
          2,
        ),
        insertEventsMs: round(inserts.reduce((a, s) => a + s.doneMs - s.sentMs, 0) / Math.max(inserts.length, 1), 2),
        commitToNotificationMs: round(notifyDelays.reduce((a, b) => a + b, 0) / Math.max(notifyDelays.length, 1), 2),
        inSyncWrites: inSync,
        batchCycle: batchCycles(seen, { reader: READER, writer: WRITER, notifications }),
        statementCounts: statementCounts(seen, [READER, WRITER]),
        serverTime: await topStatements(8),
      };
      await server.dropDatabase(lagDestination);
      await server.dropDatabase(lagSource);
    }
  } finally {
    await tap.close();
    await server.close();
    await rm(workDir, { recursive: true, force: true });
  }
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

main().catch((error) => {
  process.stderr.write(`profile: ${error.stack ?? error.message}\n`);
  process.exitCode = 1;
});
