/**
 * One-shot positions for `slate-replicator status`: each database's last event (id and ts,
 * to the microsecond), read over the primary key, and how far each destination is behind
 * the source. Read-only; nothing is locked.
 */
import type pg from 'pg';
import { closeQuietly, connect } from '../db/connect.js';
import { bounded } from '../db/timeouts.js';
import { SchemaError } from '../errors.js';
import type { DatabaseConfig } from '../types.js';
import { describeDatabase } from '../types.js';

/** The last event of one `events` table; null fields when the table is empty. */
export interface TableEnd {
  maxId: number;
  /** ts of the row with the highest id, ISO 8601 in UTC with microseconds. */
  lastTs: string | null;
  lastTsMicros: bigint | null;
  /** ts of the row with the lowest id (read on the source only). */
  firstTsMicros: bigint | null;
}

export type DestinationState = 'in-sync' | 'lagging' | 'ahead';

export interface DestinationLag {
  lagEvents: number;
  lagSeconds: number;
  state: DestinationState;
}

const HAS_EVENTS_SQL = `SELECT to_regclass('events') IS NOT NULL AS has_events`;

function endSql(order: 'ASC' | 'DESC'): string {
  // ORDER BY events.id: the output column `id` is text, and would sort as text.
  return `SELECT id::text AS id,
       to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS ts,
       (extract(epoch FROM ts) * 1000000)::bigint::text AS ts_micros
FROM events ORDER BY events.id ${order} LIMIT 1`;
}

interface EndRow {
  id: string;
  ts: string;
  ts_micros: string;
}

/** Reads the last event (and, for the source, the first) of `db`'s events table. */
export async function readTableEnd(client: pg.Client, db: DatabaseConfig, withFirst: boolean): Promise<TableEnd> {
  const check = await client.query<{ has_events: boolean }>(bounded({ text: HAS_EVENTS_SQL }));
  if (check.rows[0]?.has_events !== true) {
    throw new SchemaError(`${describeDatabase(db)} has no events table. Point the entry at a slate database, or create it with init-db.`);
  }
  const last = (await client.query<EndRow>(bounded({ text: endSql('DESC') }))).rows[0];
  const first = withFirst ? (await client.query<EndRow>(bounded({ text: endSql('ASC') }))).rows[0] : undefined;
  return {
    maxId: last === undefined ? 0 : Number(last.id),
    lastTs: last?.ts ?? null,
    lastTsMicros: last === undefined ? null : BigInt(last.ts_micros),
    firstTsMicros: first === undefined ? null : BigInt(first.ts_micros),
  };
}

/** Connects to `db`, reads its table end, and disconnects. */
export async function fetchTableEnd(db: DatabaseConfig, connectTimeoutMs: number, withFirst: boolean): Promise<TableEnd> {
  let client: pg.Client | undefined;
  try {
    client = await connect(db, { connectTimeoutMs, applicationName: 'slate-replicator status' });
    return await readTableEnd(client, db, withFirst);
  } finally {
    await closeQuietly(client);
  }
}

/**
 * How far `destination` is behind `source`: in events, the difference of max ids; in
 * seconds, the source's newest ts minus the ts of the destination's last row (for an empty
 * destination, of the source's first row), 0 when in sync.
 */
export function lagBetween(source: TableEnd, destination: TableEnd): DestinationLag {
  if (destination.maxId > source.maxId) return { lagEvents: 0, lagSeconds: 0, state: 'ahead' };
  if (destination.maxId === source.maxId) return { lagEvents: 0, lagSeconds: 0, state: 'in-sync' };
  const since = destination.lastTsMicros ?? source.firstTsMicros;
  const micros = source.lastTsMicros === null || since === null ? 0n : source.lastTsMicros - since;
  return {
    lagEvents: source.maxId - destination.maxId,
    lagSeconds: micros > 0n ? Number(micros) / 1e6 : 0,
    state: 'lagging',
  };
}
