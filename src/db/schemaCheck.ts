/**
 * Start-up checks: the source has the source-only objects, each destination has an `events`
 * table and none of them, no two entries are the same database, and each destination's rows
 * are a prefix of the source's. Every problem is described with the database it concerns,
 * what was found, what was expected and what to do. Nothing here writes.
 */
import type pg from 'pg';
import { ConfigError, DivergenceError, SchemaError } from '../errors.js';
import { eventsExtent, eventsMaxId } from './sourceReader.js';
import { ROW_HASH_SQL } from './rowHash.js';

/** What the catalogs say about one database's slate objects. */
export interface SlateObjects {
  hasEvents: boolean;
  /** Problems with the events table's columns, empty when they are as expected. */
  eventsColumnProblems: string[];
  /** Source-only objects present: `id` table, `insert_events` function, triggers. */
  sourceObjects: string[];
}

const SOURCE_ONLY_OBJECTS = ['table id', 'function insert_events', 'trigger notify_insert', 'trigger check_sql_command'];
const EXPECTED_COLUMNS: Record<string, string> = { id: 'bigint', ts: 'timestamp with time zone', event: 'jsonb' };

// Looked up in the catalogs of the connection's search_path, the way unqualified names in
// insert_events and the replicator's own statements resolve.
const OBJECTS_SQL = `
SELECT to_regclass('events') IS NOT NULL AS has_events,
       to_regclass('id') IS NOT NULL AS has_id,
       EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'insert_events'
               AND pg_function_is_visible(oid)) AS has_insert_events,
       EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = to_regclass('events')
               AND tgname = 'notify_insert') AS has_notify_insert,
       EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = to_regclass('events')
               AND tgname = 'check_sql_command') AS has_check_sql_command,
       EXISTS (SELECT 1 FROM pg_index i
               JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
               WHERE i.indrelid = to_regclass('events') AND i.indisunique AND i.indisvalid
                 AND i.indimmediate AND i.indnkeyatts = 1 AND i.indpred IS NULL
                 AND a.attname = 'id') AS has_unique_id`;

const COLUMNS_SQL = `
SELECT attname AS name, format_type(atttypid, atttypmod) AS type,
       attnotnull AS not_null, atthasdef AS has_default
FROM pg_attribute
WHERE attrelid = to_regclass('events') AND attnum > 0 AND NOT attisdropped`;

export async function inspectObjects(client: pg.Client): Promise<SlateObjects> {
  const objects = (await client.query(OBJECTS_SQL)).rows[0] as Record<string, boolean>;
  const present = [objects.has_id, objects.has_insert_events, objects.has_notify_insert, objects.has_check_sql_command];
  const sourceObjects = SOURCE_ONLY_OBJECTS.filter((_, i) => present[i]);
  const eventsColumnProblems: string[] = [];
  if (objects.has_events) {
    const columns = (await client.query(COLUMNS_SQL)).rows as Array<{
      name: string;
      type: string;
      not_null: boolean;
      has_default: boolean;
    }>;
    for (const [name, type] of Object.entries(EXPECTED_COLUMNS)) {
      const column = columns.find((c) => c.name === name);
      if (column === undefined) eventsColumnProblems.push(`column ${name} ${type} is missing`);
      else if (column.type !== type) eventsColumnProblems.push(`column ${name} is ${column.type}, expected ${type}`);
    }
    for (const column of columns) {
      if (!(column.name in EXPECTED_COLUMNS) && column.not_null && !column.has_default) {
        eventsColumnProblems.push(`extra column ${column.name} is NOT NULL without a default, so copied rows cannot be inserted`);
      }
    }
    // What makes a row written twice fail instead of being duplicated (see destinationWriter.ts).
    if (!objects.has_unique_id) eventsColumnProblems.push('id has no primary key (or unique index)');
  }
  return { hasEvents: objects.has_events ?? false, eventsColumnProblems, sourceObjects };
}

export interface CheckedDatabase {
  /** How messages name this database: `eventSource (host:port/db)`. */
  label: string;
  /** The config path of this entry, for messages about the configuration. */
  configPath: string;
  client: pg.Client;
}

/** Identifies a database regardless of the host name used to reach it. */
async function databaseIdentity(client: pg.Client): Promise<string> {
  const result = await client.query<{ identity: string }>(
    `SELECT pg_postmaster_start_time()::text || '/' || d.oid::text AS identity
     FROM pg_database d WHERE d.datname = current_database()`,
  );
  return result.rows[0]?.identity ?? '';
}

export async function checkDistinct(databases: CheckedDatabase[]): Promise<void> {
  const seen = new Map<string, CheckedDatabase>();
  const problems = [];
  for (const db of databases) {
    const identity = await databaseIdentity(db.client);
    const first = seen.get(identity);
    if (first !== undefined) {
      problems.push({
        path: db.configPath,
        message: `is the same database as ${first.configPath} (reached under another name); every entry must be a different database`,
      });
    } else {
      seen.set(identity, db);
    }
  }
  if (problems.length > 0) throw new ConfigError('the configuration', problems);
}

export async function checkSource(source: CheckedDatabase): Promise<void> {
  const objects = await inspectObjects(source.client);
  const problems: string[] = [];
  if (!objects.hasEvents) problems.push('table events is missing');
  problems.push(...objects.eventsColumnProblems);
  const missing = SOURCE_ONLY_OBJECTS.filter((name) => !objects.sourceObjects.includes(name));
  if (missing.length > 0) problems.push(`source objects missing: ${missing.join(', ')}`);
  if (problems.length > 0) {
    throw new SchemaError(
      `${source.label} is not a slate source database: ${problems.join('; ')}. ` +
        'Expected an events table, the id table, insert_events and the notify_insert and check_sql_command ' +
        'triggers. Create the source with `slate-replicator init-db --type source`, or point eventSource at it.',
    );
  }
}

export async function checkDestinationSchema(destination: CheckedDatabase): Promise<void> {
  const objects = await inspectObjects(destination.client);
  if (objects.sourceObjects.length > 0) {
    throw new SchemaError(
      `${destination.label} looks like a source database, not a destination: it has ${objects.sourceObjects.join(', ')}. ` +
        'The replicator never writes into a source. Point this entry at a database made with ' +
        '`slate-replicator init-db --type destination`.',
    );
  }
  if (!objects.hasEvents) {
    throw new SchemaError(
      `${destination.label} has no events table. Create the destination with ` +
        '`slate-replicator init-db --type destination`, or point this entry at the right database.',
    );
  }
  if (objects.eventsColumnProblems.length > 0) {
    throw new SchemaError(
      `${destination.label} has an events table of another shape: ${objects.eventsColumnProblems.join('; ')}. ` +
        'Expected (id bigint PRIMARY KEY, ts timestamptz, event jsonb).',
    );
  }
}

async function firstEventHash(client: pg.Client): Promise<{ id: number; hash: string } | undefined> {
  const result = await client.query<{ id: string; hash: string }>(
    `SELECT id::text AS id, ${ROW_HASH_SQL} AS hash FROM events ORDER BY id LIMIT 1`,
  );
  const row = result.rows[0];
  return row === undefined ? undefined : { id: Number(row.id), hash: row.hash };
}

export interface Extent {
  count: number;
  maxId: number;
}

/**
 * Checks that a destination's rows can be a prefix of the source's: the same first event,
 * no higher id than the source, and ids 1..max without gaps. Only the destination's rows are
 * counted; of the source, one index lookup reads the max id.
 *
 * The destination's extent is read before the source's: another replicator (the one that
 * writes while this one starts as a standby) may commit rows into the destination at any
 * moment, but only rows the source committed earlier, so a source max id read afterwards
 * covers them.
 */
export async function checkDestinationData(destination: CheckedDatabase, source: CheckedDatabase): Promise<Extent> {
  const extent = await eventsExtent(destination.client);
  if (extent.count === 0) return extent;
  const sourceMaxId = await eventsMaxId(source.client);
  const restart = 'The destination must be a copy of the source: empty it (or recreate it with init-db) and restart.';
  const [destFirst, sourceFirst] = await Promise.all([firstEventHash(destination.client), firstEventHash(source.client)]);
  if (sourceFirst === undefined || destFirst === undefined || destFirst.id !== sourceFirst.id || destFirst.hash !== sourceFirst.hash) {
    throw new DivergenceError(
      `${destination.label} does not start with the source's first event ` +
        `(destination first id ${destFirst?.id ?? 'none'}, source first id ${sourceFirst?.id ?? 'none'}` +
        `${destFirst?.id === sourceFirst?.id ? ', rows differ' : ''}). ${restart}`,
    );
  }
  if (extent.maxId > sourceMaxId) {
    throw new DivergenceError(
      `${destination.label} is ahead of the source: it has ${extent.count} rows up to id ${extent.maxId}, ` +
        `the source's max id is ${sourceMaxId}. Is eventSource the right database? ${restart}`,
    );
  }
  if (extent.count !== extent.maxId) {
    throw new DivergenceError(
      `${destination.label} has gaps: ${extent.count} rows but max id ${extent.maxId} (ids must be 1..max). ${restart}`,
    );
  }
  return extent;
}
