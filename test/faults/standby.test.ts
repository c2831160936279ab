/**
 * Fault scenario: two replicators on one configuration. The one that writes is killed with
 * SIGKILL, again and again; the standby must take over every destination within seconds,
 * and the killed one, started again, must wait as the new standby.
 */
import { describe, expect, test } from 'vitest';
import { maxId } from '../helpers/events.js';
import { startRig } from './rig.js';
import type { ReplicatorProcess } from './replicatorProcess.js';

const TAKEOVERS = 5;
/** A standby tries the writer lock every second (db/writerLock.ts); the server notices a killed client at once. */
const TAKEOVER_BOUND_MS = 10_000;

function count(replicator: ReplicatorProcess, prefix: string): number {
  return replicator.currentRecords().filter((r) => String(r.msg).startsWith(prefix)).length;
}

describe('two replicators on one configuration', () => {
  test('of the writing replicator while a second one on the same configuration waits: the standby takes over within seconds', async () => {
    const rig = await startRig({ scenario: 'two-replicators' });
    const destinations = rig.destinations.length;
    let active = rig.startReplicator();
    await rig.waitFor('the first replicator writes', async () => (await maxId(rig.destinations[0] as { url: string })) > 0, 30_000);
    let standby = rig.startReplicator();
    await rig.waitFor('the second one is a standby for every destination', () => count(standby, 'standby:') >= destinations, 30_000);
    const takeoversMs: number[] = [];
    for (let round = 0; round < TAKEOVERS; round++) {
      await rig.pause(500, 2500);
      if (rig.random.chance(0.3)) {
        // The standby dies instead: nothing changes for the destinations.
        await standby.kill9();
        rig.fault('kill-9 standby');
        standby.start();
        await rig.waitFor('the restarted standby waits again', () => count(standby, 'standby:') >= destinations, 30_000);
      }
      const killedAt = performance.now();
      await active.kill9();
      rig.fault('kill-9 writer');
      await rig.waitFor('the standby takes over every destination', () => count(standby, 'writer lock taken') >= destinations, TAKEOVER_BOUND_MS * 3);
      takeoversMs.push(performance.now() - killedAt);
      active.start();
      await rig.waitFor('the restarted replicator becomes the standby', () => count(active, 'standby:') >= destinations, 30_000);
      [active, standby] = [standby, active];
    }
    console.log(`two-replicators: takeover after kill -9 of the writer took ${takeoversMs.map((ms) => `${Math.round(ms)} ms`).join(', ')}`);
    for (const ms of takeoversMs) expect(ms).toBeLessThan(TAKEOVER_BOUND_MS);
    await rig.finish();
  }, 240_000);
});
