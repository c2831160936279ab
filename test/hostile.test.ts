/**
 * Hostile inputs: a wrong password, a host that does not exist, a destination tampered with
 * in the middle, foreign payloads on the channel, and faults whose messages could leak a
 * password. Each ends with a clear message and the documented exit code, writes nothing it
 * should not, and never shows a password.
 */
import { describe, expect, test } from 'vitest';
import { startCluster } from './helpers/cluster.js';
import type { Cluster } from './helpers/cluster.js';
import { createTestDatabase } from './helpers/databases.js';
import type { TestDatabase } from './helpers/databases.js';
import { copyPrefix, insertNumbered, insertTransactions, maxId, summarize, waitForMaxId, waitUntil, withClient } from './helpers/events.js';
import { logRecords, replicatorConfig, runCli, spawnCli, startTestReplicator, writeConfigFile } from './helpers/replicator.js';
import type { DatabaseConfig } from '../src/types.js';

const WRONG_PASSWORD = 'Wr0ng-pa55word-that-must-never-show';
/** A name under the reserved .invalid top-level domain (RFC 2606): it never resolves. */
const UNKNOWN_HOST = 'db.example.invalid';

function configFile(source: { config: DatabaseConfig }, destinations: Array<{ config: DatabaseConfig }>): string {
  return writeConfigFile({
    eventSource: source.config,
    replicationDestinations: destinations.map((d) => d.config),
    connectTimeout: 3000,
    pollIntervalMs: 500,
  });
}

function url(db: DatabaseConfig): string {
  const login = db.user === undefined ? '' : `${encodeURIComponent(db.user)}${db.password === undefined ? '' : `:${encodeURIComponent(db.password)}`}@`;
  return `postgres://${login}${db.host}:${db.port}/${db.databaseName}`;
}

/** Every password of these databases, and the wrong one: none may appear in `output`. */
function expectNoPassword(output: string, ...databases: Array<{ config: DatabaseConfig }>): void {
  const secrets = [WRONG_PASSWORD, ...databases.map((db) => db.config.password).filter((p): p is string => p !== undefined && p !== '')];
  for (const secret of secrets) {
    expect(output.includes(secret), 'a password appears in the output').toBe(false);
    expect(output.includes(encodeURIComponent(secret)), 'an encoded password appears in the output').toBe(false);
  }
}

/** A source and a destination on a cluster of their own, which has password authentication. */
async function clusterPair(): Promise<{ cluster: Cluster; source: TestDatabase; destination: TestDatabase }> {
  const cluster = await startCluster();
  const source = await cluster.createDatabase('source');
  const destination = await cluster.createDatabase('destination');
  return { cluster, source, destination };
}

describe('a wrong password', () => {
  test('the replicator: exit 4, names the database, writes nothing, never shows a password', async () => {
    const { source, destination } = await clusterPair();
    await insertNumbered(source, 10);
    const wrong = { config: { ...destination.config, password: WRONG_PASSWORD } };
    const result = await runCli(['-c', configFile(source, [wrong])]);
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(new RegExp(`login to 127\\.0\\.0\\.1:${destination.config.port}/${destination.name} as postgres was refused`));
    expect(result.stderr).toMatch(/Check user and password/);
    expectNoPassword(result.stdout + result.stderr, source, destination);
    expect((await summarize(destination)).count).toBe(0);
  });

  test('verify and restore: exit 4, no password shown', async () => {
    const { source, destination } = await clusterPair();
    await insertNumbered(source, 10);
    await copyPrefix(source, destination, 10);
    const wrongSource = { config: { ...source.config, password: WRONG_PASSWORD } };
    const verified = await runCli(['verify', '-c', configFile(wrongSource, [destination])]);
    expect(verified.code).toBe(4);
    expect(verified.stderr).toMatch(/was refused/);
    expectNoPassword(verified.stdout + verified.stderr, source, destination);

    const fresh = await createTestDatabase('source');
    const restored = await runCli(['restore', '--from', url({ ...destination.config, password: WRONG_PASSWORD }), '--to', fresh.url]);
    expect(restored.code).toBe(4);
    expect(restored.stderr).toMatch(/was refused/);
    expectNoPassword(restored.stdout + restored.stderr, source, destination, fresh);
    expect((await summarize(fresh)).count).toBe(0);
  });
});

describe('a host that does not exist', () => {
  test.each([
    { command: 'the replicator', args: (config: string) => ['-c', config] },
    { command: 'verify', args: (config: string) => ['verify', '-c', config] },
  ])('$command: exit 3 with the host named, nothing written', async ({ args }) => {
    const source = await createTestDatabase('source');
    await insertNumbered(source, 3);
    const nowhere = { config: { host: UNKNOWN_HOST, port: 5432, databaseName: 'events', user: 'u', password: WRONG_PASSWORD } };
    const result = await runCli(args(configFile(source, [nowhere])));
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(`cannot connect to ${UNKNOWN_HOST}:5432/events`);
    expectNoPassword(result.stdout + result.stderr, source);
  });

  test('restore: exit 3, the new source untouched', async () => {
    const fresh = await createTestDatabase('source');
    const result = await runCli(['restore', '--from', `postgres://u:${WRONG_PASSWORD}@${UNKNOWN_HOST}/events`, '--to', fresh.url]);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(`cannot connect to ${UNKNOWN_HOST}:5432/events`);
    expectNoPassword(result.stdout + result.stderr, fresh);
    expect((await summarize(fresh)).count).toBe(0);
  });
});

describe('a destination tampered with in the middle', () => {
  test('passes the start-up checks, is replicated onto, and verify names the exact id (exit 6)', async () => {
    const source = await createTestDatabase('source');
    const destination = await createTestDatabase('destination');
    await insertTransactions(source, 40, 100);
    await copyPrefix(source, destination, 2000);
    await withClient(destination, (client) => client.query(`UPDATE events SET event = jsonb_set(event, '{n}', '0') WHERE id = 1234`));
    const config = configFile(source, [destination]);
    const run = spawnCli(['-c', config]);
    await waitForMaxId(destination, 4000, 20_000);
    const result = await runCli(['verify', '-c', config]);
    expect(result.code).toBe(6);
    expect(result.stdout).toMatch(/DIFFERS at id 1234: row 1234 differs from the source's: event differs; ids 1\.\.1233 are equal/);
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
  });
});

describe('foreign payloads on the channel', () => {
  test('non-JSON, foreign JSON and empty payloads are wake-ups, logged once; ours and legacy ones are not logged', async () => {
    const source = await createTestDatabase('source');
    const destination = await createTestDatabase('destination');
    const { replicator, logs } = await startTestReplicator(replicatorConfig(source, [destination]));
    let last = await insertNumbered(source, 3);
    await waitForMaxId(destination, last, 5_000);
    await withClient(source, async (client) => {
      await client.query(`NOTIFY eventsinsert, '{"table":"events","id":4,"event":{}}'`);
      await client.query(`NOTIFY eventsinsert, '12345'`);
    });
    last = await insertNumbered(source, 2);
    await waitForMaxId(destination, last, 5_000);
    const foreign = () => logs.records.filter((r) => String(r.msg).includes('carries neither an event id nor a legacy event'));
    expect(foreign()).toEqual([]);

    await withClient(source, async (client) => {
      await client.query(`NOTIFY eventsinsert, 'not json {'`);
      await client.query(`NOTIFY eventsinsert, '[1, 2, 3]'`);
      await client.query('NOTIFY eventsinsert');
      await client.query(`NOTIFY eventsinsert, 'secret-looking payload'`);
    });
    last = await insertNumbered(source, 5);
    await waitForMaxId(destination, last, 5_000);
    await waitUntil('the foreign payload is logged', () => foreign().length > 0, 5_000);
    expect(foreign()).toHaveLength(1);
    expect(foreign()[0]).toMatchObject({ payloadLength: 10 });
    expect(JSON.stringify(logs.records)).not.toContain('not json {');
    expect(JSON.stringify(logs.records)).not.toContain('secret-looking');
    expect(replicator.status().destinations[0]?.state).not.toBe('stopped');
    expect(await summarize(destination)).toEqual(await summarize(source));
  });
});

describe('passwords never reach the output of a troubled run', () => {
  test('servers going away and coming back while the replicator runs: retries are logged, passwords are not', async () => {
    const { cluster, source, destination } = await clusterPair();
    await insertNumbered(source, 10);
    const run = spawnCli(['-c', configFile(source, [destination])]);
    await waitForMaxId(destination, 10, 20_000);
    await cluster.stop();
    await waitUntil('a retry is logged', () => logRecords(run.stdout()).some((r) => r.msg === 'transient fault; retrying'), 20_000);
    await cluster.start();
    const last = await insertNumbered(source, 5);
    await waitForMaxId(destination, last, 60_000);
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    const output = run.stdout() + run.stderr();
    expect(logRecords(run.stdout()).some((r) => r.msg === 'listener connection lost; reconnecting')).toBe(true);
    expectNoPassword(output, source, destination);
    expect(await maxId(destination)).toBe(last);
  });

  test('load with a wrong password in its URL: exit 4, the URL\'s password not shown', async () => {
    const { source } = await clusterPair();
    const result = await runCli(['load', '--url', url({ ...source.config, password: WRONG_PASSWORD }), '--events', '1']);
    expect(result.code).toBe(4);
    expectNoPassword(result.stdout + result.stderr, source);
  });
});
