/**
 * Writing one batch into a destination: one transaction that re-checks that the destination
 * still ends at the position the batch was planned from and pipes the source's binary COPY
 * stream into `COPY events FROM STDIN`.
 *
 * No table lock is taken. Other replicators are kept out by the writer lock (writerLock.ts);
 * any other writer can only add rows, and the primary key on `id` turns a row it adds into
 * this batch's range into a failed COPY (or its own failed insert), never a duplicate, while
 * a row it adds above the batch is found by the next position check. Every table lock that
 * would queue other writers (SHARE and stronger) also conflicts with VACUUM and ANALYZE: a
 * write would then wait behind autovacuum, and after deadlock_timeout cancel it, so that a
 * destination written to often would never finish an autovacuum of its events table.
 */
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { DivergenceError } from '../errors.js';
import { sqlState } from './pgErrors.js';
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

/** Runs `statements`, then reads the destination's max id, in one round trip. */
async function thenPosition(destination: pg.Client, statements: string): Promise<number> {
  const results = (await destination.query(
    bounded({ text: `${statements}; SELECT max(id)::text AS max_id FROM events` }),
  )) as unknown as pg.QueryResult<{ max_id: string | null }>[];
  return Number(results.at(-1)?.rows[0]?.max_id ?? 0);
}

/** Opens a write transaction and returns the destination's max id as seen inside it, in one round trip. */
export async function beginWrite(destination: pg.Client): Promise<number> {
  return thenPosition(destination, 'BEGIN');
}

export async function commitWrite(destination: pg.Client): Promise<void> {
  await destination.query(bounded({ text: 'COMMIT' }));
}

/**
 * Commits the write transaction and opens the next one, in one round trip; returns the
 * destination's max id as seen inside the new one, as beginWrite does. When it fails, the
 * first transaction may or may not be committed: the caller drops the connection and reads
 * the position again.
 */
export async function commitAndBeginWrite(destination: pg.Client): Promise<number> {
  return thenPosition(destination, 'COMMIT; BEGIN');
}

/** Ends the write transaction without a trace; never throws (a dead connection is dropped by the caller). */
export async function rollbackWrite(destination: pg.Client): Promise<void> {
  await destination.query(bounded({ text: 'ROLLBACK' })).catch(() => {});
}

/** The error for a destination whose max id moved under this replicator. */
export function anotherWriter(found: number, expected: number): DivergenceError {
  return new DivergenceError(
    `the destination's max id is ${found} but this replicator had written up to ${expected}: ` +
      'another process writes into this destination. Stop the other writer; then restart the replicator.',
  );
}

/** The error for a COPY that found one of its ids already in the destination (SQLSTATE 23505). */
function rowAlreadyThere(position: number, cause: unknown): DivergenceError {
  return new DivergenceError(
    `a row this replicator was copying after id ${position} is already in the destination: ` +
      'another process writes into this destination. Stop the other writer; then restart the replicator.',
    cause,
  );
}

const UNIQUE_VIOLATION = '23505';

/** The error for source ids `from+1 .. to` that hold only `count` rows. */
function sourceGap(from: number, to: number, count: number): DivergenceError {
  return new DivergenceError(
    `the source's ids are not consecutive after id ${from}: ids ${from + 1}..${to} hold ${count} ` +
      `rows, not ${to - from}. A row was inserted into the source events table without insert_events; ` +
      'nothing after the gap can be replicated safely. Repair the source\'s ids, then restart.',
  );
}

/** Pipes `rows` into `into`, failing with StallError when nothing moves for too long. */
async function pipeGuarded(rows: Readable, into: NodeJS.WritableStream): Promise<void> {
  const guard = stallGuard();
  try {
    await Promise.race([pipeline(rows, guard.stream, into), guard.stalled]);
  } finally {
    guard.clear();
  }
}

/**
 * Whether the destination runs the PL/pgSQL `DO` blocks writeInOneTrip checks with (PL/pgSQL
 * is installed in every database by default; an administrator may have removed it).
 */
export async function canCheckInline(destination: pg.Client): Promise<boolean> {
  const result = await destination.query<{ usable: boolean }>(
    bounded({
      text:
        "SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_language WHERE lanname = 'plpgsql') " +
        "THEN has_language_privilege('plpgsql', 'USAGE') ELSE false END AS usable",
    }),
  );
  return result.rows[0]?.usable === true;
}

/** The SQLSTATE the inline position check raises: the destination's max id moved. */
const POSITION_MOVED = 'SR001';

/** A `DO` block that raises `state`, with the max id found as its message, unless the destination's max id is `expected`. */
function maxIdCheck(expected: number, state: string): string {
  return (
    'DO $check$DECLARE found bigint; BEGIN ' +
    'SELECT coalesce(max(id), 0) INTO found FROM events; ' +
    `IF found <> ${expected} THEN RAISE EXCEPTION '%', found USING ERRCODE = '${state}'; END IF; ` +
    'END$check$'
  );
}

function foundMaxId(error: unknown): number {
  return Number((error as { message?: unknown }).message);
}

/**
 * A whole write in two round trips, for a loop that is in sync with the source and copies
 * the few rows of a wake-up: `rows` must be the source's ids `position+1 ..` without a gap
 * (copyAllPendingOut streams nothing otherwise). The first round trip opens the transaction,
 * checks the position (a `DO` block) and starts `COPY FROM STDIN`, while `rows` (the
 * source's COPY, started at the same moment) streams in; the second commits. Returns the
 * rows written; when that is 0 the transaction is still open and the caller rolls it back.
 * A failed check is a DivergenceError, as in beginWrite and copyBatch.
 */
export async function writeInOneTrip(destination: pg.Client, rows: Readable, position: number): Promise<number> {
  const into = destination.query(
    copyFrom(`BEGIN; ${maxIdCheck(position, POSITION_MOVED)}; COPY events (id, ts, event) FROM STDIN (FORMAT binary)`),
  );
  try {
    await pipeGuarded(rows, into);
  } catch (error) {
    if (sqlState(error) === POSITION_MOVED) throw anotherWriter(foundMaxId(error), position);
    if (sqlState(error) === UNIQUE_VIOLATION) throw rowAlreadyThere(position, error);
    throw error;
  }
  if (into.rowCount === 0) return 0;
  await commitWrite(destination);
  return into.rowCount;
}

/**
 * Inside a transaction opened by beginWrite, copies `position+1 .. lastId` from the source,
 * one COPY statement per `maxEventsPerWrite` rows. Throws DivergenceError when a statement
 * copies fewer rows than its id range holds (a gap in the source's ids), or finds one of its
 * ids already in the destination (another writer).
 */
export async function copyBatch(destination: pg.Client, rows: RowSource, batch: WriteBatch): Promise<number> {
  let written = 0;
  for (let from = batch.position; from < batch.lastId; from += batch.maxEventsPerWrite) {
    const to = Math.min(from + batch.maxEventsPerWrite, batch.lastId);
    const into = destination.query(copyFrom('COPY events (id, ts, event) FROM STDIN (FORMAT binary)'));
    try {
      await pipeGuarded(rows(from, to), into);
    } catch (error) {
      if (sqlState(error) === UNIQUE_VIOLATION) throw rowAlreadyThere(batch.position, error);
      throw error;
    }
    if (into.rowCount !== to - from) throw sourceGap(from, to, into.rowCount);
    written += into.rowCount;
  }
  return written;
}
