/**
 * Fault scenario: the replicator process killed with SIGKILL at random moments, from its
 * start-up to the middle of a batch, and started again each time.
 */
import { describe, expect, test } from 'vitest';
import { startRig } from './rig.js';

const KILLS = 16;

describe('kill -9', () => {
  test('of the replicator at random moments, from start-up to the middle of a batch, restarted each time', async () => {
    const rig = await startRig({ scenario: 'kill-9' });
    const replicator = rig.startReplicator();
    for (let i = 0; i < KILLS; i++) {
      await rig.pause(200, 2500);
      await replicator.kill9();
      rig.fault('kill-9');
      if (rig.random.chance(0.3)) await rig.pause(0, 1000);
      replicator.start();
    }
    const summary = await rig.finish();
    expect(summary.faults['kill-9']).toBe(KILLS);
  }, 240_000);
});
