/**
 * The schema of sql/ on a real server: the insert_events contracts, immutability, one
 * notification per inserting statement, large events, and the same events table as the
 * databases the old init-slate-db made.
 */
import { describe, expect, test } from 'vitest';
import type { DatabaseError } from 'pg';
import { createLegacySourceDatabase, createTestDatabase } from './helpers/databases.js';
import type { TestDatabase } from './helpers/databases.js';
import { recordNotifications } from './helpers/notifications.js';

interface EventRow {
  id: string;
  ts: string;
  event: unknown;
}

async function events(db: TestDatabase): Promise<EventRow[]> {
  // ts as text: a JavaScript Date would drop the microseconds that tell transactions apart.
  const { rows } = await db.query<EventRow>('SELECT id::text, ts::text, event FROM events ORDER BY id');
  return rows;
}

async function nextId(db: TestDatabase): Promise<string> {
  const { rows } = await db.query<{ id: string }>('SELECT id::text FROM id');
  return rows[0]?.id ?? 'none';
}

async function insertText(db: TestDatabase, insertValues: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT insert_events($1::text) AS n', [insertValues]);
  return rows[0]?.n ?? -1;
}

async function insertJson(db: TestDatabase, list: unknown): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT insert_events($1::jsonb) AS n', [JSON.stringify(list)]);
  return rows[0]?.n ?? -1;
}

async function failure(work: Promise<unknown>): Promise<DatabaseError> {
  const error = await work.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error, 'expected the statement to fail').toBeInstanceOf(Error);
  return error as DatabaseError;
}

describe('insert_events(text), the legacy form', () => {
  test('consecutive ids from 1 across calls, one ts per call, the row count returned', async () => {
    const source = await createTestDatabase('source');
    expect(await insertText(source, `($1[1], $2, '{"a":1}'), ($1[2], $2, '{"b":2}')`)).toBe(2);
    expect(await insertText(source, `($1[1], $2, '{"c":3}')`)).toBe(1);
    expect(await insertText(source, `($1[1], $2, '{"d":4}'), ($1[2], $2, '{"e":5}'), ($1[3], $2, '{"f":6}')`)).toBe(3);

    const rows = await events(source);
    expect(rows.map((r) => r.id)).toEqual(['1', '2', '3', '4', '5', '6']);
    expect(rows.map((r) => r.event)).toEqual([{ a: 1 }, { b: 2 }, { c: 3 }, { d: 4 }, { e: 5 }, { f: 6 }]);
    const [t1, t2, t3, t4, t5, t6] = rows.map((r) => r.ts);
    expect(t2).toBe(t1);
    expect(new Set([t4, t5, t6]).size).toBe(1);
    expect(new Set([t1, t3, t4]).size).toBe(3);
    expect(await nextId(source)).toBe('7');
  });

  test('an untyped argument, as applications pass it, reaches the text form', async () => {
    const source = await createTestDatabase('source');
    const { rows } = await source.query<{ n: number }>('SELECT insert_events($1) AS n', [`($1[1], $2, '{"a":1}')`]);
    expect(rows).toEqual([{ n: 1 }]);
    const literal = await source.query<{ n: number }>(`SELECT insert_events('($1[1], $2, ''{"b":2}'')') AS n`);
    expect(literal.rows).toEqual([{ n: 1 }]);
    expect((await events(source)).map((r) => r.id)).toEqual(['1', '2']);
  });

  test('rows of one call share the transaction timestamp, also across calls in one transaction', async () => {
    const source = await createTestDatabase('source');
    const client = await source.connect();
    await client.query('BEGIN');
    await client.query(`SELECT insert_events($1::text)`, [`($1[1], $2, '{"a":1}')`]);
    await client.query(`SELECT insert_events($1::jsonb)`, ['[{"b":2}]']);
    const { rows } = await client.query<{ same: boolean }>(
      'SELECT bool_and(ts = transaction_timestamp()) AS same FROM events',
    );
    await client.query('COMMIT');
    expect(rows).toEqual([{ same: true }]);
  });

  test.each([
    ['indices not consecutive', `($1[1], $2, '{"a":1}'), ($1[3], $2, '{"b":2}')`, /not consecutive/],
    ['indices not starting at 1', `($1[2], $2, '{"a":1}'), ($1[3], $2, '{"b":2}')`, /not consecutive/],
    ['indices out of order', `($1[2], $2, '{"a":1}'), ($1[1], $2, '{"b":2}')`, /not consecutive/],
    ['no id parameter at all', `(1, $2, '{"a":1}')`, /no rows to insert/],
    ['a row without $2 for its ts', `($1[1], $2, '{"a":1}'), ($1[2], now(), '{"b":2}')`, /must use \$2/],
    ['a ts computed from $2', `($1[1], $2 - interval '1 day', '{"a":1}')`, /take their id .* and their ts from \$2/],
    ['an id computed from $1[n]', `($1[1] + 10, $2, '{"a":1}')`, /take their id .* and their ts from \$2/],
    ['an extra row with a literal id', `($1[1], $2, '{"a":1}'), (99, $2, '{"b":2}')`, /take their id .* and their ts from \$2/],
  ])('%s is refused with a hint, and nothing is inserted', async (_name, insertValues, message) => {
    const source = await createTestDatabase('source');
    const error = await failure(insertText(source, insertValues));
    expect(error.code).toBe('P0001');
    expect(error.message).toMatch(message);
    expect(error.hint).toBeTruthy();
    expect(await events(source)).toEqual([]);
    expect(await nextId(source)).toBe('1');
  });
});

describe('insert_events(jsonb), the form for new code', () => {
  test('consecutive ids in array order, one ts per call, the count returned; continues the text form', async () => {
    const source = await createTestDatabase('source');
    expect(await insertJson(source, [{ a: 1 }, { b: 2 }, { c: 3 }])).toBe(3);
    expect(await insertText(source, `($1[1], $2, '{"d":4}')`)).toBe(1);
    expect(await insertJson(source, [{ e: 5 }, { f: 6 }])).toBe(2);

    const rows = await events(source);
    expect(rows.map((r) => r.id)).toEqual(['1', '2', '3', '4', '5', '6']);
    expect(rows.map((r) => r.event)).toEqual([{ a: 1 }, { b: 2 }, { c: 3 }, { d: 4 }, { e: 5 }, { f: 6 }]);
    const ts = rows.map((r) => r.ts);
    expect(new Set(ts.slice(0, 3)).size).toBe(1);
    expect(ts[4]).toBe(ts[5]);
    expect(new Set([ts[0], ts[3], ts[4]]).size).toBe(3);
    expect(await nextId(source)).toBe('7');
  });

  test('an empty array inserts nothing and returns 0', async () => {
    const source = await createTestDatabase('source');
    expect(await insertJson(source, [])).toBe(0);
    expect(await events(source)).toEqual([]);
    expect(await nextId(source)).toBe('1');
  });

  test.each([
    ['an object instead of an array', { a: 1 }, /JSON array/],
    ['a number inside the array', [{ a: 1 }, 2], /JSON object/],
    ['null inside the array', [null], /JSON object/],
  ])('%s is refused (22023), nothing inserted', async (_name, list, message) => {
    const source = await createTestDatabase('source');
    const error = await failure(insertJson(source, list));
    expect(error.code).toBe('22023');
    expect(error.message).toMatch(message);
    expect(await nextId(source)).toBe('1');
  });
});

describe('the events table is append-only', () => {
  test.each([
    ['UPDATE', `UPDATE events SET event = '{}'`],
    ['DELETE', 'DELETE FROM events'],
    ['TRUNCATE', 'TRUNCATE events'],
  ])('%s is refused', async (operation, sql) => {
    const source = await createTestDatabase('source');
    await insertJson(source, [{ a: 1 }]);
    const error = await failure(source.query(sql));
    expect(error.message).toBe(`cannot perform SQL command on events table: ${operation}`);
    expect(error.code).toBe('P0001');
    expect((await events(source)).map((r) => r.event)).toEqual([{ a: 1 }]);
  });

  test('an UPDATE or DELETE that matches no row is refused too (the check is per statement)', async () => {
    const source = await createTestDatabase('source');
    const error = await failure(source.query('DELETE FROM events WHERE id < 0'));
    expect(error.message).toMatch(/DELETE/);
  });
});

describe('notifications on eventsinsert', () => {
  test('one row: one notification, the id as payload', async () => {
    const source = await createTestDatabase('source');
    const notes = await recordNotifications(source);
    await insertJson(source, [{ a: 1 }]);
    expect(await notes.flush()).toEqual(['1']);
  });

  test('1000 rows in one statement: exactly one notification, the max id as payload', async () => {
    const source = await createTestDatabase('source');
    await insertJson(source, [{ first: true }]);
    const notes = await recordNotifications(source);
    await insertJson(source, Array.from({ length: 1000 }, (_, n) => ({ n })));
    await insertText(
      source,
      Array.from({ length: 1000 }, (_, n) => `($1[${n + 1}], $2, '{"n":${n}}')`).join(', '),
    );
    expect(await notes.flush()).toEqual(['1001', '2001']);
  });

  test('two inserting statements in one transaction: two notifications, delivered at commit', async () => {
    const source = await createTestDatabase('source');
    const notes = await recordNotifications(source);
    const client = await source.connect();
    await client.query('BEGIN');
    await client.query('SELECT insert_events($1::jsonb)', ['[{"a":1},{"b":2}]']);
    await client.query(`SELECT insert_events($1::text)`, [`($1[1], $2, '{"c":3}')`]);
    expect(await notes.flush()).toEqual([]);
    await client.query('COMMIT');
    expect(await notes.flush()).toEqual(['2', '3']);
  });

  test('a plain INSERT statement of several rows also notifies once', async () => {
    const source = await createTestDatabase('source');
    const notes = await recordNotifications(source);
    await source.query(
      `INSERT INTO events (id, ts, event) SELECT g, now(), jsonb_build_object('n', g) FROM generate_series(1, 50) g`,
    );
    expect(await notes.flush()).toEqual(['50']);
  });

  test('a statement that inserts no row sends nothing', async () => {
    const source = await createTestDatabase('source');
    const notes = await recordNotifications(source);
    await insertJson(source, []);
    await source.query(`INSERT INTO events (id, ts, event) SELECT 1, now(), '{}' WHERE false`);
    expect(await notes.flush()).toEqual([]);
  });

  test('a rolled-back insert sends nothing', async () => {
    const source = await createTestDatabase('source');
    const notes = await recordNotifications(source);
    const client = await source.connect();
    await client.query('BEGIN');
    await client.query('SELECT insert_events($1::jsonb)', ['[{"a":1}]']);
    await client.query('ROLLBACK');
    expect(await notes.flush()).toEqual([]);
  });
});

describe('large events', () => {
  // Over 1 MB, with what a JavaScript round trip would damage: a number beyond double
  // precision, trailing zeros, and characters outside the Basic Multilingual Plane.
  const eventText = (tag: string): string =>
    `{"entityName": "Blob", "tag": "${tag}", "big": 12345678901234567890.10, ` +
    `"text": "Grüße 😀 ${'x'.repeat(1024 * 1024)}"}`;

  test('a 1 MB event goes in through both forms and comes back equal; the notification stays small', async () => {
    const source = await createTestDatabase('source');
    const notes = await recordNotifications(source);
    expect(await insertText(source, `($1[1], $2, '${eventText('text')}')`)).toBe(1);
    const { rows: inserted } = await source.query<{ n: number }>(
      `SELECT insert_events(jsonb_build_array($1::jsonb)) AS n`,
      [eventText('jsonb')],
    );
    expect(inserted).toEqual([{ n: 1 }]);

    const { rows } = await source.query<{ id: string; equal: boolean; bytes: number }>(
      `SELECT id::text, event = CASE id WHEN 1 THEN $1::jsonb ELSE $2::jsonb END AS equal,
              octet_length(event::text) AS bytes
       FROM events ORDER BY id`,
      [eventText('text'), eventText('jsonb')],
    );
    expect(rows.map((r) => [r.id, r.equal])).toEqual([
      ['1', true],
      ['2', true],
    ]);
    expect(rows.every((r) => r.bytes > 1024 * 1024)).toBe(true);
    expect(await notes.flush()).toEqual(['1', '2']);
  });
});

describe('the same tables as init-slate-db databases', () => {
  const eventsShapeSql = `
    SELECT (SELECT json_agg(json_build_array(attname, format_type(atttypid, atttypmod), attnotnull) ORDER BY attnum)
              FROM pg_attribute WHERE attrelid = 'events'::regclass AND attnum > 0 AND NOT attisdropped) AS columns,
           (SELECT json_agg(indexdef ORDER BY indexname) FROM pg_indexes WHERE tablename = 'events') AS indexes`;
  const idShapeSql = `
    SELECT json_agg(json_build_array(attname, format_type(atttypid, atttypmod), attnotnull) ORDER BY attnum) AS columns
    FROM pg_attribute WHERE attrelid = 'id'::regclass AND attnum > 0 AND NOT attisdropped`;

  test('a source: events columns, types and indexes, and the id table, match the legacy fixture', async () => {
    const [source, legacy] = await Promise.all([createTestDatabase('source'), createLegacySourceDatabase()]);
    const [ours, theirs] = await Promise.all([source.query(eventsShapeSql), legacy.query(eventsShapeSql)]);
    expect(ours.rows[0]).toEqual(theirs.rows[0]);
    expect(ours.rows[0]?.indexes).toHaveLength(7);
    const [ourId, theirId] = await Promise.all([source.query(idShapeSql), legacy.query(idShapeSql)]);
    expect(ourId.rows[0]).toEqual(theirId.rows[0]);
  });

  test('a destination has the same events table', async () => {
    const [source, destination] = await Promise.all([createTestDatabase('source'), createTestDatabase('destination')]);
    const [ours, theirs] = await Promise.all([source.query(eventsShapeSql), destination.query(eventsShapeSql)]);
    expect(theirs.rows[0]).toEqual(ours.rows[0]);
  });
});

describe('the legacy fixture reproduces the old flaw', () => {
  test('its per-row notify carries the event, and an event of ~8000 bytes cannot be inserted', async () => {
    const legacy = await createLegacySourceDatabase();
    const notes = await recordNotifications(legacy);
    expect(await insertText(legacy, `($1[1], $2, '{"a":1}'), ($1[2], $2, '{"b":2}')`)).toBe(2);
    const payloads = await notes.flush();
    expect(payloads.map((p) => JSON.parse(p))).toEqual([
      { table: 'events', id: 1, event: { a: 1 } },
      { table: 'events', id: 2, event: { b: 2 } },
    ]);

    const error = await failure(insertText(legacy, `($1[1], $2, '{"pad": "${'x'.repeat(8000)}"}')`));
    expect(error.message).toMatch(/payload string too long/);
    expect((await events(legacy)).map((r) => r.id)).toEqual(['1', '2']);
  });

  test('the same large event goes into a source made from sql/', async () => {
    const source = await createTestDatabase('source');
    expect(await insertText(source, `($1[1], $2, '{"pad": "${'x'.repeat(8000)}"}')`)).toBe(1);
  });

  test('its insert_events(text) has the legacy contract and refuses bad indices', async () => {
    const legacy = await createLegacySourceDatabase();
    expect(await insertText(legacy, `($1[1], $2, '{"a":1}')`)).toBe(1);
    const error = await failure(insertText(legacy, `($1[1], $2, '{"a":1}'), ($1[3], $2, '{"b":2}')`));
    expect(error.message).toMatch(/not consecutive/);
    const { rows } = await legacy.query<{ name: string }>(
      `SELECT p.oid::regprocedure::text AS name FROM pg_proc p WHERE p.proname = 'restore_events'`,
    );
    expect(rows).toEqual([{ name: 'restore_events(text,text,text,text)' }]);
  });
});
