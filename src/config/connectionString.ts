/**
 * A database's `connectionString`: a PostgreSQL URI such as
 * `postgres://user:password@host:5432/database?sslmode=verify-full`, split into the
 * configuration's own keys. Explicit keys beside it win over the parts it gives (the
 * schema fills only the keys that are absent), so a URI can come from one secret and a
 * password from another.
 *
 * Problems never quote the URI: it may hold a password.
 */
import type { TlsMode } from './tlsMode.js';
import { SSLMODE_PROBLEM, tlsFromSslMode } from './tlsMode.js';

/**
 * Stands in for the host or databaseName of an entry whose connectionString has problems,
 * while the configuration is validated: that entry is reported once, by its
 * connectionString, and is left out of the distinct-databases comparison.
 */
export const UNRESOLVED_PART = '\u0000unresolved';

/** The query parameters a URI may carry, and the keys they stand for. */
export const URI_PARAMETERS = ['sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'application_name'] as const;

/** What a URI says about one database; a part the URI does not give is absent. */
export interface ConnectionStringParts {
  host?: string;
  port?: number;
  databaseName?: string;
  user?: string;
  password?: string;
  ssl?: false | { rejectUnauthorized: boolean; ca?: string; cert?: string; key?: string };
  applicationName?: string;
}

export interface ParsedConnectionString {
  /** Absent when the text is not a PostgreSQL URI at all. */
  parts: ConnectionStringParts | undefined;
  /** Reasons, for the `connectionString` key; empty when the URI is usable. */
  problems: string[];
}

const EXPECTED = 'expected postgres://user:password@host:port/database';

function decode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

const FILES_NEED_TLS = 'sslrootcert, sslcert and sslkey need sslmode=require, verify-ca or verify-full';

function tlsPart(params: URLSearchParams, problems: string[]): ConnectionStringParts['ssl'] {
  const sslmode = params.get('sslmode');
  const files = { ca: params.get('sslrootcert'), cert: params.get('sslcert'), key: params.get('sslkey') };
  const named = Object.entries(files).filter((entry): entry is [string, string] => entry[1] !== null);
  if (sslmode === null) {
    if (named.length > 0) problems.push(FILES_NEED_TLS);
    return undefined;
  }
  const mode: TlsMode | undefined = tlsFromSslMode(sslmode);
  if (mode === undefined) {
    problems.push(`sslmode ${SSLMODE_PROBLEM}, got ${JSON.stringify(sslmode)}`);
    return undefined;
  }
  if (mode === false) {
    if (named.length > 0) problems.push(FILES_NEED_TLS);
    return false;
  }
  const tls: NonNullable<ConnectionStringParts['ssl']> = { ...mode };
  for (const [key, path] of named) {
    if (path === '') problems.push(`${key === 'ca' ? 'sslrootcert' : `ssl${key}`} must name a file`);
    else tls[key as 'ca' | 'cert' | 'key'] = path;
  }
  if ((tls.cert === undefined) !== (tls.key === undefined)) {
    problems.push('sslcert and sslkey go together: give both or neither');
    delete tls.cert;
    delete tls.key;
  }
  return tls;
}

export function parseConnectionString(text: string): ParsedConnectionString {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { parts: undefined, problems: [`is not a PostgreSQL URI: ${EXPECTED}`] };
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    // Only a plain scheme name is quoted back; `host:5432/db` parses as the scheme `host:`.
    const got = /^[a-z]+:$/.test(url.protocol) ? `, got ${url.protocol}//` : '';
    return { parts: undefined, problems: [`must start with postgres:// or postgresql://${got}`] };
  }
  const problems: string[] = [];
  const parts: ConnectionStringParts = {};
  // An IPv6 address comes bracketed; a Unix socket directory percent-encoded (%2Fvar%2Frun%2Fpostgresql).
  const host = decode(url.hostname.replace(/^\[(.*)\]$/, '$1'));
  if (host === undefined || host === '') problems.push(`names no host: ${EXPECTED}`);
  else if (host.includes(',')) problems.push('names several hosts; give one');
  else parts.host = host;
  if (url.port !== '') {
    const port = Number(url.port);
    if (port < 1 || port > 65_535) problems.push(`port must be between 1 and 65535, got ${url.port}`);
    else parts.port = port;
  }
  const path = decode(url.pathname.replace(/^\//, ''));
  if (path === undefined || path.includes('/')) problems.push(`must name one database as its path: ${EXPECTED}`);
  else if (path !== '') parts.databaseName = path;
  const user = decode(url.username);
  const password = decode(url.password);
  if (user === undefined || password === undefined) problems.push('has a user or password that is not valid percent-encoding');
  if (user !== undefined && user !== '') parts.user = user;
  if (password !== undefined && password !== '') parts.password = password;
  if (url.hash !== '') problems.push('must not have a #fragment');
  for (const name of new Set(url.searchParams.keys())) {
    if (!(URI_PARAMETERS as readonly string[]).includes(name)) {
      problems.push(`parameter ${JSON.stringify(name)} is not supported (supported: ${URI_PARAMETERS.join(', ')}); use the configuration's keys`);
    }
  }
  const ssl = tlsPart(url.searchParams, problems);
  if (ssl !== undefined) parts.ssl = ssl;
  const applicationName = url.searchParams.get('application_name');
  if (applicationName !== null) parts.applicationName = applicationName;
  return { parts, problems };
}
