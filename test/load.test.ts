/**
 * The load generator: what it writes through insert_events(text) (on this project's source
 * schema and on a legacy init-slate-db source), how it cuts transactions, how it stops, and
 * the `load` command as users run it. No assertion depends on how fast anything runs.
 */
import { describe, expect, test } from 'vitest';
import { databaseFromUrl, loadSettings } from '../src/commands/load.js';
import type { ConfigProblem } from '../src/errors.js';
import { ConfigError } from '../src/errors.js';
import { insertEvents, insertEventsJson, insertValues } from '../src/load/insertEvents.js';
import { runLoad } from '../src/load/loadGenerator.js';
import { personEvents, takePersonEvents } from '../src/load/personEvents.js';
import { Random } from '../src/load/random.js';
import { createLegacySourceDatabase, createTestDatabase } from './helpers/databases.js';
import type { TestDatabase } from './helpers/databases.js';
import { waitUntil, withClient } from './helpers/events.js';
import { logRecords, runCli, spawnCli, writeConfigFile } from './helpers/replicator.js';

const SOURCES: Array<[string, () => Promise<TestDatabase>]> = [
  ['a source made from sql/', () => createTestDatabase('source')],
  ['a legacy init-slate-db source', () => createLegacySourceDatabase()],
];

/** Ids are 1..count without a gap, and row n holds expected[n - 1] exactly (jsonb equality). */
async function expectEvents(db: TestDatabase, expected: readonly unknown[]): Promise<void> {
  const result = await db.query<{ count: string; max: string | null; min: string | null; equal: number }>(
    `SELECT count(*)::text AS count, max(e.id)::text AS max, min(e.id)::text AS min,
            count(*) FILTER (WHERE e.event = x.expected)::int AS equal
       FROM events e
       FULL JOIN jsonb_array_elements($1::jsonb) WITH ORDINALITY AS x(expected, n) ON e.id = x.n`,
    [JSON.stringify(expected)],
  );
  const row = result.rows[0];
  expect(row).toEqual({ count: String(expected.length), max: String(expected.length), min: '1', equal: expected.length });
}

/** Rows per source transaction (consecutive rows sharing a ts), in id order. */
async function transactionSizes(db: TestDatabase): Promise<number[]> {
  const result = await db.query<{ rows: number; contiguous: boolean }>(
    `SELECT count(*)::int AS rows, max(id) - min(id) + 1 = count(*) AS contiguous
       FROM events GROUP BY ts ORDER BY min(id)`,
  );
  expect(result.rows.every((row) => row.contiguous)).toBe(true);
  return result.rows.map((row) => row.rows);
}

async function eventCount(db: TestDatabase): Promise<number> {
  const result = await db.query<{ count: number }>('SELECT count(*)::int AS count FROM events');
  return result.rows[0]?.count ?? -1;
}

describe('person events', () => {
  test('the same seed gives the same events; another seed gives others', () => {
    const first = takePersonEvents(42, 2000);
    expect(takePersonEvents(42, 2000)).toEqual(first);
    expect(takePersonEvents(42, 100)).toEqual(first.slice(0, 100));
    expect(takePersonEvents(43, 2000)).not.toEqual(first);
  });

  test('seeds beyond 32 bits still count', () => {
    const low = new Random(5);
    const high = new Random(5 + 2 ** 32);
    expect([low.uint32(), low.uint32()]).not.toEqual([high.uint32(), high.uint32()]);
  });

  test('events are varied, well formed and small', () => {
    const events = takePersonEvents(7, 5000);
    const operations = new Set(events.map((e) => `${e.target}:${e.operation}`));
    for (const kind of ['entity:created', 'entity:destroyed', 'property:added', 'property:removed', 'propertyList:added', 'propertyList:removed', 'relationship:added']) {
      expect(operations).toContain(kind);
    }
    expect(new Set(events.map((e) => e.entityName))).toEqual(new Set(['Person', 'Address']));
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    for (const e of events) {
      expect(e.entityId).toMatch(uuid);
      expect(e.metadata.initiatorId).toMatch(uuid);
      expect(e.metadata.command).toMatch(/^(Person|Address)\.[a-zA-Z]+$/);
      expect(e.version).toBe(0);
      expect(e.target === 'entity').toBe(e.propertyName === undefined);
    }
    const sizes = events.map((e) => Buffer.byteLength(JSON.stringify(e)));
    expect(Math.min(...sizes)).toBeLessThan(250);
    expect(Math.max(...sizes)).toBeGreaterThan(800);
    // Well below what a legacy source's per-row notify trigger can carry (~7,900 bytes).
    expect(Math.max(...sizes)).toBeLessThan(4000);
    const text = JSON.stringify(events);
    expect(text).toMatch(/[^\x00-\x7f]/); // non-ASCII names and places
    expect(text).toContain("O'Brien");
    // Every entity is created before anything else happens to it, and nothing follows its end.
    const state = new Map<string, 'live' | 'gone'>();
    for (const e of events) {
      if (e.operation === 'created') {
        expect(state.has(e.entityId)).toBe(false);
        state.set(e.entityId, 'live');
      } else {
        expect(state.get(e.entityId)).toBe('live');
        if (e.operation === 'destroyed' && e.target === 'entity') state.set(e.entityId, 'gone');
      }
    }
  });

  test('the stream does not end', () => {
    const stream = personEvents(1);
    for (let i = 0; i < 20_000; i += 1) expect(stream.next().done).toBe(false);
  });
});

describe('insert_events(text) argument', () => {
  test('one $1[n] per row, consecutive from 1, and no $ from the events themselves', () => {
    const text = insertValues([{ a: '$1[7]' }, { b: '$2, $$' }, { c: "it's" }]);
    expect(text.match(/\$1\[\d+\]/g)).toEqual(['$1[1]', '$1[2]', '$1[3]']);
    expect(text.match(/\$2/g)).toHaveLength(3);
    expect(text).toContain("'{\"c\":\"it''s\"}'");
  });

  test('an empty list is refused', () => {
    expect(() => insertValues([])).toThrow(RangeError);
  });
});

/** Values that have broken quoting somewhere before. */
const TRICKY_VALUES: unknown[] = [
  "it's O'Brien's",
  "''",
  'back\\slash',
  '\\',
  "\\'",
  "'\\",
  '\\\\server\\share',
  'C:\\new\\table',
  'a "quoted" word',
  '\\"',
  'E\'\\n\' is not a newline here',
  'line\nbreak\ttab\rreturn',
  '\u0001\u001f control characters',
  '$1[1] and $2, and $$ and $tag$',
  "'); DROP TABLE events; --",
  'Zoë Łukasiewicz, Nguyễn, 王芳, Алексей, Ελένη, محمد',
  'emoji 🎉👩‍👩‍👧 and 🥜',
  '\u00a0non-breaking\u2028line separator\u2029',
  'surrogate pair 𝄞',
  { "key's": { 'back\\slash': ['\\', "'", '"'] } },
  ['nested', ["it's", ['\\n']]],
];

describe.each(SOURCES)('insert through %s', (_name, create) => {
  test('tricky strings round-trip exactly', async () => {
    const db = await create();
    // Each value also as a key: its first 12 code points (a lone surrogate is no JSON jsonb takes).
    const events = TRICKY_VALUES.map((value, i) => ({ entityName: 'Tricky', n: i, value, [[...String(value)].slice(0, 12).join('')]: value }));
    await withClient(db, (client) => insertEvents(client, events));
    await expectEvents(db, events);
  });

  test('JSON text keeps numbers JavaScript cannot hold', async () => {
    const db = await create();
    const json = ['{"n": 12345678901234567890, "f": 1.10, "s": "$1[1]\\\\"}', '{"tiny": 1e-400, "neg": -0.000}'];
    await withClient(db, (client) => insertEventsJson(client, json));
    const result = await db.query<{ equal: boolean }>(
      `SELECT e.event = x.expected AS equal
         FROM events e JOIN unnest($1::jsonb[]) WITH ORDINALITY AS x(expected, n) ON e.id = x.n ORDER BY e.id`,
      [json],
    );
    expect(result.rows).toEqual([{ equal: true }, { equal: true }]);
    const text = await db.query<{ n: string; f: string }>(`SELECT event->>'n' AS n, event->>'f' AS f FROM events WHERE id = 1`);
    expect(text.rows[0]).toEqual({ n: '12345678901234567890', f: '1.10' });
  });

  test('generated events arrive in order under consecutive ids, one transaction per call', async () => {
    const db = await create();
    const result = await withClient(db, (client) => runLoad({ client, events: 257, transactionSize: 10, seed: 11 }));
    expect(result).toMatchObject({ eventsWritten: 257, transactions: 26, stoppedBy: 'events' });
    await expectEvents(db, takePersonEvents(11, 257));
    expect(await transactionSizes(db)).toEqual([...Array<number>(25).fill(10), 7]);
  });
});

describe('runLoad', () => {
  test.each([1, 3, 25])('transactions of %i events', async (transactionSize) => {
    const db = await createTestDatabase('source');
    const result = await withClient(db, (client) => runLoad({ client, events: 100, transactionSize, seed: 3 }));
    const sizes = await transactionSizes(db);
    const full = Math.floor(100 / transactionSize);
    const expected = [...Array<number>(full).fill(transactionSize), ...(100 % transactionSize > 0 ? [100 % transactionSize] : [])];
    expect(sizes).toEqual(expected);
    expect(result.transactions).toBe(expected.length);
  });

  test('a rate-limited run writes exactly the events asked for', async () => {
    const db = await createTestDatabase('source');
    const result = await withClient(db, (client) =>
      runLoad({ client, events: 200, rateEventsPerSecond: 1000, transactionSize: 20, seed: 5 }),
    );
    expect(result).toMatchObject({ eventsWritten: 200, transactions: 10, stoppedBy: 'events' });
    await expectEvents(db, takePersonEvents(5, 200));
  });

  test('a run with a duration starts no call scheduled after it', async () => {
    const db = await createTestDatabase('source');
    const result = await withClient(db, (client) =>
      runLoad({ client, durationMs: 300, rateEventsPerSecond: 500, transactionSize: 10, seed: 5 }),
    );
    expect(result.stoppedBy).toBe('duration');
    // Calls start at w / rate seconds for w events already written, only while that is
    // before the end: so fewer than 500/s * 0.3 s + one call's events.
    expect(result.eventsWritten).toBeLessThan(150 + 10);
    expect(result.eventsWritten % 10).toBe(0);
    expect(await eventCount(db)).toBe(result.eventsWritten);
  });

  test('an abort stops after the call in flight', async () => {
    const db = await createTestDatabase('source');
    const controller = new AbortController();
    const result = await withClient(db, (client) =>
      runLoad({
        client,
        transactionSize: 4,
        seed: 9,
        signal: controller.signal,
        progressIntervalMs: 0,
        onProgress: (progress) => {
          if (progress.transactions === 3) controller.abort();
        },
      }),
    );
    expect(result).toMatchObject({ eventsWritten: 12, transactions: 3, stoppedBy: 'signal' });
    expect(await transactionSizes(db)).toEqual([4, 4, 4]);
  });

  test('an abort cuts a rate wait short', async () => {
    const db = await createTestDatabase('source');
    const controller = new AbortController();
    // The second call would be due in 100 s.
    const running = withClient(db, (client) =>
      runLoad({ client, events: 10, rateEventsPerSecond: 0.01, transactionSize: 1, seed: 9, signal: controller.signal }),
    );
    await waitUntil('the first event', async () => (await eventCount(db)) === 1);
    controller.abort();
    expect(await running).toMatchObject({ eventsWritten: 1, transactions: 1, stoppedBy: 'signal' });
  });

  test('refuses a session that reads backslashes in literals as escapes', async () => {
    const db = await createTestDatabase('source');
    await withClient(db, async (client) => {
      await client.query('SET standard_conforming_strings = off');
      await expect(runLoad({ client, events: 10, transactionSize: 10, seed: 1 })).rejects.toThrow(/standard_conforming_strings/);
    });
    expect(await eventCount(db)).toBe(0);
  });
});

describe('load command line', () => {
  test.each([
    ['postgres://alice:s%3Acret@db.example.com:6543/events', { host: 'db.example.com', port: 6543, databaseName: 'events', user: 'alice', password: 's:cret' }],
    ['postgresql://127.0.0.1/source', { host: '127.0.0.1', port: 5432, databaseName: 'source', user: undefined, password: undefined }],
    ['postgres://bob@[::1]:5433/a%20b', { host: '::1', port: 5433, databaseName: 'a b', user: 'bob', password: undefined }],
  ])('%s', (url, expected) => {
    const problems: ConfigProblem[] = [];
    expect(databaseFromUrl(url, '--url', problems)).toEqual(expected);
    expect(problems).toEqual([]);
  });

  test.each(['not a url', 'mysql://u:hunter2@h/db', 'postgres://u:hunter2@h', 'postgres://u:hunter2@h/db?sslmode=require', 'postgres://u:hunter2@h/a/b'])(
    'refuses %s without quoting its password',
    (url) => {
      const problems: ConfigProblem[] = [];
      expect(databaseFromUrl(url, '--url', problems)).toBeUndefined();
      expect(problems.length).toBeGreaterThan(0);
      expect(JSON.stringify(problems)).not.toContain('hunter2');
    },
  );

  test('defaults: 10000 events unless a duration is given', () => {
    expect(loadSettings({ url: 'postgres://h/d', seed: '1' })).toMatchObject({ events: 10_000, transactionSize: 10, seed: 1 });
    expect(loadSettings({ url: 'postgres://h/d', duration: '2.5' })).toMatchObject({ events: undefined, durationSeconds: 2.5 });
  });

  test('every problem is reported at once', () => {
    let error: unknown;
    try {
      loadSettings({ events: '0', duration: '-1', rate: 'fast', transactionSize: '1.5', seed: 'x' });
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => p.path)).toEqual([
      '--url',
      '--events',
      '--duration',
      '--rate',
      '--transaction-size',
      '--seed',
    ]);
  });
});

describe('slate-replicator load', () => {
  test('writes the events asked for, in transactions of the size asked for', async () => {
    const db = await createTestDatabase('source');
    const run = await runCli(['load', '--url', db.url, '--events', '500', '--transaction-size', '25', '--seed', '12']);
    expect(run.code).toBe(0);
    await expectEvents(db, takePersonEvents(12, 500));
    expect(await transactionSizes(db)).toEqual(Array<number>(20).fill(25));
    const finished = logRecords(run.stdout).find((record) => record.msg === 'load finished');
    expect(finished).toMatchObject({ eventsWritten: 500, transactions: 20, stoppedBy: 'events' });
    expect(finished).toHaveProperty('seconds');
    expect(finished).toHaveProperty('eventsPerSecond');
  });

  test('reads the source from a configuration file', async () => {
    const db = await createTestDatabase('source');
    const file = writeConfigFile({
      eventSource: db.config,
      replicationDestinations: [{ ...db.config, databaseName: `${db.name}_elsewhere` }],
    });
    const run = await runCli(['load', '-c', file, '--events', '30', '--transaction-size', '7']);
    expect(run.code).toBe(0);
    expect(await transactionSizes(db)).toEqual([7, 7, 7, 7, 2]);
    if (db.config.password !== undefined) expect(run.stdout).not.toContain(db.config.password);
  });

  test('invalid options: exit 2, every problem listed, nothing written', async () => {
    const db = await createTestDatabase('source');
    const run = await runCli(['load', '--url', db.url, '--events', 'many', '--rate', '0', '--transaction-size', '-3', '--duration', 'soon']);
    expect(run.code).toBe(2);
    for (const option of ['--events', '--rate', '--transaction-size', '--duration']) expect(run.stderr).toContain(`${option}:`);
    expect(await eventCount(db)).toBe(0);
  });

  test('a database without insert_events(text): exit 5', async () => {
    const db = await createTestDatabase('destination');
    const run = await runCli(['load', '--url', db.url, '--events', '10']);
    expect(run.code).toBe(5);
    expect(run.stderr).toContain('insert_events(text)');
  });

  test('SIGTERM stops it after the transaction in flight, exit 0', async () => {
    const db = await createTestDatabase('source');
    const run = spawnCli(['load', '--url', db.url, '--rate', '200', '--duration', '120', '--transaction-size', '10']);
    await waitUntil('some events', async () => (await eventCount(db)) >= 20);
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    const finished = logRecords(run.stdout()).find((record) => record.msg === 'load finished');
    expect(finished).toMatchObject({ stoppedBy: 'signal' });
    const count = await eventCount(db);
    expect(finished?.eventsWritten).toBe(count);
    expect(count % 10).toBe(0);
  });
});
