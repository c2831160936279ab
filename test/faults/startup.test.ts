/**
 * A connection lost during the start-up checks is a database that could not be reached at
 * start-up (exit 3, which a supervisor retries), not an unexpected error (exit 1 with a
 * stack trace). Met in the soak run when a kill -9 and restart coincided with a cut.
 */
import { expect, test } from 'vitest';
import { createTestDatabase } from '../helpers/databases.js';
import { copyPrefix, insertNumbered, summarize } from '../helpers/events.js';
import { startProxy } from '../helpers/proxy.js';
import { runCli, writeConfigFile } from '../helpers/replicator.js';

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
