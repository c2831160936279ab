/**
 * restore: a lost source rebuilt from a destination into a new source made by init-db,
 * exactly and verified, after which the replicator carries on unchanged; and every refusal,
 * each leaving the new source as it was.
 */
import { describe, expect, onTestFinished, test } from 'vitest';
import { adminQuery, configFromUrl, quoteIdent, urlForDatabase } from './helpers/admin.js';
import { adminUrl, createTestDatabase, uniqueDatabaseName } from './helpers/databases.js';
import type { TestDatabase } from './helpers/databases.js';
import { copyPrefix, insertEvents, insertTransactions, summarize, waitForMaxId, withClient } from './helpers/events.js';
import type { HasUrl } from './helpers/events.js';
import { runCli, spawnCli, writeConfigFile } from './helpers/replicator.js';
import type { DatabaseConfig } from '../src/types.js';

function configFile(source: { config: DatabaseConfig }, destinations: Array<{ config: DatabaseConfig }>): string {
  return writeConfigFile({
    eventSource: source.config,
    replicationDestinations: destinations.map((d) => d.config),
    connectTimeout: 3000,
    pollIntervalMs: 500,
  });
}

/** A source with awkward rows (microseconds, big numbers, Unicode, a 300 kB event) and a destination holding all of them. */
async function replicatedSource(transactions = 20, perTransaction = 50): Promise<{ source: TestDatabase; destination: TestDatabase }> {
  const source = await createTestDatabase('source');
  const destination = await createTestDatabase('destination');
  await withClient(source, (client) =>
    client.query(`SELECT insert_events($1::jsonb)`, ['[{"big": 12345678901234567890, "precise": 1.10, "text": "Grüße 😀 \\\\ \\" \\t"}]']),
  );
  await insertEvents(source, [{ blob: 'x'.repeat(300_000) }]);
  await insertTransactions(source, transactions, perTransaction);
  const { maxId } = await summarize(source);
  await copyPrefix(source, destination, maxId);
  return { source, destination };
}

async function nextId(db: HasUrl): Promise<string[]> {
  return withClient(db, async (client) => (await client.query<{ id: string }>('SELECT id::text AS id FROM id')).rows.map((r) => r.id));
}

/** init-db --type source on the suite's server, as the README tells an operator; dropped after the test. */
async function initDbSource(): Promise<{ config: DatabaseConfig; url: string }> {
  const server = configFromUrl(adminUrl());
  const name = uniqueDatabaseName();
  onTestFinished(() =>
    adminQuery(adminUrl(), (admin) => admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`)).then(() => {}, () => {}),
  );
  const args = ['init-db', '--host', server.host, '--port', String(server.port), '-n', name, '-t', 'source'];
  if (server.user !== undefined) args.push('--user', server.user);
  const created = await runCli(args, server.password === undefined ? {} : { PGPASSWORD: server.password });
  expect(created.code, created.stderr).toBe(0);
  const url = urlForDatabase(adminUrl(), name);
  return { config: configFromUrl(url), url };
}

describe('restore rebuilds a lost source', () => {
  test('from the configuration: every event exactly, the next id, then the replicator carries on unchanged', async () => {
    const { source: lost, destination } = await replicatedSource();
    const expected = await summarize(lost);
    const fresh = await initDbSource();
    const config = configFile(fresh, [destination]);

    const result = await runCli(['restore', '-c', config]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`restore: copying 1,002 events from replicationDestinations[0]`);
    expect(result.stdout).toMatch(/restore: copied 1,002 events in [0-9.]+ s and verified them in [0-9.]+ s; the next id is 1003\./);
    expect(await summarize(fresh)).toEqual(expected);
    expect(await nextId(fresh)).toEqual(['1003']);

    // The application writes again; the replicator accepts the destination and copies the new rows.
    const last = await insertEvents(fresh, [{ after: 'restore' }, { after: 'restore', n: 2 }]);
    expect(last).toBe(1004);
    const run = spawnCli(['-c', config]);
    await waitForMaxId(destination, 1004, 20_000);
    expect(await summarize(destination)).toEqual(await summarize(fresh));
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
  });

  test('--from and --to as URLs; an empty destination restores nothing and leaves the next id at 1', async () => {
    const { source: lost, destination } = await replicatedSource(3, 10);
    const fresh = await createTestDatabase('source');
    const result = await runCli(['restore', '--from', destination.url, '--to', fresh.url]);
    expect(result.code, result.stderr).toBe(0);
    expect(await summarize(fresh)).toEqual(await summarize(lost));

    const empty = await createTestDatabase('destination');
    const other = await createTestDatabase('source');
    const nothing = await runCli(['restore', '--from', empty.url, '--to', other.url]);
    expect(nothing.code, nothing.stderr).toBe(0);
    expect(nothing.stdout).toMatch(/copied 0 events .* the next id is 1\./);
    expect(await nextId(other)).toEqual(['1']);
  });

  test('the chosen one of several destinations', async () => {
    const { destination } = await replicatedSource(2, 10);
    const shorter = await createTestDatabase('destination');
    await copyPrefix(destination, shorter, 11);
    const fresh = await createTestDatabase('source');
    const result = await runCli(['restore', '-c', configFile(fresh, [shorter, destination]), '--from-destination', '1']);
    expect(result.code, result.stderr).toBe(0);
    expect(await summarize(fresh)).toEqual(await summarize(destination));
  });
});

describe('restore refuses and writes nothing', () => {
  test.each([
    {
      name: 'a target with events',
      prepare: (target: TestDatabase) => insertEvents(target, [{ already: 'there' }]),
      message: /is not an empty source: its events table has rows and its id table holds the next id 2 instead of the single row 1/,
    },
    {
      name: 'a target whose id table moved on',
      prepare: (target: TestDatabase) => withClient(target, (client) => client.query('UPDATE id SET id = 5')),
      message: /is not an empty source: its id table holds the next id 5 instead of the single row 1/,
    },
    {
      name: 'a target whose id table is empty',
      prepare: (target: TestDatabase) => withClient(target, (client) => client.query('DELETE FROM id')),
      message: /its id table holds 0 rows instead of the single row 1/,
    },
  ])('$name: exit 5', async ({ prepare, message }) => {
    const { destination } = await replicatedSource(2, 10);
    const target = await createTestDatabase('source');
    await prepare(target);
    const before = await summarize(target);
    const ids = await nextId(target);
    const result = await runCli(['restore', '--from', destination.url, '--to', target.url]);
    expect(result.code).toBe(5);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toMatch(/nothing was written/);
    expect(await summarize(target)).toEqual(before);
    expect(await nextId(target)).toEqual(ids);
  });

  test('a target that is a destination, not a source: exit 5', async () => {
    const { destination } = await replicatedSource(2, 10);
    const target = await createTestDatabase('destination');
    const result = await runCli(['restore', '--from', destination.url, '--to', target.url]);
    expect(result.code).toBe(5);
    expect(result.stderr).toMatch(/is not a slate source database/);
    expect((await summarize(target)).count).toBe(0);
  });

  test('a destination with a gap: exit 6', async () => {
    const { destination } = await replicatedSource(2, 10);
    await withClient(destination, (client) => client.query('DELETE FROM events WHERE id = 7'));
    const target = await createTestDatabase('source');
    const result = await runCli(['restore', '--from', destination.url, '--to', target.url]);
    expect(result.code).toBe(6);
    expect(result.stderr).toMatch(/holds 21 events with ids 1\.\.22, not 1\.\.max without gaps/);
    expect((await summarize(target)).count).toBe(0);
  });

  test('a copy that does not verify is rolled back: exit 6', async () => {
    const { destination } = await replicatedSource(2, 10);
    const target = await createTestDatabase('source');
    // Something on the new source rewrites a row on its way in.
    await withClient(target, (client) =>
      client.query(`
        CREATE FUNCTION tamper() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF NEW.id = 15 THEN NEW.event := '{"tampered": true}'; END IF; RETURN NEW; END $$;
        CREATE TRIGGER tamper BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION tamper();`),
    );
    const result = await runCli(['restore', '--from', destination.url, '--to', target.url]);
    expect(result.code).toBe(6);
    expect(result.stderr).toMatch(/does not equal .* at id 15: row 15 differs from the source's: event differs; it was rolled back/);
    expect((await summarize(target)).count).toBe(0);
    expect(await nextId(target)).toEqual(['1']);
  });

  test('the same database as both: exit 2', async () => {
    const target = await createTestDatabase('source');
    const result = await runCli(['restore', '--from', target.url, '--to', target.url]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/is the same database as --from/);
  });

  test.each([
    { name: 'no options', args: [], problems: ['--from: required', '--to: required'] },
    { name: 'both --from and --from-destination', args: ['--from', 'postgres://h/d', '--from-destination', '0', '--to', 'postgres://h/e'], problems: ['give either --from or --from-destination'] },
    { name: 'an index that is not a number, without -c', args: ['--from-destination', 'first', '--to', 'postgres://h/e'], problems: ['--from-destination: names a destination of a configuration', '--from-destination: must be a destination\'s index'] },
    { name: 'a URL that is not one', args: ['--from', 'not a url', '--to', 'mysql://h/e'], problems: ['--from: is not a URL', '--to: scheme must be postgres'] },
  ])('bad options ($name): exit 2, every problem listed, nothing connected to', async ({ args, problems }) => {
    const result = await runCli(['restore', ...args]);
    expect(result.code).toBe(2);
    for (const problem of problems) expect(result.stderr).toContain(problem);
  });

  test('several destinations and no --from-destination, or one out of range: exit 2', async () => {
    const source = await createTestDatabase('source');
    const a = await createTestDatabase('destination');
    const b = await createTestDatabase('destination');
    const config = configFile(source, [a, b]);
    const missing = await runCli(['restore', '-c', config]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--from-destination: required: the configuration has 2 destinations; choose one \(0 to 1\)/);
    const outOfRange = await runCli(['restore', '-c', config, '--from-destination', '2']);
    expect(outOfRange.code).toBe(2);
    expect(outOfRange.stderr).toMatch(/--from-destination: is 2, but the configuration's destinations are numbered 0 to 1/);
  });
});
