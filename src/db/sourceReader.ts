/**
 * Reading the source: where the next batch ends, and the batch's rows as a binary COPY
 * stream that is piped into a destination untouched (no row is ever turned into JavaScript
 * values, so `ts` keeps its microseconds and `event` its exact jsonb).
 *
 * Why batches can be cut by `ts` alone: `insert_events` holds the `id` table's lock until
 * commit, so ids become visible in id order and all rows of one source transaction share
 * `transaction_timestamp()`. Every visible row therefore belongs to a transaction that is
 * wholly visible, and a change of `ts` between id n and n+1 is a transaction boundary.
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

/** A gap in the source's ids: a row was inserted behind `insert_events`'s back. */
export interface SourceGap {
  afterId: number;
  nextId: number | undefined;
}

// One index range scan over at most maxEventsPerWrite + 1 rows after the position: the
// extra row tells whether the last row in range ends its transaction.
const PLAN_SQL = `
WITH w AS (
  SELECT id, ts, lead(ts) OVER (ORDER BY id) AS next_ts
  FROM events
  WHERE id > $1 AND id <= $1 + $2 + 1
)
SELECT count(*)::int AS seen,
       min(id)::text AS first_id,
       max(id)::text AS last_seen_id,
       max(id) FILTER (WHERE id <= $1 + $2 AND (next_ts IS NULL OR next_ts <> ts))::text AS cut_id,
       (extract(epoch FROM min(ts)) * 1000)::float8 AS first_ts_ms,
       (SELECT max(id) FROM events)::text AS source_max_id
FROM w`;

// The last row of the transaction that starts right after the position (all its rows share its ts).
const TRANSACTION_END_SQL = `
SELECT max(id)::text AS last_id, count(*)::int AS n
FROM events
WHERE ts = (SELECT ts FROM events WHERE id = $1 + 1) AND id > $1`;

function toId(value: string | null): number | undefined {
  return value === null ? undefined : Number(value);
}

/**
 * Decides the next batch after `position`. Throws nothing for an empty source; returns a
 * `SourceGap` when the ids after the position are not consecutive.
 */
export async function planBatch(
  source: pg.Client,
  position: number,
  maxEventsPerWrite: number,
): Promise<BatchPlan | SourceGap> {
  const result = await source.query<{
    seen: number;
    first_id: string | null;
    last_seen_id: string | null;
    cut_id: string | null;
    first_ts_ms: number | null;
    source_max_id: string | null;
  }>(bounded({ name: 'slate-plan-batch', text: PLAN_SQL, values: [position, maxEventsPerWrite] }));
  const row = result.rows[0];
  const sourceMaxId = toId(row?.source_max_id ?? null) ?? 0;
  if (row === undefined || row.seen === 0) {
    return { rowCount: 0, lastId: position, oversized: false, firstPendingTsMs: undefined, sourceMaxId };
  }
  const firstId = toId(row.first_id);
  const lastSeenId = toId(row.last_seen_id) ?? position;
  if (firstId !== position + 1 || lastSeenId - position !== row.seen) {
    return { afterId: position, nextId: firstId };
  }
  const firstPendingTsMs = row.first_ts_ms ?? undefined;
  const cutId = toId(row.cut_id);
  if (cutId !== undefined) {
    return { rowCount: cutId - position, lastId: cutId, oversized: false, firstPendingTsMs, sourceMaxId };
  }
  const end = await source.query<{ last_id: string | null; n: number }>(
    bounded({ name: 'slate-transaction-end', text: TRANSACTION_END_SQL, values: [position] }),
  );
  const lastId = toId(end.rows[0]?.last_id ?? null) ?? position;
  const n = end.rows[0]?.n ?? 0;
  if (lastId - position !== n) return { afterId: position, nextId: firstId };
  return { rowCount: n, lastId, oversized: true, firstPendingTsMs, sourceMaxId };
}

export function isSourceGap(plan: BatchPlan | SourceGap): plan is SourceGap {
  return 'afterId' in plan;
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

/** The source's row count and max id, for start-up checks and logs. */
export async function eventsExtent(client: pg.Client): Promise<{ count: number; maxId: number }> {
  const result = await client.query<{ count: string; max_id: string | null }>(
    'SELECT count(*)::text AS count, max(id)::text AS max_id FROM events',
  );
  const row = result.rows[0];
  return { count: Number(row?.count ?? 0), maxId: Number(row?.max_id ?? 0) };
}
