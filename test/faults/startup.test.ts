/**
 * Start-up checks under faults met in the soak run:
 * - a connection lost during the checks is a database that could not be reached at start-up
 *   (exit 3, which a supervisor retries), not an unexpected error (exit 1 with a stack trace);
 * - with two replicators on one configuration, the one that writes may commit a batch while
 *   the other one starts: that must not look like a destination ahead of the source (exit 6).
 */
import { expect, test } from 'vitest';
import { createTestDatabase } from '../helpers/databases.js';
import { copyPrefix, insertNumbered, summarize, waitUntil, withClient } from '../helpers/events.js';
import { startProxy } from '../helpers/proxy.js';
import { runCli, spawnCli, writeConfigFile } from '../helpers/replicator.js';

test('a connection cut in the middle of the start-up checks: exit 3 with a clear message, nothing written', async () => {
  const source = await createTestDatabase('source');
  const destination = await createTestDatabase('destination');
  await insertNumbered(source, 10);
  await copyPrefix(source, destination, 5);
  const proxy = await startProxy(destination.config.port);
  // The check that compares the destination's first event with the source's.
  proxy.cutWhenClientSends('ORDER BY id LIMIT 1');
  const config = writeConfigFile({
    eventSource: source.config,
    replicationDestinations: [{ ...destination.config, host: '127.0.0.1', port: proxy.port }],
    connectTimeout: 3000,
  });
  const result = await runCli(['-c', config]);
  expect(result.code).toBe(3);
  expect(result.stderr).toMatch(/lost a connection during the start-up checks/);
  expect(result.stderr).not.toMatch(/unexpected error|    at /);
  expect((await summarize(destination)).maxId).toBe(5);
});

test('rows another replicator commits into a destination during the start-up checks are not taken for a destination ahead of the source', async () => {
  const source = await createTestDatabase('source');
  const destination = await createTestDatabase('destination');
  await insertNumbered(source, 10);
  await copyPrefix(source, destination, 10);
  // The replicator that writes now, copying a batch. (It takes no table lock, so readers
  // get in; ACCESS EXCLUSIVE here holds the starting replicator's read of the destination
  // until the batch is committed, so the race happens every time.)
  const active = await destination.connect();
  await active.query('BEGIN');
  await active.query('LOCK TABLE events IN ACCESS EXCLUSIVE MODE');
  const config = writeConfigFile({ eventSource: source.config, replicationDestinations: [destination.config], connectTimeout: 3000 });
  const starting = spawnCli(['-c', config]);
  // The starting replicator has read the source's extent and waits to read the destination's.
  await waitUntil('the start-up check waits for the destination', async () =>
    withClient(destination, async (client) => {
      const waiting = await client.query(
        `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'slate-replicator check' AND wait_event_type = 'Lock'`,
      );
      return (waiting.rowCount ?? 0) > 0;
    }),
  );
  // Meanwhile the source gets rows and the active replicator copies them.
  await insertNumbered(source, 5);
  const rows = await withClient(source, async (client) =>
    (await client.query<{ id: string; ts: string; event: string }>(`SELECT id::text, ts::text, event::text FROM events WHERE id > 10 ORDER BY id`)).rows,
  );
  for (const row of rows) await active.query('INSERT INTO events VALUES ($1, $2, $3)', [row.id, row.ts, row.event]);
  await active.query('COMMIT');

  await starting.waitForOutput((line) => line.includes('"msg":"replicating"'), 15_000);
  starting.child.kill('SIGTERM');
  expect(await starting.exited).toBe(0);
  expect(await summarize(destination)).toEqual(await summarize(source));
});
