/**
 * `slate-replicator init-db` as users run it: a subprocess of the built CLI (dist/), exit
 * codes included, against the suite's server (and a cluster of its own where the test must
 * change the server).
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, onTestFinished, test } from 'vitest';
import { adminQuery, configFromUrl, quoteIdent, urlForDatabase } from './helpers/admin.js';
import { startCluster } from './helpers/cluster.js';
import { createTestDatabase, uniqueDatabaseName } from './helpers/databases.js';
import { findFreePort } from './helpers/embeddedServer.js';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with a clean libpq environment (no PGPASSWORD or PGUSER inherited) plus `env`. */
function runCli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('PG')));
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { ...base, ...env }, timeout: 60_000, maxBuffer: 10 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** The suite server's login as init-db options; the password travels in PGPASSWORD. */
function serverArgs(adminUrl = inject('adminUrl')): { args: string[]; env: Record<string, string> } {
  const server = configFromUrl(adminUrl);
  const args = ['--host', server.host, '--port', String(server.port)];
  if (server.user !== undefined) args.push('--user', server.user);
  return { args, env: server.password === undefined ? {} : { PGPASSWORD: server.password } };
}

/** A name for init-db to create, dropped after the test (and by the run's teardown if missed). */
function newDatabaseName(adminUrl = inject('adminUrl')): string {
  const name = uniqueDatabaseName();
  onTestFinished(() =>
    adminQuery(adminUrl, (admin) => admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`)).then(
      () => {},
      () => {},
    ),
  );
  return name;
}

async function inDatabase<T>(name: string, sql: string): Promise<T[]> {
  return adminQuery(urlForDatabase(inject('adminUrl'), name), async (client) => (await client.query(sql)).rows as T[]);
}

async function databaseExists(name: string, adminUrl = inject('adminUrl')): Promise<boolean> {
  return adminQuery(adminUrl, async (admin) => {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    return rowCount === 1;
  });
}

/** The schema objects of a database, by catalog, in a form easy to compare. */
const CATALOG_SQL = `
  SELECT
    (SELECT coalesce(json_agg(relname ORDER BY relname), '[]') FROM pg_class
       WHERE relnamespace = 'public'::regnamespace AND relkind = 'r') AS tables,
    (SELECT coalesce(json_agg(indexname ORDER BY indexname), '[]') FROM pg_indexes WHERE schemaname = 'public') AS indexes,
    (SELECT coalesce(json_agg(p.oid::regprocedure::text ORDER BY p.oid::regprocedure::text), '[]') FROM pg_proc p
       WHERE pronamespace = 'public'::regnamespace) AS functions,
    (SELECT coalesce(json_agg(tgname ORDER BY tgname), '[]') FROM pg_trigger
       WHERE tgrelid = 'events'::regclass AND NOT tgisinternal) AS triggers`;

const EVENTS_INDEXES = [
  'events_event_entityid',
  'events_event_entityname',
  'events_event_metadata_command',
  'events_event_operation',
  'events_event_propertyname',
  'events_pkey',
  'events_ts',
];

describe('init-db creates databases', () => {
  test('a source: events, id, both insert_events, the triggers; ready for insert_events', async () => {
    const name = newDatabaseName();
    const { args, env } = serverArgs();
    const result = await runCli(['init-db', ...args, '-n', name, '-t', 'source'], env);
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    expect(result.stdout).toContain(`created source database ${name}`);

    const [catalog] = await inDatabase(name, CATALOG_SQL);
    expect(catalog).toEqual({
      tables: ['events', 'id'],
      indexes: [...EVENTS_INDEXES, 'id_pkey'],
      functions: ['filter_sql_command()', 'insert_events(jsonb)', 'insert_events(text)', 'notify_event_insert()'],
      triggers: ['check_sql_command', 'notify_insert'],
    });
    expect(await inDatabase(name, 'SELECT id::text FROM id')).toEqual([{ id: '1' }]);
    expect(await inDatabase(name, `SELECT insert_events('[{"a":1},{"b":2}]'::jsonb) AS n`)).toEqual([{ n: 2 }]);
  });

  test('a destination with --type and --password: the events table only', async () => {
    const name = newDatabaseName();
    const server = configFromUrl(inject('adminUrl'));
    const args = ['--host', server.host, '--port', String(server.port)];
    if (server.user !== undefined) args.push('--user', server.user);
    if (server.password !== undefined) args.push('--password', server.password);
    const result = await runCli(['init-db', ...args, '--new-database', name, '--type', 'destination']);
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    expect(result.stdout).not.toContain(server.password ?? '\u0000');

    const [catalog] = await inDatabase(name, CATALOG_SQL);
    expect(catalog).toEqual({ tables: ['events'], indexes: EVENTS_INDEXES, functions: [], triggers: [] });
  });

  test('an existing database is refused with exit code 5 and left as it was', async () => {
    const existing = await createTestDatabase('destination');
    await existing.query(`INSERT INTO events VALUES (1, now(), '{"keep":true}')`);
    await existing.query('CREATE TABLE marker (x int)');
    const { args, env } = serverArgs();
    const result = await runCli(['init-db', ...args, '-n', existing.name, '-t', 'source'], env);
    expect(result.code).toBe(5);
    expect(result.stderr).toContain(`database ${existing.name} already exists`);
    const { rows } = await existing.query(
      `SELECT (SELECT json_agg(relname ORDER BY relname) FROM pg_class
                 WHERE relnamespace = 'public'::regnamespace AND relkind = 'r') AS tables,
              (SELECT json_agg(event) FROM events) AS events`,
    );
    expect(rows).toEqual([{ tables: ['events', 'marker'], events: [{ keep: true }] }]);
  });

  test('when the schema cannot be applied, the new database is dropped again (exit code 5)', async () => {
    const cluster = await startCluster();
    // A role that may create databases but whose sessions have no schema to create objects
    // in: CREATE DATABASE succeeds, applying the schema to the new database fails.
    await adminQuery(cluster.adminUrl, async (admin) => {
      await admin.query(`CREATE ROLE maker LOGIN CREATEDB PASSWORD 'maker-password'`);
      await admin.query(`ALTER ROLE maker SET search_path = ''`);
    });
    const name = 'half_made';
    const args = ['--host', '127.0.0.1', '--port', String(cluster.port), '--user', 'maker', '--password', 'maker-password'];
    const result = await runCli(['init-db', ...args, '-n', name, '-t', 'source']);
    expect(result.code).toBe(5);
    expect(result.stderr).toMatch(/applying the source schema to the new database half_made failed: no schema has been selected/);
    expect(result.stderr).toContain('dropped again');
    expect(await databaseExists(name, cluster.adminUrl)).toBe(false);
  });
});

describe('init-db refuses bad options before connecting (exit code 2)', () => {
  test.each([
    ['a name with a dash', ['-n', 'bad-name', '-t', 'source'], ['--new-database: "bad-name" is not a plain identifier']],
    ['a name starting with a digit', ['-n', '1events', '-t', 'source'], ['--new-database: "1events"']],
    ['a name of 64 characters', ['-n', 'a'.repeat(64), '-t', 'source'], ['--new-database: is 64 characters long']],
    ['an unknown type', ['-n', 'good', '-t', 'replica'], ['--table-type: must be source or destination, got "replica"']],
    ['--table-type and --type disagreeing', ['-n', 'good', '-t', 'source', '--type', 'destination'], ['disagree']],
    ['a port out of range', ['-n', 'good', '-t', 'source', '--port', '70000'], ['--port: must be an integer from 1 to 65535']],
    ['a timeout that is not a number', ['-n', 'good', '-t', 'source', '--connect-timeout', '5s'], ['--connect-timeout']],
    ['nothing at all', [], ['--new-database: required', '--table-type: required']],
    [
      'every problem at once',
      ['-n', '9lives', '-t', 'both', '--port', 'x', '--connect-timeout', '-1'],
      ['--new-database', '--table-type', '--port', '--connect-timeout'],
    ],
    ['an unknown option', ['-n', 'good', '-t', 'source', '--colour'], ["unknown option '--colour'"]],
  ])('%s', async (_name, args, messages) => {
    // A port where nothing listens: were anything connected to, the exit code would be 3.
    const port = await findFreePort();
    const hasPort = args.includes('--port');
    const result = await runCli(['init-db', ...(hasPort ? [] : ['--port', String(port)]), ...args]);
    expect(result.code).toBe(2);
    for (const message of messages) expect(result.stderr).toContain(message);
  });

  test('--dry-run with bad options also exits 2', async () => {
    const result = await runCli(['init-db', '-n', 'bad name', '-t', 'source', '--dry-run']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--new-database');
  });
});

describe('init-db --dry-run', () => {
  test('prints the plan with the password masked, connects to nothing, exits 0', async () => {
    const port = await findFreePort();
    const result = await runCli(
      ['init-db', '--host', '127.0.0.1', '--port', String(port), '--user', 'alice', '-n', 'plan_only', '-t', 'source', '--dry-run'],
      { PGPASSWORD: 'pg-secret-value' },
    );
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`connect to 127.0.0.1:${port}/postgres as alice, password ******** (from PGPASSWORD)`);
    expect(result.stdout).toContain('create the database plan_only (from template0)');
    expect(result.stdout).toContain('sql/events.sql, sql/source.sql');
    expect(result.stdout + result.stderr).not.toContain('pg-secret-value');
  });

  test('a password given by --password is masked too', async () => {
    const result = await runCli(['init-db', '--password', 'cli-secret-value', '-n', 'x', '-t', 'destination', '--dry-run']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('password ******** (from --password)');
    expect(result.stdout).toContain('sql/events.sql)');
    expect(result.stdout + result.stderr).not.toContain('cli-secret-value');
  });
});

describe('init-db reports the server as it finds it', () => {
  test('nothing listening: exit code 3', async () => {
    const port = await findFreePort();
    const result = await runCli(['init-db', '--host', '127.0.0.1', '--port', String(port), '-n', 'x', '-t', 'source', '--connect-timeout', '2000']);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(`cannot connect to 127.0.0.1:${port}/postgres`);
  });

  test('a wrong password: exit code 4, and the password is not shown', async () => {
    const cluster = await startCluster();
    const { args } = serverArgs(cluster.adminUrl);
    const result = await runCli(['init-db', ...args, '--password', 'not-the-password', '-n', 'x', '-t', 'source']);
    expect(result.code).toBe(4);
    expect(result.stderr).toContain('was refused');
    expect(result.stderr).not.toContain('not-the-password');
  });
});
