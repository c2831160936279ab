/**
 * Database clients: every connection gets a connect timeout, TCP keepalive and an
 * application_name, and every connection failure becomes an error that names the database
 * (never its password) and carries the right exit code.
 */
import pg from 'pg';
import { AuthError, ConnectError, SchemaError, coerceError } from '../errors.js';
import type { DatabaseConfig } from '../types.js';
import { describeDatabase } from '../types.js';
import { AUTH_SQLSTATES, INVALID_CATALOG_NAME, sqlState } from './pgErrors.js';

export interface ConnectOptions {
  /** Milliseconds to wait for the connection (the config's `connectTimeout`). */
  connectTimeoutMs: number;
  /** Shown in pg_stat_activity, so operators can tell the replicator's sessions apart. */
  applicationName: string;
}

/** Idle seconds before the first TCP keepalive probe: a silent half-open socket is noticed. */
export const KEEPALIVE_INITIAL_DELAY_MS = 10_000;

export function clientConfig(db: DatabaseConfig, options: ConnectOptions): pg.ClientConfig {
  return {
    host: db.host,
    port: db.port,
    database: db.databaseName,
    user: db.user,
    password: db.password,
    connectionTimeoutMillis: options.connectTimeoutMs,
    keepAlive: true,
    keepAliveInitialDelayMillis: KEEPALIVE_INITIAL_DELAY_MS,
    application_name: options.applicationName,
  };
}

/** Turns a failed connection attempt into the error the user should see. */
export function connectFailure(db: DatabaseConfig, thrown: unknown): Error {
  const error = coerceError(thrown);
  const where = describeDatabase(db);
  const state = sqlState(error);
  if (state !== undefined && AUTH_SQLSTATES.has(state)) {
    return new AuthError(
      `login to ${where} as ${db.user ?? '(default user)'} was refused: ${error.message}. ` +
        'Check user and password in the configuration and the server\'s pg_hba.conf.',
      error,
    );
  }
  if (state === INVALID_CATALOG_NAME) {
    return new SchemaError(
      `database ${where} does not exist. Create it with \`slate-replicator init-db\` or correct databaseName.`,
      error,
    );
  }
  return new ConnectError(`cannot connect to ${where}: ${error.message}`, error);
}

/**
 * Opens a client. An `error` event on an idle client (server restart, terminated backend)
 * would crash the process if unhandled; it is passed to `onError` instead, and the next
 * query on the client fails, which is where callers deal with it.
 */
export async function connect(
  db: DatabaseConfig,
  options: ConnectOptions,
  onError: (error: Error) => void = () => {},
): Promise<pg.Client> {
  const client = new pg.Client(clientConfig(db, options));
  client.on('error', onError);
  try {
    await client.connect();
  } catch (thrown) {
    await client.end().catch(() => {});
    throw connectFailure(db, thrown);
  }
  return client;
}

/** Ends a client without waiting forever on a dead socket. */
export async function closeQuietly(client: pg.Client | undefined, timeoutMs = 2000): Promise<void> {
  if (client === undefined) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    client.end().catch(() => {}),
    new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        // The polite end did not finish: drop the socket.
        (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
        resolve();
      }, timeoutMs);
    }),
  ]);
  if (timer) clearTimeout(timer);
}
