/**
 * Fingerprints of events computed inside PostgreSQL, so that two databases' rows can be
 * compared without shipping them: one md5 over a range of ids (built from the per-row
 * hashes of db/rowHash.ts, in id order), the per-row hashes of a short range, and the
 * per-column hashes of one row. Only hashes and counts cross the network.
 *
 * A range is always `(afterId, lastId]`: the ids greater than `afterId` and at most `lastId`.
 */
import type pg from 'pg';
import { ROW_HASH_SQL } from '../db/rowHash.js';

/** The rows of one range: how many, and one md5 over their row hashes in id order. */
export interface RangeHash {
  rows: number;
  /** Empty for a range without rows. */
  hash: string;
}

/** One row's fingerprint. */
export interface RowHash {
  id: number;
  hash: string;
}

/**
 * The longest a statement of verify may take. A range of 100,000 rows of ~500 bytes hashes
 * in ~0.4 s on a small server; this bound is only there so that a connection that died
 * silently ends the command instead of hanging it.
 */
export const HASH_QUERY_TIMEOUT_MS = 300_000;

const RANGE_HASH_SQL = `
SELECT count(*)::int AS rows, coalesce(md5(string_agg(${ROW_HASH_SQL}, '' ORDER BY id)), '') AS hash
FROM events WHERE id > $1 AND id <= $2`;

// ORDER BY events.id: a bare `id` would name the output column, which is text.
const ROW_HASHES_SQL = `
SELECT id::text AS id, ${ROW_HASH_SQL} AS hash
FROM events WHERE id > $1 AND id <= $2 ORDER BY events.id`;

// The same text forms as ROW_HASH_SQL, one column at a time.
const COLUMN_HASHES_SQL = `
SELECT md5(to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')) AS ts, md5(event::text) AS event
FROM events WHERE id = $1`;

const EXTENT_SQL = 'SELECT count(*)::text AS count, coalesce(min(id), 0)::text AS min_id, coalesce(max(id), 0)::text AS max_id FROM events';

// Does the source transaction of row $1 go on after it? (All rows of one source transaction
// share their ts, and consecutive rows with the same ts are one transaction.)
const INSIDE_TRANSACTION_SQL = `
SELECT EXISTS (SELECT 1 FROM events a JOIN events b ON b.id = a.id + 1 WHERE a.id = $1 AND a.ts = b.ts) AS inside`;

function query(text: string, values: unknown[]): pg.QueryConfig {
  return { text, values, query_timeout: HASH_QUERY_TIMEOUT_MS } as pg.QueryConfig;
}

export async function rangeHash(client: pg.ClientBase, afterId: number, lastId: number): Promise<RangeHash> {
  const result = await client.query<{ rows: number; hash: string }>(query(RANGE_HASH_SQL, [afterId, lastId]));
  const row = result.rows[0];
  return { rows: row?.rows ?? 0, hash: row?.hash ?? '' };
}

/** Per-row hashes of a short range, in id order (used once a difference is narrowed down). */
export async function rowHashes(client: pg.ClientBase, afterId: number, lastId: number): Promise<RowHash[]> {
  const result = await client.query<{ id: string; hash: string }>(query(ROW_HASHES_SQL, [afterId, lastId]));
  return result.rows.map((row) => ({ id: Number(row.id), hash: row.hash }));
}

/** md5 of one row's `ts` and `event` text, to say which of them differs. */
export async function columnHashes(client: pg.ClientBase, id: number): Promise<{ ts: string; event: string } | undefined> {
  const result = await client.query<{ ts: string; event: string }>(query(COLUMN_HASHES_SQL, [id]));
  return result.rows[0];
}

export interface EventsExtent {
  count: number;
  minId: number;
  maxId: number;
}

export async function eventsExtent(client: pg.ClientBase): Promise<EventsExtent> {
  const result = await client.query<{ count: string; min_id: string; max_id: string }>(query(EXTENT_SQL, []));
  const row = result.rows[0];
  return { count: Number(row?.count ?? 0), minId: Number(row?.min_id ?? 0), maxId: Number(row?.max_id ?? 0) };
}

/** True when row `id` and row `id + 1` belong to one source transaction (they share their ts). */
export async function endsInsideTransaction(source: pg.ClientBase, id: number): Promise<boolean> {
  const result = await source.query<{ inside: boolean }>(query(INSIDE_TRANSACTION_SQL, [id]));
  return result.rows[0]?.inside === true;
}
