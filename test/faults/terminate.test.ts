/**
 * Fault scenario: the server ends each of the replicator's sessions in turn
 * (pg_terminate_backend): the listener and the readers on the source, the writers on the
 * destinations.
 */
import { expect, test } from 'vitest';
import { withClient } from '../helpers/events.js';
import type { TestDatabase } from '../helpers/databases.js';
import { startRig } from './rig.js';

const TERMINATIONS = 18;
const ROLES = ['listener', 'reader', 'writer'] as const;

/** Ends one session of `role` on `db`, chosen with `pick`; false when none is connected right now. */
async function terminate(db: TestDatabase, role: string, pick: (n: number) => number): Promise<boolean> {
  return withClient(db, async (client) => {
    const sessions = await client.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1 ORDER BY pid`,
      [`slate-replicator ${role}`],
    );
    const session = sessions.rows[pick(sessions.rows.length)];
    if (session === undefined) return false;
    const ended = await client.query<{ ok: boolean }>('SELECT pg_terminate_backend($1) AS ok', [session.pid]);
    return ended.rows[0]?.ok === true;
  });
}

test('pg_terminate_backend of the listener, the readers and the writers in turn', async () => {
  const rig = await startRig({ scenario: 'terminate-backend' });
  rig.startReplicator();
  for (let i = 0; i < TERMINATIONS; i++) {
    await rig.pause(300, 1500);
    const role = ROLES[i % ROLES.length] as (typeof ROLES)[number];
    const db = role === 'writer' ? rig.random.pick(rig.destinations) : rig.source;
    // A session being re-opened after the previous fault may be missing for a moment: try again shortly.
    for (let attempt = 0; attempt < 50; attempt++) {
      if (await terminate(db, role, (n) => (n === 0 ? 0 : rig.random.int(0, n)))) {
        rig.fault(`terminate ${role}`);
        break;
      }
      await rig.pause(100, 200);
    }
  }
  const summary = await rig.finish();
  for (const role of ROLES) expect(summary.faults[`terminate ${role}`]).toBe(TERMINATIONS / ROLES.length);
}, 240_000);
