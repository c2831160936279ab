/**
 * `slate-replicator init-db`: creates a new source or destination database with the schema
 * of sql/, in place of the old init-slate-db (same options; `--type` is accepted beside
 * the legacy `--table-type`).
 *
 * It connects to the server's `postgres` maintenance database, refuses a database that
 * already exists, creates the new one and applies the schema in one transaction. If the
 * schema cannot be applied, the half-made database is dropped again, so a failed run
 * leaves nothing behind.
 */
import { Command, Option } from 'commander';
import type pg from 'pg';
import { closeQuietly, connect } from '../db/connect.js';
import { AUTH_SQLSTATES, isTransient, sqlState } from '../db/pgErrors.js';
import { SCHEMA_FILES, applySchema } from '../db/schema.js';
import type { DatabaseKind } from '../db/schema.js';
import { AuthError, ConfigError, ConnectError, ExitCode, ReplicatorError, SchemaError, coerceError } from '../errors.js';
import type { ConfigProblem } from '../errors.js';
import { createLogger } from '../log.js';
import type { Logger } from '../log.js';
import type { DatabaseConfig } from '../types.js';
import { describeDatabase } from '../types.js';

const DEFAULT_HOST = 'localhost';
const DEFAULT_PORT = 5432;
/** Milliseconds to wait for each connection. */
const DEFAULT_CONNECT_TIMEOUT_MS = 15_000;
/** The database init-db connects to in order to create the new one. */
const MAINTENANCE_DATABASE = 'postgres';
const APPLICATION_NAME = 'slate-replicator init-db';
/** An identifier PostgreSQL would accept unquoted; 63 bytes is its length limit (NAMEDATALEN - 1). */
const DATABASE_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const MAX_DATABASE_NAME_LENGTH = 63;
const INTEGER = /^[0-9]+$/;
const KINDS: readonly DatabaseKind[] = ['source', 'destination'];
/** SQLSTATE 42P04: CREATE DATABASE found the name taken (another session won the race). */
const DUPLICATE_DATABASE = '42P04';

/** The command line as commander hands it over: every value still a string. */
export interface InitDbOptions {
  host?: string;
  port?: string;
  user?: string;
  password?: string;
  connectTimeout?: string;
  newDatabase?: string;
  tableType?: string;
  type?: string;
  dryRun?: boolean;
}

/** What the command line resolves to, every value checked. */
export interface InitDbSettings {
  /** The server, logged in to its maintenance database. */
  server: DatabaseConfig;
  databaseName: string;
  kind: DatabaseKind;
  connectTimeoutMs: number;
  /** Where the password came from, for the dry run's report. */
  passwordFrom: '--password' | 'PGPASSWORD' | 'none';
}

function integerIn(text: string, min: number, max: number): number | undefined {
  if (!INTEGER.test(text)) return undefined;
  const value = Number(text);
  return value >= min && value <= max ? value : undefined;
}

/** Checks every option and reports every problem at once (ConfigError, exit code 2). */
export function resolveInitDbOptions(
  options: InitDbOptions,
  env: Record<string, string | undefined> = process.env,
): InitDbSettings {
  const problems: ConfigProblem[] = [];

  const host = options.host ?? DEFAULT_HOST;
  if (host.trim() === '') problems.push({ path: '--host', message: 'must not be empty' });

  const port = integerIn(options.port ?? String(DEFAULT_PORT), 1, 65_535);
  if (port === undefined) problems.push({ path: '--port', message: `must be an integer from 1 to 65535, got "${options.port}"` });

  if (options.user !== undefined && options.user === '') problems.push({ path: '--user', message: 'must not be empty' });

  const connectTimeoutMs = integerIn(options.connectTimeout ?? String(DEFAULT_CONNECT_TIMEOUT_MS), 1, 2_147_483_647);
  if (connectTimeoutMs === undefined) {
    problems.push({
      path: '--connect-timeout',
      message: `must be a whole number of milliseconds, at least 1, got "${options.connectTimeout}"`,
    });
  }

  const databaseName = options.newDatabase;
  if (databaseName === undefined) {
    problems.push({ path: '--new-database', message: 'required: name the database to create with -n <name>' });
  } else if (!DATABASE_NAME.test(databaseName)) {
    problems.push({
      path: '--new-database',
      message: `"${databaseName}" is not a plain identifier: use letters, digits and _, not starting with a digit`,
    });
  } else if (databaseName.length > MAX_DATABASE_NAME_LENGTH) {
    problems.push({
      path: '--new-database',
      message: `is ${databaseName.length} characters long; PostgreSQL names have at most ${MAX_DATABASE_NAME_LENGTH}`,
    });
  }

  const given = [options.tableType, options.type].filter((value): value is string => value !== undefined);
  let kind: DatabaseKind | undefined;
  if (given.length === 0) {
    problems.push({ path: '--table-type', message: 'required: -t source or -t destination' });
  } else if (given.length === 2 && given[0] !== given[1]) {
    problems.push({ path: '--table-type', message: `--table-type "${given[0]}" and --type "${given[1]}" disagree; give one` });
  } else if (!KINDS.includes(given[0] as DatabaseKind)) {
    problems.push({ path: '--table-type', message: `must be source or destination, got "${given[0]}"` });
  } else {
    kind = given[0] as DatabaseKind;
  }

  if (problems.length > 0 || port === undefined || connectTimeoutMs === undefined || databaseName === undefined || kind === undefined) {
    throw new ConfigError('the command line', problems);
  }

  const envPassword = env.PGPASSWORD;
  const password = options.password ?? envPassword;
  return {
    server: { host, port, databaseName: MAINTENANCE_DATABASE, user: options.user, password },
    databaseName,
    kind,
    connectTimeoutMs,
    passwordFrom: options.password !== undefined ? '--password' : envPassword !== undefined ? 'PGPASSWORD' : 'none',
  };
}

/** What init-db would do, as lines for --dry-run. Passwords are masked. */
export function describePlan(settings: InitDbSettings): string {
  const { server, databaseName, kind } = settings;
  const login = server.user === undefined ? 'the default user (PGUSER, else the OS user)' : server.user;
  const password = settings.passwordFrom === 'none' ? 'no password' : `password ******** (from ${settings.passwordFrom})`;
  const files = SCHEMA_FILES[kind].map((name) => `sql/${name}`).join(', ');
  return [
    'init-db --dry-run: nothing was connected to. Without --dry-run, init-db would:',
    `  1. connect to ${describeDatabase(server)} as ${login}, ${password}, waiting at most ${settings.connectTimeoutMs} ms`,
    `  2. stop with exit code ${ExitCode.schema} if a database named ${databaseName} exists there`,
    `  3. create the database ${databaseName} (from template0)`,
    `  4. apply the ${kind} schema (${files}) to it in one transaction`,
    `  5. drop ${databaseName} again if the schema could not be applied`,
    '',
  ].join('\n');
}

/** Turns a failed CREATE DATABASE into the error the user should see. */
function createFailure(settings: InitDbSettings, thrown: unknown): Error {
  const error = coerceError(thrown);
  const where = `${settings.server.host}:${settings.server.port}`;
  const state = sqlState(error);
  if (state === DUPLICATE_DATABASE) return alreadyExists(settings);
  if (state !== undefined && AUTH_SQLSTATES.has(state)) {
    return new AuthError(
      `${settings.server.user ?? 'the default user'} may not create databases on ${where}: ${error.message}. ` +
        'Log in as a role with CREATEDB (or a superuser).',
      error,
    );
  }
  if (isTransient(error)) return new ConnectError(`creating ${settings.databaseName} on ${where} failed: ${error.message}`, error);
  return new ReplicatorError(`creating ${settings.databaseName} on ${where} failed: ${error.message}`, {
    exitCode: ExitCode.internal,
    cause: error,
  });
}

function alreadyExists(settings: InitDbSettings): SchemaError {
  return new SchemaError(
    `database ${settings.databaseName} already exists on ${settings.server.host}:${settings.server.port}; ` +
      'init-db only creates new databases and left it unchanged. Choose another name, or drop that database first if it is not needed.',
  );
}

async function databaseExists(admin: pg.Client, name: string): Promise<boolean> {
  const result = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  return (result.rowCount ?? 0) > 0;
}

/** Creates the database and its schema; see the file header for the order of things. */
export async function initDatabase(settings: InitDbSettings, log: Logger): Promise<void> {
  const { databaseName, kind } = settings;
  const options = { connectTimeoutMs: settings.connectTimeoutMs, applicationName: APPLICATION_NAME };
  const target: DatabaseConfig = { ...settings.server, databaseName };
  const onError = (error: Error): void => log.warn({ err: error }, 'database connection error');
  const startedAt = Date.now();

  const admin = await connect(settings.server, options, onError);
  try {
    if (await databaseExists(admin, databaseName)) throw alreadyExists(settings);
    log.info({ db: target, kind }, 'creating database');
    try {
      // From template0: it never takes connections, so a session that happens to be in
      // template1 (an autovacuum worker, an administrator) cannot make CREATE DATABASE fail
      // with "source database is being accessed by other users"; and the new database holds
      // exactly the schema of sql/, nothing a site added to template1.
      await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(databaseName)} TEMPLATE template0`);
    } catch (thrown) {
      throw createFailure(settings, thrown);
    }

    let applyError: Error | undefined;
    let client: pg.Client | undefined;
    try {
      client = await connect(target, options, onError);
      await applySchema(client, kind);
    } catch (thrown) {
      applyError = coerceError(thrown);
    } finally {
      await closeQuietly(client);
    }
    if (applyError === undefined) {
      log.info({ db: target, kind, durationMs: Date.now() - startedAt }, `created ${kind} database ${databaseName}`);
      return;
    }

    log.error({ err: applyError, db: target, kind }, 'applying the schema failed; dropping the new database');
    const what = `applying the ${kind} schema to the new database ${databaseName} failed: ${applyError.message}`;
    try {
      await admin.query(`DROP DATABASE ${admin.escapeIdentifier(databaseName)}`);
    } catch (dropThrown) {
      const dropError = coerceError(dropThrown);
      throw new SchemaError(
        `${what}. Dropping the half-made database failed too (${dropError.message}): drop ${databaseName} by hand.`,
        applyError,
      );
    }
    if (applyError instanceof ReplicatorError) {
      // A connection or login failure on the new database: keep its exit code.
      throw new ReplicatorError(`${what}. The new database was dropped again.`, {
        exitCode: applyError.exitCode,
        transient: applyError.transient,
        cause: applyError,
      });
    }
    throw new SchemaError(`${what}. The new database was dropped again.`, applyError);
  } finally {
    await closeQuietly(admin);
  }
}

export async function initDbAction(options: InitDbOptions, command: Command): Promise<void> {
  const settings = resolveInitDbOptions(options);
  // The program itself has a --dry-run too; unless it parses options positionally, it takes
  // `init-db ... --dry-run` for its own, so the flag is looked up along the whole chain.
  const dryRun = options.dryRun === true || command.optsWithGlobals<InitDbOptions>().dryRun === true;
  if (dryRun) {
    process.stdout.write(describePlan(settings));
    return;
  }
  await initDatabase(settings, createLogger());
}

export function initDbCommand(): Command {
  return new Command('init-db')
    .description('Create a new source or destination database with the slate schema (replaces init-slate-db).')
    .helpOption('-h, --help', 'print this help and exit')
    .option('--host <host>', `database server host (default ${DEFAULT_HOST})`)
    .option('--port <port>', `database server port (default ${DEFAULT_PORT})`)
    .option('--user <user>', 'login role, which needs CREATEDB (default: PGUSER, else the OS user)')
    .option('--password <password>', 'login password (default: PGPASSWORD)')
    .option('--connect-timeout <ms>', `milliseconds to wait for a connection (default ${DEFAULT_CONNECT_TIMEOUT_MS})`)
    .option('-n, --new-database <name>', 'name of the database to create: letters, digits and _, at most 63; created as spelled, case kept')
    .option('-t, --table-type <type>', 'source or destination (also accepted as --type)')
    .addOption(new Option('--type <type>', 'same as --table-type').hideHelp())
    .option('--dry-run', 'print what would be done, passwords masked, and exit: 0 if the options are valid, 2 if not; connects to nothing')
    .addHelpText(
      'after',
      '\nExit codes: 0 created (or --dry-run with valid options); 2 invalid options; 3 server unreachable;\n' +
        '4 login refused or no CREATEDB privilege; 5 the database already exists (left unchanged), or the\n' +
        'schema could not be applied (the new database is dropped again); 1 anything else.\n',
    )
    .showHelpAfterError('(run slate-replicator init-db --help for usage)')
    .exitOverride()
    .action(initDbAction);
}
