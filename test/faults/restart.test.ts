/**
 * Fault scenario: the source server and each destination server stopped (a fast shutdown,
 * ending every session) and started again, at random moments, while writers and the
 * replicator run.
 */
import { expect, test } from 'vitest';
import { maxId } from '../helpers/events.js';
import { startRig } from './rig.js';

test('the source server restarted; each destination server restarted', async () => {
  const rig = await startRig({ scenario: 'server-restarts' });
  rig.startReplicator();
  await rig.waitFor('replication under way', async () => (await maxId(rig.destinations[0] as { url: string })) > 0, 30_000);
  const servers = [
    ...Array.from({ length: 3 }, () => ({ name: 'source', cluster: rig.sourceCluster })),
    ...rig.destinationClusters.flatMap((cluster, i) => Array.from({ length: 2 }, () => ({ name: `destination ${i}`, cluster }))),
  ];
  // The order of the restarts, from the seed.
  for (let i = servers.length - 1; i > 0; i--) {
    const j = rig.random.int(0, i + 1);
    [servers[i], servers[j]] = [servers[j] as (typeof servers)[number], servers[i] as (typeof servers)[number]];
  }
  for (const server of servers) {
    await rig.pause(500, 2500);
    await server.cluster.stop();
    rig.fault(`restart ${server.name}`);
    await rig.pause(200, 3000);
    await server.cluster.start();
  }
  const summary = await rig.finish();
  expect(summary.faults['restart source']).toBe(3);
}, 240_000);
