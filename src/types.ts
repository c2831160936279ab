/**
 * Shared types of slate-replicator.
 *
 * Terminology
 * - event: one row of an `events` table: `id bigint`, `ts timestamptz`, `event jsonb`.
 * - source: the one database whose `events` table the application appends to through
 *   `insert_events`; it also holds the `id` table and the notify/immutability triggers.
 * - destination: a database with the same `events` table and none of the source-only
 *   objects; the replicator keeps its rows equal to the source's.
 * - position: a destination's `max(id)`. Everything at or below it has been copied; it is
 *   read from the destination's own data, never stored elsewhere.
 * - batch: the rows one destination write transaction adds; at most `maxEventsPerWrite`,
 *   always whole source transactions (cut where `ts` changes), except that one source
 *   transaction larger than that is written as several statements in one transaction.
 * - wake-up: a hint that the source has new rows (a notification, a reconnect, the safety
 *   poll). A wake-up never carries data; the loops read what is missing themselves.
 */

/** Where one database is and how to log in to it. */
export interface DatabaseConfig {
  host: string;
  port: number;
  databaseName: string;
  user?: string | undefined;
  password?: string | undefined;
}

/** The resolved configuration the replicator runs with (every default applied). */
export interface ReplicatorConfig {
  eventSource: DatabaseConfig;
  replicationDestinations: DatabaseConfig[];
  /** Most rows one destination write transaction adds (a larger source transaction excepted). */
  maxEventsPerWrite: number;
  /** Milliseconds to wait for a database connection (legacy key without a unit). */
  connectTimeout: number;
  /** Milliseconds between safety catch-ups that run even when no notification arrives. */
  pollIntervalMs: number;
}

/** A short name for a database in logs and messages: `host:port/databaseName`. */
export function describeDatabase(db: DatabaseConfig): string {
  return `${db.host}:${db.port}/${db.databaseName}`;
}
