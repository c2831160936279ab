/**
 * Writing one batch into a destination: one transaction that locks out other writers,
 * re-checks that the destination still ends at the position the batch was planned from,
 * and pipes the source's binary COPY stream into `COPY events FROM STDIN`.
 */
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { DivergenceError } from '../errors.js';
import { bounded, stallGuard } from './timeouts.js';

/** Produces the source rows `afterId+1 .. lastId` as a binary COPY stream. */
export type RowSource = (afterId: number, lastId: number) => Readable;

/** The destination's position: its `max(id)`, 0 when empty. */
export async function readPosition(destination: pg.Client): Promise<number> {
  const result = await destination.query<{ max_id: string | null }>(
    bounded({ name: 'slate-position', text: 'SELECT max(id)::text AS max_id FROM events' }),
  );
  return Number(result.rows[0]?.max_id ?? 0);
}

export interface WriteBatch {
  /** The destination's max id the batch was planned from. */
  position: number;
  /** The batch's last id. */
  lastId: number;
  /** Most rows per COPY statement (a batch is one statement unless a source transaction is larger). */
  maxEventsPerWrite: number;
}

/**
 * Writes `position+1 .. lastId` in one transaction. Throws DivergenceError when the
 * destination's max id is no longer `position` (another writer, or a hand-made insert) or
 * when a statement copies fewer rows than planned; the transaction is then rolled back and
 * nothing is written.
 */
export async function writeBatch(destination: pg.Client, rows: RowSource, batch: WriteBatch): Promise<number> {
  // One round trip: open the transaction, lock out other writers, read the position.
  // EXCLUSIVE still lets readers in (ACCESS SHARE) but queues every other writer until we
  // commit, so the position read cannot change before the rows land.
  try {
    const opened = (await destination.query(
      bounded({ text: 'BEGIN; LOCK TABLE events IN EXCLUSIVE MODE; SELECT max(id)::text AS max_id FROM events' }),
    )) as unknown as pg.QueryResult<{ max_id: string | null }>[];
    const position = Number(opened[2]?.rows[0]?.max_id ?? 0);
    if (position !== batch.position) {
      throw new DivergenceError(
        `the destination's max id is ${position} but this replicator had written up to ${batch.position}: ` +
          'another process writes into this destination. Stop the other writer; then restart the replicator.',
      );
    }
    let written = 0;
    for (let from = batch.position; from < batch.lastId; from += batch.maxEventsPerWrite) {
      const to = Math.min(from + batch.maxEventsPerWrite, batch.lastId);
      const into = destination.query(copyFrom('COPY events (id, ts, event) FROM STDIN (FORMAT binary)'));
      const guard = stallGuard();
      try {
        await Promise.race([pipeline(rows(from, to), guard.stream, into), guard.stalled]);
      } finally {
        guard.clear();
      }
      if (into.rowCount !== to - from) {
        throw new DivergenceError(
          `the source's ids are not consecutive after id ${from}: ids ${from + 1}..${to} hold ${into.rowCount} ` +
            `rows, not ${to - from}. A row was inserted into the source events table without insert_events; ` +
            'nothing after the gap can be replicated safely. Repair the source\'s ids, then restart.',
        );
      }
      written += into.rowCount;
    }
    await destination.query(bounded({ text: 'COMMIT' }));
    return written;
  } catch (error) {
    await destination.query(bounded({ text: 'ROLLBACK' })).catch(() => {});
    throw error;
  }
}
