/**
 * The cross-field rule of a configuration: every destination is a different database from
 * the source and from every other destination. Two entries are the same database when
 * their host names are equal ignoring case, their ports are equal and their databaseNames
 * are equal exactly. Host names are compared as written: `localhost`, `127.0.0.1` and
 * `::1` count as three different hosts, because resolving names here would make
 * validation depend on the network (and `--dry-run` connects to nothing). The start-up
 * checks against the live databases catch what this comparison cannot.
 */
import type { DatabaseConfig } from '../types.js';
import { describeDatabase } from '../types.js';
import { UNRESOLVED_PART } from './connectionString.js';

/** A destination that repeats a database listed before it; `path` is the destination's. */
export interface SameDatabase {
  path: ['replicationDestinations', number];
  message: string;
}

/**
 * Runs on a partly valid config too (so its problems are reported with the others):
 * entries whose host, port or databaseName are not usable yet are skipped. An entry of a
 * partly valid config may not have its default port filled in yet: absent counts as the
 * default.
 */
function isComparable(value: unknown): value is Omit<DatabaseConfig, 'port'> & { port?: number } {
  if (value === null || typeof value !== 'object') return false;
  const db = value as Record<string, unknown>;
  return (
    typeof db.host === 'string' &&
    db.host.trim() !== '' &&
    db.host !== UNRESOLVED_PART &&
    (db.port === undefined || Number.isInteger(db.port)) &&
    typeof db.databaseName === 'string' &&
    db.databaseName.trim() !== '' &&
    db.databaseName !== UNRESOLVED_PART
  );
}

/**
 * Each destination that is the source or an earlier destination, naming the one it repeats.
 * `defaultPort` is the port of an entry that names none (5432, or PGPORT).
 */
export function findSameDatabases(eventSource: unknown, replicationDestinations: unknown, defaultPort = 5432): SameDatabase[] {
  if (!Array.isArray(replicationDestinations)) return [];
  const resolve = (value: unknown): DatabaseConfig | undefined =>
    isComparable(value) ? { ...value, port: value.port ?? defaultPort } : undefined;
  // Host names are case-insensitive (RFC 4343); PostgreSQL database names are not.
  const identity = (db: DatabaseConfig): string => `${db.host.toLowerCase()}:${db.port}/${db.databaseName}`;
  const seen = new Map<string, { name: string; db: DatabaseConfig }>();
  const source = resolve(eventSource);
  if (source !== undefined) seen.set(identity(source), { name: 'eventSource', db: source });
  const found: SameDatabase[] = [];
  replicationDestinations.forEach((entry: unknown, index) => {
    const destination = resolve(entry);
    if (destination === undefined) return;
    const earlier = seen.get(identity(destination));
    if (earlier === undefined) {
      seen.set(identity(destination), { name: `replicationDestinations[${index}]`, db: destination });
      return;
    }
    const why = earlier.name === 'eventSource' ? ': a destination must not be the source' : '';
    found.push({
      path: ['replicationDestinations', index],
      message: `same database as ${earlier.name} (${describeDatabase(earlier.db)})${why}`,
    });
  });
  return found;
}
