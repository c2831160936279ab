/**
 * Lag per row: the moment a row became visible on the destination minus its source `ts`.
 *
 * An AFTER INSERT row trigger on the destination writes `clock_timestamp()` next to the
 * row's id and ts into a side table. It is ENABLE ALWAYS, so it fires for rows applied by
 * logical replication too (the apply worker runs with session_replication_role = replica).
 * clock_timestamp() in a row trigger is read just before the destination's commit, not at
 * it: an approximation of "visible", the same for every method. The side table is named
 * with its schema because the apply worker runs triggers with an empty search_path.
 *
 * The source `ts` is `transaction_timestamp()` of the source transaction, so a row's lag
 * also holds the time its own source transaction took to commit, for every method alike.
 */

export const LAG_TRIGGER_SQL = `
CREATE TABLE bench_row_lag (
    id         bigint      NOT NULL,
    ts         timestamptz NOT NULL,
    visible_at timestamptz NOT NULL
);
CREATE FUNCTION bench_record_lag() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.bench_row_lag (id, ts, visible_at) VALUES (NEW.id, NEW.ts, clock_timestamp());
    RETURN NULL;
END;
$$;
CREATE TRIGGER bench_record_lag AFTER INSERT ON events FOR EACH ROW EXECUTE FUNCTION bench_record_lag();
ALTER TABLE events ENABLE ALWAYS TRIGGER bench_record_lag;
`;

const LAG_STATS_SQL = `
WITH l AS (SELECT id, extract(epoch FROM visible_at - ts) * 1000 AS lag_ms FROM bench_row_lag)
SELECT count(*)::int AS rows,
       count(DISTINCT id)::int AS distinct_ids,
       count(DISTINCT id) FILTER (WHERE id BETWEEN 1 AND $1)::int AS ids_in_range,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY lag_ms) AS p50_ms,
       percentile_cont(0.99) WITHIN GROUP (ORDER BY lag_ms) AS p99_ms,
       max(lag_ms)::float8 AS max_ms
FROM l`;

/**
 * The lag figures of a destination whose source holds ids 1..`sourceMaxId`: percentiles in
 * milliseconds, and rows missing (an id the trigger never saw) or duplicated (seen twice).
 */
export async function lagStats(client, sourceMaxId) {
  const row = (await client.query(LAG_STATS_SQL, [sourceMaxId])).rows[0];
  return {
    rows: row.rows,
    p50Ms: Number(row.p50_ms),
    p99Ms: Number(row.p99_ms),
    maxMs: Number(row.max_ms),
    missing: sourceMaxId - row.ids_in_range,
    duplicated: row.rows - row.distinct_ids,
  };
}
