/**
 * One writer per destination: the replicator that writes into a destination holds a
 * session-level advisory lock on that destination, taken on its writer connection. A second
 * replicator with the same destination fails to take it and waits as a standby; the lock
 * goes away with the holder's session (process killed, connection dropped), and the standby
 * takes it within WRITER_LOCK_RETRY_MS.
 *
 * The key is fixed and documented so operators can see the holder:
 *   SELECT * FROM pg_locks WHERE locktype = 'advisory' AND classid = 1936482676 AND objid = 1;
 */
import type pg from 'pg';
import { bounded } from './timeouts.js';

/** `'slat'` as a big-endian int4: the lock's first key (pg_locks.classid). */
export const WRITER_LOCK_CLASS_ID = 0x736c6174;
/** The lock's second key (pg_locks.objid): the events table's writer. */
export const WRITER_LOCK_OBJECT_ID = 1;
/** How often a standby tries to take the lock. */
export const WRITER_LOCK_RETRY_MS = 1000;

export async function tryWriterLock(client: pg.Client): Promise<boolean> {
  const result = await client.query<{ locked: boolean }>(
    bounded({ text: 'SELECT pg_try_advisory_lock($1, $2) AS locked', values: [WRITER_LOCK_CLASS_ID, WRITER_LOCK_OBJECT_ID] }),
  );
  return result.rows[0]?.locked === true;
}

export interface LockHolder {
  pid: number;
  applicationName: string;
  clientAddress: string | null;
  since: string | null;
}

/** Who holds the writer lock of the connected database, if anyone (and if visible to us). */
export async function writerLockHolder(client: pg.Client): Promise<LockHolder | undefined> {
  const result = await client.query<{ pid: number; application_name: string; client_addr: string | null; backend_start: string | null }>(
    bounded({
      text: `SELECT l.pid, a.application_name, a.client_addr::text AS client_addr, a.backend_start::text AS backend_start
     FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
     WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1 AND l.objid = $2 AND l.objsubid = 2
       AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      values: [WRITER_LOCK_CLASS_ID, WRITER_LOCK_OBJECT_ID],
    }),
  );
  const row = result.rows[0];
  if (row === undefined) return undefined;
  return { pid: row.pid, applicationName: row.application_name, clientAddress: row.client_addr, since: row.backend_start };
}
