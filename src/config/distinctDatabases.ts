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

/** A destination that repeats a database listed before it; `path` is the destination's. */
export interface SameDatabase {
  path: ['replicationDestinations', number];
  message: string;
}

/**
 * Runs on a partly valid config too (so its problems are reported with the others):
 * entries whose host, port or databaseName are not usable yet are skipped.
 */
function isComparable(value: unknown): value is DatabaseConfig {
  if (value === null || typeof value !== 'object') return false;
  const db = value as Record<string, unknown>;
  return (
    typeof db.host === 'string' &&
    db.host.trim() !== '' &&
    Number.isInteger(db.port) &&
    typeof db.databaseName === 'string' &&
    db.databaseName.trim() !== ''
  );
}

function identity(db: DatabaseConfig): string {
  // Host names are case-insensitive (RFC 4343); PostgreSQL database names are not.
  return `${db.host.toLowerCase()}:${db.port}/${db.databaseName}`;
}

/** Each destination that is the source or an earlier destination, naming the one it repeats. */
export function findSameDatabases(eventSource: unknown, replicationDestinations: unknown): SameDatabase[] {
  if (!Array.isArray(replicationDestinations)) return [];
  const seen = new Map<string, { name: string; db: DatabaseConfig }>();
  if (isComparable(eventSource)) seen.set(identity(eventSource), { name: 'eventSource', db: eventSource });
  const found: SameDatabase[] = [];
  replicationDestinations.forEach((destination: unknown, index) => {
    if (!isComparable(destination)) return;
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
