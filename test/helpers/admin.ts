/**
 * Small things every helper needs: a superuser session for one piece of work, identifier
 * quoting, and turning a connection URL into the replicator's DatabaseConfig.
 */
import pg from 'pg';
import type { DatabaseConfig } from '../../src/types.js';

export function quoteIdent(name: string): string {
  return pg.escapeIdentifier(name);
}

/** Opens a client on `url`, runs `work`, closes the client whatever happens. */
export async function adminQuery<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, application_name: 'slate-test-admin' });
  client.on('error', () => {});
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/** The same server and login as `url`, another database. */
export function urlForDatabase(url: string, databaseName: string): string {
  const target = new URL(url);
  target.pathname = `/${encodeURIComponent(databaseName)}`;
  return target.toString();
}

/** `url` as the replicator's DatabaseConfig (host, port, database, user, password). */
export function configFromUrl(url: string): DatabaseConfig {
  const parsed = new URL(url);
  const user = decodeURIComponent(parsed.username);
  const password = decodeURIComponent(parsed.password);
  return {
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1') || 'localhost',
    port: parsed.port === '' ? 5432 : Number(parsed.port),
    databaseName: decodeURIComponent(parsed.pathname.replace(/^\//, '')) || 'postgres',
    user: user === '' ? undefined : user,
    password: password === '' ? undefined : password,
  };
}
