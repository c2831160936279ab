/**
 * A fresh database per test on the suite's server (see test/setup/globalSetup.ts):
 *
 *   const source = await createTestDatabase('source');
 *   await source.query(`SELECT insert_events($1::jsonb)`, [JSON.stringify([{ a: 1 }])]);
 *
 * 'source' and 'destination' are clones of templates built once per run from sql/
 * (CREATE DATABASE ... TEMPLATE, a few tens of milliseconds); 'empty' has no table at all;
 * createLegacySourceDatabase() builds a source the way the old init-slate-db did.
 *
 * Called inside a test (or a beforeEach), the database is dropped when the test finishes,
 * with every client opened through it. Called elsewhere (a beforeAll), call drop() yourself;
 * whatever is left is dropped when the run ends.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { inject, onTestFinished } from 'vitest';
import type { DatabaseKind } from '../../src/db/schema.js';
import type { DatabaseConfig } from '../../src/types.js';
import type { ServerOrigin } from '../setup/providedContext.js';
import { adminQuery, configFromUrl, quoteIdent, urlForDatabase } from './admin.js';

export type TestDatabaseKind = DatabaseKind | 'empty';

export interface TestDatabase {
  readonly name: string;
  readonly kind: TestDatabaseKind | 'legacy-source';
  /** Where the database is, in the shape the replicator's configuration uses. */
  readonly config: DatabaseConfig;
  /** A connection URL with the same login. */
  readonly url: string;
  /** One query on a client kept open for this database (opened on first use). */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
  /** A new connected client of its own (for transactions, LISTEN, ...); closed by drop(). */
  connect(): Promise<pg.Client>;
  /** Closes the clients and drops the database (WITH (FORCE): other sessions are ended). Idempotent. */
  drop(): Promise<void>;
}

/** `slt_<runId>_<random>`: unique, and recognisable as this run's by the global teardown. */
export function uniqueDatabaseName(): string {
  return `slt_${inject('runId')}_${randomBytes(5).toString('hex')}`;
}

/** Where the suite's server came from: TEST_DATABASE_URL, testcontainers or embedded. */
export function serverOrigin(): ServerOrigin {
  return inject('serverOrigin');
}

/** The suite server's superuser URL on its maintenance database. */
export function adminUrl(): string {
  return inject('adminUrl');
}

/** Drops the database when the current test finishes; outside a test the caller owns it. */
export function dropAfterTest(resource: { drop(): Promise<void> } | { destroy(): Promise<void> }): void {
  const release = 'drop' in resource ? () => resource.drop() : () => resource.destroy();
  try {
    onTestFinished(release);
  } catch {
    // Not inside a test: the caller releases it (and the run's teardown catches leftovers).
  }
}

/**
 * Creates `name` on the server of `serverAdminUrl` with `createSql` (a CREATE DATABASE
 * statement), then runs `prepare` on a client connected to it. If `prepare` fails, the
 * database is dropped again. No cleanup is registered: callers decide.
 */
export async function createDatabaseOn(
  serverAdminUrl: string,
  name: string,
  kind: TestDatabase['kind'],
  createSql: string,
  prepare?: (client: pg.Client) => Promise<void>,
): Promise<TestDatabase> {
  await adminQuery(serverAdminUrl, (admin) => admin.query(createSql));
  const url = urlForDatabase(serverAdminUrl, name);
  const clients: pg.Client[] = [];
  let shared: Promise<pg.Client> | undefined;
  let dropped = false;

  const connect = async (): Promise<pg.Client> => {
    if (dropped) throw new Error(`test database ${name} was dropped`);
    const client = new pg.Client({ connectionString: url, application_name: 'slate-test' });
    // A server stop or a forced drop ends sessions; an unhandled 'error' would end the run.
    client.on('error', () => {});
    clients.push(client);
    await client.connect();
    return client;
  };

  const db: TestDatabase = {
    name,
    kind,
    config: configFromUrl(url),
    url,
    async query<R extends pg.QueryResultRow>(sql: string, params?: unknown[]) {
      shared ??= connect();
      const client = await shared;
      return client.query<R>(sql, params);
    },
    connect,
    async drop() {
      if (dropped) return;
      dropped = true;
      await Promise.all(clients.map((client) => client.end().catch(() => {})));
      await adminQuery(serverAdminUrl, (admin) =>
        admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`),
      );
    },
  };

  if (prepare) {
    try {
      const client = await connect();
      try {
        await prepare(client);
      } finally {
        await client.end().catch(() => {});
      }
    } catch (error) {
      await db.drop().catch(() => {});
      throw error;
    }
  }
  return db;
}

/**
 * `CREATE DATABASE name TEMPLATE template`, copying files rather than WAL-logging every
 * block where the server knows both ways (PG 15+): for a small template that is several
 * times faster (~25 ms instead of ~190 ms on an embedded server).
 */
export function createDatabaseSql(name: string, template: string, serverVersionNum: number): string {
  const strategy = serverVersionNum >= 150000 ? ' STRATEGY FILE_COPY' : '';
  return `CREATE DATABASE ${quoteIdent(name)} TEMPLATE ${quoteIdent(template)}${strategy}`;
}

/** A new database of `kind` on the suite's server, dropped after the current test. */
export async function createTestDatabase(kind: TestDatabaseKind = 'source'): Promise<TestDatabase> {
  const name = uniqueDatabaseName();
  const template = kind === 'empty' ? 'template0' : inject('templates')[kind];
  const db = await createDatabaseOn(
    adminUrl(),
    name,
    kind,
    createDatabaseSql(name, template, inject('serverVersionNum')),
  );
  dropAfterTest(db);
  return db;
}

/** The SQL of test/fixtures/legacy-source.sql: a source as the old init-slate-db made it. */
export async function legacySourceSql(): Promise<string> {
  return readFile(new URL('../fixtures/legacy-source.sql', import.meta.url), 'utf8');
}

/**
 * A source built as the old init-slate-db built it: per-row notify trigger with the event in
 * the payload, its insert_events(text), filter_sql_command, and restore_events (which
 * references dblink; its body compiles without the extension). Dropped after the test.
 */
export async function createLegacySourceDatabase(): Promise<TestDatabase> {
  const name = uniqueDatabaseName();
  const sql = await legacySourceSql();
  const db = await createDatabaseOn(
    adminUrl(),
    name,
    'legacy-source',
    createDatabaseSql(name, 'template0', inject('serverVersionNum')),
    async (client) => {
      await client.query('BEGIN');
      await client.query(sql);
      await client.query('COMMIT');
    },
  );
  dropAfterTest(db);
  return db;
}
