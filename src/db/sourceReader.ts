/**
 * Reading the source: where the next batch ends, and the batch's rows as a binary COPY
 * stream that is piped into a destination untouched (no row is ever turned into JavaScript
 * values, so `ts` keeps its microseconds and `event` its exact jsonb).
 *
 * Why batches can be cut by `ts` alone: `insert_events` holds the `id` table's lock until
 * commit, so ids become visible in id order and all rows of one source transaction share
 * `transaction_timestamp()`. Every visible row therefore belongs to a transaction that is
 * wholly visible, and a change of `ts` between id n and n+1 is a transaction boundary. The
 * converse does not hold: two transactions that begin in the same microsecond share a ts,
 * and a batch cut by ts then keeps them together, which is safe (a batch that ends at the
 * source's max id ends at a whole transaction, whatever the ts).
 */
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import type { Readable } from 'node:stream';
import { bounded } from './timeouts.js';

/** What the source holds after a destination's position, as far as one batch looks. */
export interface BatchPlan {
  /** Rows that become one destination transaction: ids `position+1 .. lastId`. 0: nothing to copy. */
  rowCount: number;
  lastId: number;
  /**
   * True when the first pending source transaction alone has more rows than
   * maxEventsPerWrite: then `lastId` is that transaction's last row, and the rows are
   * written as several statements inside one destination transaction.
   */
  oversized: boolean;
  /** Milliseconds since the epoch of the first pending row's `ts` (for lag), or undefined. */
  firstPendingTsMs: number | undefined;
  /** The source's max id when the plan was made. */
  sourceMaxId: number;
}

// A handful of primary-key and ts-index lookups, whatever maxEventsPerWrite is:
// - limit_id: the furthest the batch may reach (source max id, or position + maxEventsPerWrite);
// - if the row after limit_id has the same ts, limit_id is inside a transaction, and the batch
//   must end before that transaction's first row (found through the ts index);
// - if that transaction starts right after the position, it is larger than
//   maxEventsPerWrite and is taken whole: its last row is found the same way.
// Gaps in the ids are not looked for here: the COPY that follows counts its rows, and a
// short count is reported as a gap (see writeBatch).
const PLAN_SQL = `
WITH bounds AS (
  SELECT m.source_max, least(m.source_max, $1::bigint + $2::bigint) AS limit_id
  FROM (SELECT coalesce(max(id), 0) AS source_max FROM events) m
), edge AS (
  SELECT b.source_max, b.limit_id,
         (SELECT ts FROM events WHERE id = b.limit_id) AS limit_ts,
         (SELECT ts FROM events WHERE id = b.limit_id + 1) AS next_ts,
         (SELECT ts FROM events WHERE id = $1::bigint + 1) AS first_ts
  FROM bounds b
)
SELECT e.source_max::text AS source_max,
       e.limit_id::text AS limit_id,
       CASE WHEN e.next_ts IS NOT NULL AND e.next_ts = e.limit_ts
            THEN (SELECT min(id) - 1 FROM events WHERE ts = e.limit_ts AND id > $1::bigint)::text END AS cut_id,
       CASE WHEN e.next_ts IS NOT NULL AND e.next_ts = e.limit_ts AND e.first_ts = e.limit_ts
            THEN (SELECT max(id) FROM events WHERE ts = e.first_ts AND id > $1::bigint)::text END AS oversized_last_id,
       (extract(epoch FROM e.first_ts) * 1000)::float8 AS first_ts_ms
FROM edge e`;

/** Decides the next batch after `position`. */
export async function planBatch(source: pg.Client, position: number, maxEventsPerWrite: number): Promise<BatchPlan> {
  const result = await source.query<{
    source_max: string;
    limit_id: string;
    cut_id: string | null;
    oversized_last_id: string | null;
    first_ts_ms: number | null;
  }>(bounded({ name: 'slate-plan-batch', text: PLAN_SQL, values: [position, maxEventsPerWrite] }));
  const row = result.rows[0];
  const sourceMaxId = Number(row?.source_max ?? 0);
  const firstPendingTsMs = row?.first_ts_ms ?? undefined;
  const limitId = Number(row?.limit_id ?? 0);
  if (row === undefined || limitId <= position) {
    return { rowCount: 0, lastId: position, oversized: false, firstPendingTsMs: undefined, sourceMaxId };
  }
  if (row.oversized_last_id !== null) {
    const lastId = Number(row.oversized_last_id);
    return { rowCount: lastId - position, lastId, oversized: true, firstPendingTsMs, sourceMaxId };
  }
  const lastId = row.cut_id !== null ? Number(row.cut_id) : limitId;
  return { rowCount: lastId - position, lastId, oversized: false, firstPendingTsMs, sourceMaxId };
}

/**
 * The source rows `afterId+1 .. lastId` as a binary COPY stream. The ids are integers the
 * replicator computed itself (COPY takes no bind parameters).
 */
export function copyRowsOut(source: pg.Client, afterId: number, lastId: number): Readable {
  if (!Number.isSafeInteger(afterId) || !Number.isSafeInteger(lastId)) {
    throw new RangeError(`event ids out of range: ${afterId}..${lastId}`);
  }
  return source.query(
    copyTo(
      `COPY (SELECT id, ts, event FROM events WHERE id > ${afterId} AND id <= ${lastId} ORDER BY id) ` +
        'TO STDOUT (FORMAT binary)',
    ),
  );
}

/**
 * Every row after `afterId`, as a binary COPY stream, if there are at most `maxRows` of them
 * and their ids are `afterId+1 .. max(id)` without a gap; otherwise none (an empty stream:
 * header and trailer only). Both conditions are decided inside the statement, against the
 * same snapshot the rows come from, so a loop that is in sync copies a wake-up's rows in one
 * round trip, without planning first. All visible rows form whole source transactions (see
 * the top of this file), so "all of them" needs no cut by `ts`. A gap sends the loop to its
 * planned batches, whose row count reports it.
 */
export function copyAllPendingOut(source: pg.Client, afterId: number, maxRows: number): Readable {
  if (!Number.isSafeInteger(afterId) || !Number.isSafeInteger(maxRows)) {
    throw new RangeError(`event ids out of range: ${afterId} + ${maxRows}`);
  }
  const upTo = afterId + maxRows;
  return source.query(
    copyTo(
      // The literal upper bound also tells the planner how few rows to expect.
      `COPY (SELECT id, ts, event FROM events WHERE id > ${afterId} AND id <= ${upTo} AND id <= (` +
        `SELECT CASE WHEN m.source_max - ${afterId} <= ${maxRows} ` +
        `AND (SELECT count(*) FROM events WHERE id > ${afterId} AND id <= ${upTo}) = m.source_max - ${afterId} ` +
        `THEN m.source_max ELSE ${afterId} END ` +
        'FROM (SELECT coalesce(max(id), 0) AS source_max FROM events) m) ORDER BY id) TO STDOUT (FORMAT binary)',
    ),
  );
}

/** The table's max id (0 when empty): one index lookup, whatever the table's size. */
export async function eventsMaxId(client: pg.Client): Promise<number> {
  const result = await client.query<{ max_id: string | null }>('SELECT max(id)::text AS max_id FROM events');
  return Number(result.rows[0]?.max_id ?? 0);
}

/** The table's row count and max id (the count reads every row: for destinations at start-up). */
export async function eventsExtent(client: pg.Client): Promise<{ count: number; maxId: number }> {
  const result = await client.query<{ count: string; max_id: string | null }>(
    'SELECT count(*)::text AS count, max(id)::text AS max_id FROM events',
  );
  const row = result.rows[0];
  return { count: Number(row?.count ?? 0), maxId: Number(row?.max_id ?? 0) };
}
