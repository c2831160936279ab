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

/**
 * TLS to one database. `ca`, `cert` and `key` are file paths (PEM); the configuration loader
 * reads them at start-up, so a missing or unreadable file is a configuration problem.
 */
export interface TlsConfig {
  /** Verify the server's certificate chain and host name (Node's TLS default). */
  rejectUnauthorized: boolean;
  /** Certificate authorities to trust instead of the system's. */
  ca?: string | undefined;
  /** Client certificate and its private key, for `cert` authentication; both or neither. */
  cert?: string | undefined;
  key?: string | undefined;
}

/** Where one database is and how to log in to it. */
export interface DatabaseConfig {
  host: string;
  port: number;
  databaseName: string;
  user?: string | undefined;
  password?: string | undefined;
  /** TLS settings; absent or false: a plain connection. */
  ssl?: TlsConfig | false | undefined;
  /** Replaces `slate-replicator` at the start of every session's application_name. */
  applicationName?: string | undefined;
}

/** The status server: `/healthz`, `/readyz`, `/status`, `/metrics`. */
export interface HttpConfig {
  port: number;
  /** Address to listen on; `0.0.0.0` (every IPv4 interface) unless configured. */
  host: string;
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
  /** The status server; absent: no HTTP server. */
  http?: HttpConfig | undefined;
}

/** A short name for a database in logs and messages: `host:port/databaseName`. */
export function describeDatabase(db: DatabaseConfig): string {
  return `${db.host}:${db.port}/${db.databaseName}`;
}
