/**
 * Test helpers about events: inserting through the source's own insert_events, comparing
 * tables by a hash computed inside PostgreSQL, and waiting for replication to get somewhere.
 */
import type pg from 'pg';
import { EVENTS_HASH_SQL } from '../../src/db/rowHash.js';
import { adminQuery } from './admin.js';

/** Anything with a connection string: test databases and clusters' databases alike. */
export interface HasUrl {
  url: string;
}

export async function withClient<T>(db: HasUrl, use: (client: pg.Client) => Promise<T>): Promise<T> {
  return adminQuery(db.url, use);
}

/** Inserts `events` as one source transaction through insert_events(jsonb); returns the new max id. */
export async function insertEvents(db: HasUrl, events: unknown[]): Promise<number> {
  return withClient(db, async (client) => insertEventsWith(client, events));
}

export async function insertEventsWith(client: pg.Client, events: unknown[]): Promise<number> {
  await client.query('SELECT insert_events($1::jsonb)', [JSON.stringify(events)]);
  const result = await client.query<{ max: string }>('SELECT max(id)::text AS max FROM events');
  return Number(result.rows[0]?.max ?? 0);
}

/** `count` small events `{ n, tag }` in one source transaction. */
export async function insertNumbered(db: HasUrl, count: number, tag = 'e'): Promise<number> {
  return withClient(db, async (client) => {
    await client.query(
      `SELECT insert_events((SELECT jsonb_agg(jsonb_build_object('entityName', 'Thing', 'n', g, 'tag', $2::text) ORDER BY g)
                             FROM generate_series(1, $1::int) g))`,
      [count, tag],
    );
    const result = await client.query<{ max: string }>('SELECT max(id)::text AS max FROM events');
    return Number(result.rows[0]?.max ?? 0);
  });
}

/**
 * `transactions` source transactions of `perTransaction` events each, committed one by one
 * inside a single DO block (fast: one round trip), each with its own ts.
 */
export async function insertTransactions(db: HasUrl, transactions: number, perTransaction: number): Promise<number> {
  return withClient(db, async (client) => {
    await client.query(`
      DO $$
      BEGIN
        FOR t IN 1..${Math.trunc(transactions)} LOOP
          PERFORM insert_events((SELECT jsonb_agg(jsonb_build_object('entityName', 'Thing', 'n', g, 'tx', t) ORDER BY g)
                                 FROM generate_series(1, ${Math.trunc(perTransaction)}) g));
          COMMIT;
        END LOOP;
      END $$`);
    const result = await client.query<{ max: string }>('SELECT max(id)::text AS max FROM events');
    return Number(result.rows[0]?.max ?? 0);
  });
}

export interface EventsSummary {
  count: number;
  maxId: number;
  hash: string;
}

export async function summarize(db: HasUrl): Promise<EventsSummary> {
  return withClient(db, async (client) => {
    const extent = await client.query<{ count: string; max: string | null }>(
      'SELECT count(*)::text AS count, max(id)::text AS max FROM events',
    );
    const hash = await client.query<{ hash: string }>(EVENTS_HASH_SQL);
    return {
      count: Number(extent.rows[0]?.count ?? 0),
      maxId: Number(extent.rows[0]?.max ?? 0),
      hash: hash.rows[0]?.hash ?? '',
    };
  });
}

export async function maxId(db: HasUrl): Promise<number> {
  return withClient(db, async (client) => {
    const result = await client.query<{ max: string | null }>('SELECT max(id)::text AS max FROM events');
    return Number(result.rows[0]?.max ?? 0);
  });
}

/** Polls `check` until it returns true; fails with `what` after `timeoutMs`. */
export async function waitUntil(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30_000, intervalMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Waits until `db` holds rows up to `id` (polling the destination's max id). */
export async function waitForMaxId(db: HasUrl, id: number, timeoutMs = 30_000): Promise<void> {
  await withClient(db, async (client) => {
    await waitUntil(
      `${db.url} reaches id ${id}`,
      async () => {
        const result = await client.query<{ max: string | null }>('SELECT max(id)::text AS max FROM events');
        return Number(result.rows[0]?.max ?? 0) >= id;
      },
      timeoutMs,
    );
  });
}

/**
 * Copies the source's rows up to `lastId` into `destination` by hand (binary COPY through
 * the client), to make a destination that is already part-way.
 */
export async function copyPrefix(source: HasUrl, destination: HasUrl, lastId: number): Promise<void> {
  const { to, from } = await import('pg-copy-streams');
  const { pipeline } = await import('node:stream/promises');
  await withClient(source, (s) =>
    withClient(destination, async (d) => {
      await pipeline(
        s.query(to(`COPY (SELECT id, ts, event FROM events WHERE id <= ${lastId} ORDER BY id) TO STDOUT (FORMAT binary)`)),
        d.query(from('COPY events (id, ts, event) FROM STDIN (FORMAT binary)')),
      );
    }),
  );
}
