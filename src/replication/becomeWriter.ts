/**
 * How a destination loop becomes its destination's only writer: it takes the writer lock
 * (src/db/writerLock.ts), waiting as a standby while another replicator holds it.
 *
 * The holder may be the loop's own previous writer session: when the connection to the
 * destination went silent (a broken network path), the loop gave up on it, but the server
 * keeps the session, and its session-level lock, until its TCP keepalive notices, which can
 * take hours. A session is recognised as the loop's own by its pid and start time together
 * (a pid alone may have been reused), and ended: the batch it may still hold open is one the
 * loop already counts as failed, and the loop reads its position again once the lock is taken.
 */
import type pg from 'pg';
import type { Logger } from '../log.js';
import { bounded } from '../db/timeouts.js';
import { WRITER_LOCK_RETRY_MS, tryWriterLock, writerLockHolder } from '../db/writerLock.js';
import type { Wake } from './wake.js';

/** A server session, told apart from later ones that reuse its pid by its start time. */
export interface SessionIdentity {
  pid: number;
  /** pg_stat_activity.backend_start as text, the form writerLockHolder reports. */
  since: string | null;
}

async function sessionIdentity(client: pg.Client): Promise<SessionIdentity | undefined> {
  const result = await client.query<{ pid: number; since: string | null }>(
    bounded({ text: 'SELECT pid, backend_start::text AS since FROM pg_stat_activity WHERE pid = pg_backend_pid()' }),
  );
  return result.rows[0];
}

export interface BecomeWriterOptions {
  /** The loop's wake-up: cancelling it ends the wait; its retries are not cut short by nudges. */
  wake: Wake;
  log: Logger;
  /** The session that last took the lock for this loop, if any. */
  previous: SessionIdentity | undefined;
  /** Called each time the loop waits behind another holder. */
  onStandby: () => void;
}

/**
 * Takes `destination`'s writer lock, waiting as long as needed. Returns the session that
 * now holds it (this connection's), or `previous` when the wait was cancelled.
 */
export async function becomeWriter(destination: pg.Client, options: BecomeWriterOptions): Promise<SessionIdentity | undefined> {
  const { wake, log, previous } = options;
  let waited = false;
  while (!wake.isCancelled) {
    if (await tryWriterLock(destination)) {
      if (waited) log.info('writer lock taken: this replicator now writes to the destination');
      return sessionIdentity(destination);
    }
    const holder = waited && previous === undefined ? undefined : await writerLockHolder(destination);
    if (holder !== undefined && previous !== undefined && holder.pid === previous.pid && holder.since === previous.since) {
      log.warn({ holder }, "the writer lock is held by this loop's own previous session, whose connection was lost; ending that session");
      await destination.query(bounded({ text: 'SELECT pg_terminate_backend($1)', values: [holder.pid] }));
    } else if (!waited) {
      log.warn({ holder }, 'standby: another replicator holds this destination\'s writer lock; waiting to take over');
      waited = true;
    }
    options.onStandby();
    await wake.wait(WRITER_LOCK_RETRY_MS, false);
  }
  return previous;
}
