/**
 * SQL that fingerprints events inside PostgreSQL, so two databases' rows can be compared
 * without shipping them. The text form is fixed by hand (UTC, microseconds, jsonb's own
 * canonical text) so it does not depend on either server's TimeZone or DateStyle.
 */

/** md5 of one row `(id, ts, event)`, as PostgreSQL compares them (ts to the microsecond). */
export const ROW_HASH_SQL =
  `md5(id::text || '|' || to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '|' || event::text)`;

/** One md5 over every row's hash in id order: equal for two tables exactly when their rows are. */
export const EVENTS_HASH_SQL = `SELECT coalesce(md5(string_agg(${ROW_HASH_SQL}, '' ORDER BY id)), '') AS hash FROM events`;
