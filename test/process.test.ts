/**
 * The replicator as its users run it: a child process started from a config file, stopped
 * by signals, killed with SIGKILL, refusing to start when a database is not what it should be.
 */
import { describe, expect, test } from 'vitest';
import net from 'node:net';
import { createTestDatabase } from './helpers/databases.js';
import { copyPrefix, insertNumbered, insertTransactions, maxId, summarize, waitUntil, withClient } from './helpers/events.js';
import type { HasUrl } from './helpers/events.js';
import { logRecords, runCli, spawnCli, writeConfigFile } from './helpers/replicator.js';
import type { DatabaseConfig } from '../src/types.js';

function configFor(source: { config: DatabaseConfig }, destinations: Array<{ config: DatabaseConfig }>, extra: object = {}) {
  return writeConfigFile({
    eventSource: source.config,
    replicationDestinations: destinations.map((d) => d.config),
    connectTimeout: 3000,
    pollIntervalMs: 1000,
    ...extra,
  });
}

/** The destination ends where a source transaction ends, and holds ids 1..max without gaps. */
async function expectWholeTransactions(destination: HasUrl, perTransaction: number): Promise<number> {
  const summary = await summarize(destination);
  expect(summary.count).toBe(summary.maxId);
  expect(summary.maxId % perTransaction).toBe(0);
  return summary.maxId;
}

async function replicatorSessions(db: HasUrl): Promise<number> {
  return withClient(db, async (client) => {
    const result = await client.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM pg_stat_activity WHERE application_name LIKE 'slate-replicator%' AND datname = current_database()`,
    );
    return Number(result.rows[0]?.n ?? 0);
  });
}

describe('signals', () => {
  test('SIGKILL at any point of a large catch-up loses nothing: each restart resumes from the destination', async () => {
    const source = await createTestDatabase('source');
    const destination = await createTestDatabase('destination');
    const total = await insertTransactions(source, 2_000, 100);
    const config = configFor(source, [destination], { maxEventsPerWrite: 1_000 });

    for (const killAt of [20_000, 60_000, 120_000]) {
      const run = spawnCli(['-c', config]);
      await waitUntil(`destination passes id ${killAt}`, async () => (await maxId(destination)) >= killAt, 60_000);
      run.child.kill('SIGKILL');
      expect(await run.exited).toBe('SIGKILL');
      const position = await expectWholeTransactions(destination, 100);
      expect(position).toBeLessThan(total);
    }
    const run = spawnCli(['-c', config]);
    await waitUntil('destination catches up', async () => (await maxId(destination)) >= total, 60_000);
    expect(await summarize(destination)).toEqual(await summarize(source));
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
  });

  test('SIGTERM in the middle of a catch-up: exit 0, no partial batch, every connection closed', async () => {
    const source = await createTestDatabase('source');
    const destination = await createTestDatabase('destination');
    const total = await insertTransactions(source, 2_000, 100);
    const run = spawnCli(['-c', configFor(source, [destination], { maxEventsPerWrite: 1_000 })]);
    await waitUntil('catch-up under way', async () => (await maxId(destination)) >= 10_000, 60_000);
    const signalledAt = Date.now();
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    expect(Date.now() - signalledAt).toBeLessThan(5_000);
    const position = await expectWholeTransactions(destination, 100);
    expect(position).toBeLessThan(total);
    expect(await replicatorSessions(destination)).toBe(0);
    expect(await replicatorSessions(source)).toBe(0);
    expect(logRecords(run.stdout()).some((r) => r.msg === 'replicator stopped')).toBe(true);
  });

  test('SIGINT while idle: exit 0', async () => {
    const source = await createTestDatabase('source');
    const destination = await createTestDatabase('destination');
    await insertNumbered(source, 3);
    const run = spawnCli(['-c', configFor(source, [destination])]);
    await waitUntil('first catch-up done', async () => (await maxId(destination)) >= 3);
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(0);
  });
});

describe('start-up checks refuse, write nothing, and exit with the documented code', () => {
  test('first event differs: exit 6', async () => {
    const source = await createTestDatabase('source');
    const destination = await createTestDatabase('destination');
    await insertNumbered(source, 5);
    await withClient(destination, (client) => client.query(`INSERT INTO events VALUES (1, now(), '{"other":true}')`));
    const result = await runCli(['-c', configFor(source, [destination])]);
    expect(result.code).toBe(6);
    expect(result.stderr).toMatch(/does not start with the source's first event/);
    expect((await summarize(destination)).count).toBe(1);
  });

  test('destination ahead of the source: exit 6', async () => {
    const source = await createTestDatabase('source');
    const destination = await createTestDatabase('destination');
    await insertNumbered(source, 5);
    await copyPrefix(source, destination, 5);
    await withClient(destination, (client) => client.query(`INSERT INTO events SELECT 6, now(), '{}'::jsonb`));
    const before = await summarize(destination);
    const result = await runCli(['-c', configFor(source, [destination])]);
    expect(result.code).toBe(6);
    expect(result.stderr).toMatch(/ahead of the source: it has 6 rows up to id 6, the source's max id is 5/);
    expect(await summarize(destination)).toEqual(before);
  });

  test('destination is really a source: exit 5', async () => {
    const source = await createTestDatabase('source');
    const other = await createTestDatabase('source');
    const destination = await createTestDatabase('destination');
    await insertNumbered(source, 5);
    const result = await runCli(['-c', configFor(source, [destination, other])]);
    expect(result.code).toBe(5);
    expect(result.stderr).toMatch(/replicationDestinations\[1\].*looks like a source database/);
    expect((await summarize(other)).count).toBe(0);
    expect((await summarize(destination)).count).toBe(0);
  });

  test('destination without an events table: exit 5', async () => {
    const source = await createTestDatabase('source');
    const destination = await createTestDatabase('empty');
    await insertNumbered(source, 5);
    const result = await runCli(['-c', configFor(source, [destination])]);
    expect(result.code).toBe(5);
    expect(result.stderr).toMatch(/has no events table/);
  });

  test('destination whose events table has no primary key on id: exit 5, nothing written', async () => {
    const source = await createTestDatabase('source');
    const destination = await createTestDatabase('destination');
    await insertNumbered(source, 5);
    await withClient(destination, (client) => client.query('ALTER TABLE events DROP CONSTRAINT events_pkey'));
    const result = await runCli(['-c', configFor(source, [destination])]);
    expect(result.code).toBe(5);
    expect(result.stderr).toMatch(/has an events table of another shape: id has no primary key \(or unique index\)/);
    expect((await summarize(destination)).count).toBe(0);
  });

  test('source without the source objects: exit 5', async () => {
    const source = await createTestDatabase('destination');
    const destination = await createTestDatabase('destination');
    const result = await runCli(['-c', configFor(source, [destination])]);
    expect(result.code).toBe(5);
    expect(result.stderr).toMatch(/not a slate source database.*table id, function insert_events/);
  });

  test('nothing listening on the port: exit 3', async () => {
    const source = await createTestDatabase('source');
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const result = await runCli(['-c', configFor(source, [{ config: { host: '127.0.0.1', port, databaseName: 'nowhere' } }])]);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(new RegExp(`cannot connect to 127.0.0.1:${port}/nowhere`));
  });

  test('a server that accepts the connection and never answers: exit 3 within connectTimeout', async () => {
    const source = await createTestDatabase('source');
    const sockets: net.Socket[] = [];
    const silent = net.createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const startedAt = Date.now();
      const result = await runCli([
        '-c',
        configFor(source, [{ config: { host: '127.0.0.1', port, databaseName: 'silent' } }], { connectTimeout: 1500 }),
      ]);
      const elapsedMs = Date.now() - startedAt;
      expect(result.code).toBe(3);
      expect(elapsedMs).toBeGreaterThanOrEqual(1500);
      expect(elapsedMs).toBeLessThan(10_000);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  test('two entries naming the same database under different host names: exit 2', async () => {
    const source = await createTestDatabase('source');
    const destination = await createTestDatabase('destination');
    const alias = { config: { ...destination.config, host: destination.config.host === 'localhost' ? '127.0.0.1' : 'localhost' } };
    const result = await runCli(['-c', configFor(source, [destination, alias])]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/replicationDestinations\[1\].*same database as replicationDestinations\[0\]/);
  });
});
