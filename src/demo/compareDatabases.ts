/**
 * The demo's final check: each destination's events against the source's, by row count,
 * max id and one md5 over every row (db/rowHash.ts), computed inside PostgreSQL.
 */
import { closeQuietly, connect } from '../db/connect.js';
import { EVENTS_HASH_SQL } from '../db/rowHash.js';
import type { DatabaseConfig } from '../types.js';

const CONNECT_TIMEOUT_MS = 10_000;

export interface EventsFingerprint {
  databaseName: string;
  rows: number;
  maxId: number;
  hash: string;
}

export interface Comparison {
  source: EventsFingerprint;
  destinations: Array<EventsFingerprint & { equal: boolean }>;
}

export async function fingerprint(db: DatabaseConfig): Promise<EventsFingerprint> {
  const client = await connect(db, { connectTimeoutMs: CONNECT_TIMEOUT_MS, applicationName: 'slate-replicator demo' });
  try {
    // One snapshot for the count and the hash.
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const extent = await client.query<{ rows: string; max_id: string }>(
      'SELECT count(*)::text AS rows, coalesce(max(id), 0)::text AS max_id FROM events',
    );
    const hashed = await client.query<{ hash: string }>(EVENTS_HASH_SQL);
    await client.query('COMMIT');
    return {
      databaseName: db.databaseName,
      rows: Number(extent.rows[0]?.rows ?? 0),
      maxId: Number(extent.rows[0]?.max_id ?? 0),
      hash: hashed.rows[0]?.hash ?? '',
    };
  } finally {
    await closeQuietly(client);
  }
}

export async function compareDatabases(source: DatabaseConfig, destinations: DatabaseConfig[]): Promise<Comparison> {
  const [sourcePrint, destinationPrints] = await Promise.all([
    fingerprint(source),
    Promise.all(destinations.map((db) => fingerprint(db))),
  ]);
  return {
    source: sourcePrint,
    destinations: destinationPrints.map((print) => ({
      ...print,
      equal: print.rows === sourcePrint.rows && print.maxId === sourcePrint.maxId && print.hash === sourcePrint.hash,
    })),
  };
}
