/**
 * Rebuilding a lost source from a destination: every event of the destination is copied,
 * exactly, into a new and empty source database (made by `init-db --type source`), the
 * source's `id` table is set to the next id, and the copy is verified by the hashes verify
 * uses, all in one transaction on the new source. Either the new source ends up holding the
 * destination's events, verified, or it is left as it was.
 *
 * Order of things:
 *   from (the destination): REPEATABLE READ READ ONLY, so the extent and the rows copied come
 *     from one snapshot even if a replicator still writes into it;
 *   to (the new source): BEGIN; LOCK id (holds back any insert_events until commit);
 *     LOCK events; refuse unless events is empty and id holds the single row 1;
 *     COPY ... FROM STDIN (FORMAT binary) fed by the destination's COPY ... TO STDOUT;
 *     UPDATE id; compare every range's hash with the destination's; COMMIT.
 * The rows travel as PostgreSQL's binary COPY format, never as JavaScript values, so `ts`
 * keeps its microseconds and `event` its exact jsonb. The source's notify trigger fires once
 * for the COPY statement, at commit: a replicator already pointed at the new source wakes up.
 */
import type pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ConnectError, DivergenceError, ReplicatorError, SchemaError, coerceError } from '../errors.js';
import type { DatabaseConfig } from '../types.js';
import { closeQuietly, connect } from '../db/connect.js';
import { isTransient } from '../db/pgErrors.js';
import { checkDistinct, checkSource, inspectObjects } from '../db/schemaCheck.js';
import { stallGuard } from '../db/timeouts.js';
import { compareEvents } from '../verify/compareEvents.js';
import { eventsExtent } from '../verify/rangeHash.js';

export const RESTORE_APPLICATION_NAME = 'slate-replicator restore';

/** How long restore waits for the new source's locks: another session there means it is in use. */
const LOCK_TIMEOUT = '10s';
/** A connection that cannot even roll back within this is dropped (the server then rolls back). */
const ROLLBACK_TIMEOUT_MS = 5000;

export interface RestoreTarget {
  db: DatabaseConfig;
  /** How messages name it, e.g. `replicationDestinations[0] (host:5432/db)`. */
  label: string;
}

export interface RestoreInput {
  /** The destination the events are copied from. */
  from: RestoreTarget;
  /** The new, empty source they are copied into. */
  to: RestoreTarget;
  connectTimeoutMs: number;
}

export type RestorePhase = 'copying' | 'verifying';

export interface RestoreProgress {
  phase: RestorePhase;
  /** While copying: bytes of COPY data moved; while verifying: ids compared. */
  done: number;
  /** While verifying: ids to compare (the copy's size in bytes is not known beforehand). */
  total: number | undefined;
}

export interface RestoreOptions {
  onStart?: ((events: number) => void) | undefined;
  onProgress?: ((progress: RestoreProgress) => void) | undefined;
}

export interface RestoreResult {
  events: number;
  /** The `id` table's value after the restore: the id insert_events gives next. */
  nextId: number;
  copySeconds: number;
  verifySeconds: number;
}

/** A fault met after connecting, as an error that says where, and that nothing was committed. */
function duringRestore(input: RestoreInput, thrown: unknown): Error {
  const error = coerceError(thrown);
  if (error instanceof ReplicatorError) return error;
  if (isTransient(error)) {
    return new ConnectError(
      `restore lost its connection to ${input.from.label} or ${input.to.label}: ${error.message}. ` +
        'Nothing was committed on the new source; run restore again.',
      error,
    );
  }
  return error;
}

async function checkFrom(client: pg.Client, label: string): Promise<void> {
  const objects = await inspectObjects(client);
  if (!objects.hasEvents) throw new SchemaError(`${label} has no events table: there is nothing to restore from it.`);
  if (objects.eventsColumnProblems.length > 0) {
    throw new SchemaError(`${label} has an events table of another shape: ${objects.eventsColumnProblems.join('; ')}.`);
  }
}

/** Throws unless the new source is empty: no event, and `id` holding the single row 1. */
async function checkEmpty(client: pg.Client, label: string): Promise<void> {
  const result = await client.query<{ has_events: boolean; id_rows: string; next_id: string | null }>(
    `SELECT EXISTS (SELECT 1 FROM events) AS has_events, (SELECT count(*) FROM id)::text AS id_rows,
            (SELECT min(id) FROM id)::text AS next_id`,
  );
  const row = result.rows[0];
  const problems: string[] = [];
  if (row?.has_events === true) problems.push('its events table has rows');
  if (row?.id_rows !== '1' || row.next_id !== '1') {
    problems.push(`its id table holds ${row?.id_rows === '1' ? `the next id ${row.next_id}` : `${row?.id_rows ?? 0} rows`} instead of the single row 1`);
  }
  if (problems.length > 0) {
    throw new SchemaError(
      `${label} is not an empty source: ${problems.join(' and ')}. restore only fills a new, empty source ` +
        'made by `slate-replicator init-db --type source`; nothing was written.',
    );
  }
}

/** Counts the bytes going through, for progress. */
function byteCounter(onBytes: (bytes: number) => void): Transform {
  let bytes = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      onBytes(bytes);
      callback(null, chunk);
    },
  });
}

export async function restoreSource(input: RestoreInput, options: RestoreOptions = {}): Promise<RestoreResult> {
  const connectOptions = { connectTimeoutMs: input.connectTimeoutMs, applicationName: RESTORE_APPLICATION_NAME };
  const opened = await Promise.allSettled([connect(input.from.db, connectOptions), connect(input.to.db, connectOptions)]);
  const clients = opened.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  let from: pg.Client | undefined;
  let to: pg.Client | undefined;
  try {
    const failed = opened.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    [from, to] = clients as [pg.Client, pg.Client];
    await checkDistinct([
      { client: from, label: input.from.label, configPath: input.from.label },
      { client: to, label: input.to.label, configPath: input.to.label },
    ]);
    await checkSource({ client: to, label: input.to.label, configPath: input.to.label });
    await checkFrom(from, input.from.label);

    await from.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const extent = await eventsExtent(from);
    if (extent.count > 0 && (extent.minId !== 1 || extent.count !== extent.maxId)) {
      throw new DivergenceError(
        `${input.from.label} holds ${extent.count} events with ids ${extent.minId}..${extent.maxId}, not 1..max without ` +
          'gaps, so it is not a whole copy of a source; nothing was written. Restore from another destination.',
      );
    }

    await to.query('BEGIN');
    await to.query(`SET LOCAL lock_timeout = '${LOCK_TIMEOUT}'`);
    // insert_events takes this lock first: no application can add an event until commit.
    await to.query('LOCK TABLE id IN ACCESS EXCLUSIVE MODE');
    await to.query('LOCK TABLE events IN EXCLUSIVE MODE');
    await checkEmpty(to, input.to.label);
    options.onStart?.(extent.count);

    const copyStartedAt = performance.now();
    if (extent.count > 0) {
      const into = to.query(copyFrom('COPY events (id, ts, event) FROM STDIN (FORMAT binary)'));
      const out = from.query(
        copyTo(`COPY (SELECT id, ts, event FROM events WHERE id <= ${extent.maxId} ORDER BY id) TO STDOUT (FORMAT binary)`),
      );
      const guard = stallGuard();
      const counter = byteCounter((bytes) => options.onProgress?.({ phase: 'copying', done: bytes, total: undefined }));
      try {
        await Promise.race([pipeline(out, guard.stream, counter, into), guard.stalled]);
      } finally {
        guard.clear();
      }
      if (into.rowCount !== extent.count) {
        throw new DivergenceError(`copied ${into.rowCount} events where ${extent.count} were expected; nothing was committed.`);
      }
      await to.query('UPDATE id SET id = $1', [extent.maxId + 1]);
    }
    const copySeconds = (performance.now() - copyStartedAt) / 1000;

    const verifyStartedAt = performance.now();
    const comparison = await compareEvents(from, to, {
      upToId: extent.maxId,
      onProgress: (comparedUpToId) => options.onProgress?.({ phase: 'verifying', done: comparedUpToId, total: extent.maxId }),
    });
    const copied = await eventsExtent(to);
    if (comparison.difference !== undefined || copied.count !== extent.count || copied.maxId !== extent.maxId) {
      throw new DivergenceError(
        `the copy in ${input.to.label} does not equal ${input.from.label}` +
          `${comparison.difference === undefined ? '' : ` at id ${comparison.difference.id}: ${comparison.difference.detail}`}; ` +
          'it was rolled back and nothing was written.',
      );
    }
    const verifySeconds = (performance.now() - verifyStartedAt) / 1000;

    await to.query('COMMIT');
    await from.query('COMMIT');
    return { events: extent.count, nextId: extent.maxId + 1, copySeconds, verifySeconds };
  } catch (thrown) {
    // Rolled back, never committed: the new source is left as it was.
    await to?.query({ text: 'ROLLBACK', query_timeout: ROLLBACK_TIMEOUT_MS } as pg.QueryConfig).catch(() => {});
    throw duringRestore(input, thrown);
  } finally {
    await Promise.all(clients.map((client) => closeQuietly(client)));
  }
}
