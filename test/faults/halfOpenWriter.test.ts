/**
 * A writer session left behind by a connection that went silent must not keep the
 * destination's writer lock. When the path to the destination breaks without a word (a
 * router or NAT forgets the connection), the server keeps the old session, and with it the
 * session-level writer lock, until its own TCP keepalive gives up (hours by default). The
 * loop that opened that session must not wait behind it as if it were another replicator.
 */
import { expect, test } from 'vitest';
import { createTestDatabase } from '../helpers/databases.js';
import { insertNumbered, summarize, waitForMaxId, withClient } from '../helpers/events.js';
import { startProxy } from '../helpers/proxy.js';
import { replicatorConfig, startTestReplicator } from '../helpers/replicator.js';

test('the loop ends its own previous writer session, left half-open, instead of waiting behind it as a standby', async () => {
  const source = await createTestDatabase('source');
  const destination = await createTestDatabase('destination');
  const proxy = await startProxy(destination.config.port);
  const throughProxy = { config: { ...destination.config, host: '127.0.0.1', port: proxy.port } };
  const { logs } = await startTestReplicator(replicatorConfig(source, [throughProxy], { pollIntervalMs: 200 }));
  await waitForMaxId(destination, await insertNumbered(source, 10));

  // The writer's connection hangs from now on; new connections go through.
  proxy.stall({ newConnections: 'pass' });
  // Any fault makes the loop drop both its connections: here, the server ends its reader.
  await withClient(source, (client) =>
    client.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'slate-replicator reader'`),
  );
  const last = await insertNumbered(source, 5);
  await waitForMaxId(destination, last, 15_000);
  expect(await summarize(destination)).toEqual(await summarize(source));
  expect(logs.messages()).toContain("the writer lock is held by this loop's own previous session, whose connection was lost; ending that session");
  expect(proxy.stalledConnections).toBeGreaterThan(0);
});
