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
import { tlsFileContents } from '../config/tlsFiles.js';

export interface ConnectOptions {
  /** Milliseconds to wait for the connection (the config's `connectTimeout`). */
  connectTimeoutMs: number;
  /** Shown in pg_stat_activity, so operators can tell the replicator's sessions apart. */
  applicationName: string;
}

/** Idle seconds before the first TCP keepalive probe: a silent half-open socket is noticed. */
export const KEEPALIVE_INITIAL_DELAY_MS = 10_000;

/** The name every session's application_name starts with, unless the database entry names another. */
const APPLICATION_NAME_PREFIX = 'slate-replicator';

/** The driver's TLS options: always explicit, so the driver never reads PGSSLMODE on its own. */
function tlsOptions(db: DatabaseConfig): pg.ClientConfig['ssl'] {
  if (db.ssl === undefined || db.ssl === false) return false;
  return { rejectUnauthorized: db.ssl.rejectUnauthorized, ...tlsFileContents(db.ssl) };
}

/**
 * Everything the driver needs for one connection. The configuration has already applied
 * its defaults (connectionString parts, PG* variables), so the values here are final.
 */
export function clientConfig(db: DatabaseConfig, options: ConnectOptions): pg.ClientConfig {
  const applicationName =
    db.applicationName !== undefined && options.applicationName.startsWith(APPLICATION_NAME_PREFIX)
      ? db.applicationName + options.applicationName.slice(APPLICATION_NAME_PREFIX.length)
      : options.applicationName;
  return {
    host: db.host,
    port: db.port,
    database: db.databaseName,
    user: db.user,
    password: db.password,
    ssl: tlsOptions(db),
    connectionTimeoutMillis: options.connectTimeoutMs,
    keepAlive: true,
    keepAliveInitialDelayMillis: KEEPALIVE_INITIAL_DELAY_MS,
    application_name: applicationName,
  };
}

/**
 * Node's codes for a server certificate that failed verification
 * (https://nodejs.org/api/tls.html, OpenSSL's X509_V_ERR_* names).
 */
const CERTIFICATE_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** SQLSTATE 28000: among others, no pg_hba.conf line matches (e.g. only hostssl lines, and no TLS). */
const INVALID_AUTHORIZATION = '28000';

/** Turns a failed connection attempt into the error the user should see. */
export function connectFailure(db: DatabaseConfig, thrown: unknown): Error {
  const error = coerceError(thrown);
  const where = describeDatabase(db);
  const state = sqlState(error);
  if (state !== undefined && AUTH_SQLSTATES.has(state)) {
    const tlsHint =
      state === INVALID_AUTHORIZATION && (db.ssl === undefined || db.ssl === false)
        ? ' A server that accepts only TLS connections (hostssl) needs `ssl` in the configuration.'
        : '';
    return new AuthError(
      `login to ${where} as ${db.user ?? '(default user)'} was refused: ${error.message}. ` +
        `Check user and password in the configuration and the server's pg_hba.conf.${tlsHint}`,
      error,
    );
  }
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && CERTIFICATE_CODES.has(code)) {
    return new ConnectError(
      `cannot connect to ${where}: the server's TLS certificate was not accepted: ${error.message} (${code}). ` +
        'Name the certificate authority that signed it in ssl.ca, or set ssl.rejectUnauthorized: false to encrypt without verifying.',
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
