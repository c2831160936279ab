/**
 * The replication engine against real PostgreSQL: catch-up, exact rows, atomic source
 * transactions, wake-ups lost or never sent, a destination server going away.
 */
import { describe, expect, test } from 'vitest';
import { adminUrl, createTestDatabase, createLegacySourceDatabase } from './helpers/databases.js';
import { adminQuery } from './helpers/admin.js';
import { startCluster } from './helpers/cluster.js';
import {
  copyPrefix,
  insertEvents,
  insertEventsWith,
  insertNumbered,
  insertTransactions,
  maxId,
  summarize,
  waitForMaxId,
  waitUntil,
  withClient,
} from './helpers/events.js';
import { replicatorConfig, startTestReplicator } from './helpers/replicator.js';

describe('catch-up', () => {
  test('copies a 50,000-event backlog into an empty and a half-filled destination, then follows new events', async () => {
    const source = await createTestDatabase('source');
    const empty = await createTestDatabase('destination');
    const halfFilled = await createTestDatabase('destination');
    // 50 source transactions of 1,000 events.
    const backlog = await insertTransactions(source, 50, 1000);
    expect(backlog).toBe(50_000);
    await copyPrefix(source, halfFilled, 25_000);

    const { replicator } = await startTestReplicator(
      replicatorConfig(source, [empty, halfFilled], { maxEventsPerWrite: 3_000, pollIntervalMs: 60_000 }),
    );
    await waitForMaxId(empty, backlog, 60_000);
    await waitForMaxId(halfFilled, backlog, 60_000);
    const expected = await summarize(source);
    expect(await summarize(empty)).toEqual(expected);
    expect(await summarize(halfFilled)).toEqual(expected);
    expect(replicator.status().destinations.map((d) => d.eventsCopied)).toEqual([50_000, 25_000]);

    // The safety poll is a minute away: only a notification can bring these within a second.
    const newMax = await insertNumbered(source, 10, 'live');
    await Promise.all([waitForMaxId(empty, newMax, 1000), waitForMaxId(halfFilled, newMax, 1000)]);
    expect(await summarize(empty)).toEqual(await summarize(source));
  });

  test('replicates from a source made by the old init-slate-db (per-row notify with the event in the payload)', async () => {
    const source = await createLegacySourceDatabase();
    const destination = await createTestDatabase('destination');
    await withClient(source, async (client) => {
      await client.query(`SELECT insert_events($$($1[1], $2, '{"entityName":"Person","n":1}'), ($1[2], $2, '{"n":2}')$$)`);
    });
    await startTestReplicator(replicatorConfig(source, [destination]));
    await waitForMaxId(destination, 2);
    await withClient(source, async (client) => {
      await client.query(`SELECT insert_events($$($1[1], $2, '{"n":3}')$$)`);
    });
    await waitForMaxId(destination, 3, 1000);
    expect(await summarize(destination)).toEqual(await summarize(source));
  });
});

describe('exact rows', () => {
  test('rows are equal as PostgreSQL compares them: microseconds, big numbers, Unicode, escapes, a 1 MB event', async () => {
    const source = await createTestDatabase('source');
    const destination = await createTestDatabase('destination');
    // Numbers go in as JSON text so no JavaScript double ever rounds them.
    await withClient(source, async (client) => {
      await client.query(`SELECT insert_events($1::jsonb)`, [
        `[{"big": 12345678901234567890, "precise": 1.10, "tiny": 1e-400, "huge": 1.7976931348623157e309,
           "neg": -0.000000000000000000000001, "exp": 6.02214076E23}]`,
      ]);
    });
    await insertEvents(source, [
      { text: 'Grüße, 日本語, emoji 😀, rtl עברית' },
      { text: 'quote \' double " backslash \\ tab \t newline \n nul-free \u0001 control' },
      { text: '\\u0000 is not a NUL here; $1[1] and $2 are just text' },
      { nested: { deep: [1, [2, [3, { k: null, t: true, f: false }]]] } },
    ]);
    await insertEvents(source, [{ blob: 'x'.repeat(1024 * 1024), entityName: 'Big' }]);
    // Three separate transactions a few microseconds apart: ts must keep every digit.
    for (let i = 0; i < 3; i++) await insertEvents(source, [{ i }]);

    await startTestReplicator(replicatorConfig(source, [destination]));
    const expected = await summarize(source);
    await waitForMaxId(destination, expected.maxId);
    expect(await summarize(destination)).toEqual(expected);
    // The microseconds really are there to lose.
    const micros = await withClient(destination, async (client) =>
      (await client.query<{ us: string }>(`SELECT count(*) FILTER (WHERE extract(microseconds FROM ts)::bigint % 1000 <> 0)::text AS us FROM events`)).rows[0]?.us,
    );
    expect(Number(micros)).toBeGreaterThan(0);
    const big = await withClient(destination, async (client) =>
      (await client.query<{ big: string; precise: string }>(`SELECT event->>'big' AS big, event->>'precise' AS precise FROM events WHERE id = 1`)).rows[0],
    );
    expect(big).toEqual({ big: '12345678901234567890', precise: '1.10' });
  });
});

describe('atomic source transactions', () => {
  test('a 25,000-row source transaction with maxEventsPerWrite 10,000 never shows partly', async () => {
    const source = await createTestDatabase('source');
    const destination = await createTestDatabase('destination');
    await insertNumbered(source, 7, 'before');
    await insertNumbered(source, 25_000, 'big');
    await insertNumbered(source, 3, 'after');
    const boundaries = new Set([0, 7, 25_007, 25_010]);

    const seen = new Set<number>();
    let sampling = true;
    const sampler = withClient(destination, async (client) => {
      while (sampling) {
        const result = await client.query<{ max: string | null }>('SELECT max(id)::text AS max FROM events');
        seen.add(Number(result.rows[0]?.max ?? 0));
      }
    });
    await startTestReplicator(replicatorConfig(source, [destination], { maxEventsPerWrite: 10_000 }));
    await waitForMaxId(destination, 25_010, 60_000);
    sampling = false;
    await sampler;
    for (const value of seen) expect(boundaries.has(value), `sampled max(id) ${value}`).toBe(true);
    expect(await summarize(destination)).toEqual(await summarize(source));
  });

  test('small source transactions are never split across destination transactions', async () => {
    const source = await createTestDatabase('source');
    const destination = await createTestDatabase('destination');
    // Transactions of 7 rows with maxEventsPerWrite 10: every batch must stop at a multiple of 7.
    await insertTransactions(source, 30, 7);
    const { logs } = await startTestReplicator(replicatorConfig(source, [destination], { maxEventsPerWrite: 10 }));
    await waitForMaxId(destination, 210);
    const positions = await withClient(destination, async (client) =>
      (await client.query<{ xmin: string; max: string }>('SELECT xmin::text, max(id)::text AS max FROM events GROUP BY xmin')).rows.map((r) => Number(r.max)),
    );
    expect(positions.length).toBe(30);
    for (const position of positions) expect(position % 7).toBe(0);
    expect(logs.records.filter((r) => r.level === 50)).toEqual([]);
  });
});

describe('wake-ups', () => {
  test('events committed while the listener is down arrive once it reconnects, without any poll', async () => {
    const source = await createTestDatabase('source');
    const destination = await createTestDatabase('destination');
    const writer = await source.connect();
    await insertEventsWith(writer, [{ first: true }]);
    const { replicator } = await startTestReplicator(replicatorConfig(source, [destination], { pollIntervalMs: 600_000 }));
    await waitForMaxId(destination, 1);

    // Keep the listener out while events are committed: their notifications reach no one.
    await adminQuery(adminUrl(), (admin) => admin.query(`ALTER DATABASE ${source.name} ALLOW_CONNECTIONS false`));
    await writer.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
       WHERE datname = current_database() AND application_name = 'slate-replicator listener'`,
    );
    await waitUntil('the listener noticed', () => !replicator.status().listenerConnected);
    let last = 0;
    for (let i = 0; i < 5; i++) last = await insertEventsWith(writer, [{ whileDown: i }, { whileDown: i, second: true }]);
    await adminQuery(adminUrl(), (admin) => admin.query(`ALTER DATABASE ${source.name} ALLOW_CONNECTIONS true`));

    await waitForMaxId(destination, last, 30_000);
    expect(await summarize(destination)).toEqual(await summarize(source));
    expect(replicator.status().listenerReconnects).toBeGreaterThanOrEqual(1);
  });

  test('repeated listener terminations while events are inserted lose nothing', async () => {
    const source = await createTestDatabase('source');
    const destination = await createTestDatabase('destination');
    await startTestReplicator(replicatorConfig(source, [destination], { pollIntervalMs: 600_000 }));
    const writer = await source.connect();
    let last = 0;
    for (let round = 0; round < 10; round++) {
      last = await insertEventsWith(writer, [{ round }]);
      await writer.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = current_database() AND application_name = 'slate-replicator listener'`,
      );
      last = await insertEventsWith(writer, [{ round, after: true }]);
    }
    await waitForMaxId(destination, last, 30_000);
    expect(await summarize(destination)).toEqual(await summarize(source));
  });

  test('the safety poll alone brings everything when the source never notifies', async () => {
    const source = await createTestDatabase('source');
    const destination = await createTestDatabase('destination');
    await withClient(source, (client) => client.query('ALTER TABLE events DISABLE TRIGGER notify_insert'));
    await startTestReplicator(replicatorConfig(source, [destination], { pollIntervalMs: 200 }));
    const last = await insertTransactions(source, 5, 10);
    await waitForMaxId(destination, last, 10_000);
    expect(await summarize(destination)).toEqual(await summarize(source));
  });

  test('foreign and non-JSON payloads on the channel are only wake-ups', async () => {
    const source = await createTestDatabase('source');
    const destination = await createTestDatabase('destination');
    const { replicator } = await startTestReplicator(replicatorConfig(source, [destination]));
    await withClient(source, async (client) => {
      await client.query(`NOTIFY eventsinsert, 'not json {'`);
      await client.query(`NOTIFY eventsinsert, '{"table":"events","id":999999}'`);
    });
    const last = await insertNumbered(source, 5);
    await waitForMaxId(destination, last, 5_000);
    expect(replicator.status().destinations[0]?.state).not.toBe('stopped');
  });
});

describe('destinations are independent', () => {
  test('one destination server stopped: the other keeps up; the stopped one catches up on return, no duplicates', async () => {
    const source = await createTestDatabase('source');
    const near = await createTestDatabase('destination');
    const cluster = await startCluster();
    const far = await cluster.createDatabase('destination');
    await insertNumbered(source, 100);
    const { replicator } = await startTestReplicator(replicatorConfig(source, [near, far], { pollIntervalMs: 1_000 }));
    await waitForMaxId(far, 100);

    await cluster.stop();
    let last = 0;
    for (let i = 0; i < 5; i++) last = await insertNumbered(source, 50, `down${i}`);
    await waitForMaxId(near, last, 5_000);
    await waitUntil('the far destination is retrying', () => replicator.status().destinations[1]?.state === 'retrying', 30_000);

    await cluster.start();
    await waitForMaxId(far, last, 60_000);
    const expected = await summarize(source);
    expect(await summarize(near)).toEqual(expected);
    expect(await summarize(far)).toEqual(expected);
  });
});

describe('stopping', () => {
  test('stopping while the source is down ends the listener for good: no reconnection afterwards', async () => {
    const cluster = await startCluster();
    const source = await cluster.createDatabase('source');
    const destination = await createTestDatabase('destination');
    const { replicator, logs } = await startTestReplicator(replicatorConfig(source, [destination]));
    await cluster.stop();
    await waitUntil('the listener is reconnecting', () => logs.messages().includes('listener connection lost; reconnecting'));
    await replicator.stop();
    const linesAtStop = logs.records.length;
    await cluster.start();
    // Longer than the first backoff steps: a reconnect loop still running would have connected.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const sessions = await withClient(source, async (client) =>
      (await client.query<{ n: string }>(
        `SELECT count(*)::text AS n FROM pg_stat_activity WHERE application_name LIKE 'slate-replicator%'`,
      )).rows[0]?.n,
    );
    expect(sessions).toBe('0');
    expect(logs.records.slice(linesAtStop)).toEqual([]);
  });
});

describe('one writer per destination', () => {
  test('a second replicator waits as a standby and takes over when the first stops', async () => {
    const source = await createTestDatabase('source');
    const destination = await createTestDatabase('destination');
    await insertNumbered(source, 10);
    const config = replicatorConfig(source, [destination], { pollIntervalMs: 200 });
    const first = await startTestReplicator(config);
    await waitForMaxId(destination, 10);
    const second = await startTestReplicator(config);
    await waitUntil('the second is a standby', () => second.replicator.status().destinations[0]?.state === 'standby');
    expect(second.logs.messages().some((m) => m.startsWith('standby:'))).toBe(true);

    const holder = await withClient(destination, async (client) =>
      (await client.query<{ n: string }>(
        `SELECT count(*)::text AS n FROM pg_locks WHERE locktype = 'advisory' AND classid = 1936482676 AND objid = 1 AND granted
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      )).rows[0]?.n,
    );
    expect(holder).toBe('1');

    await first.replicator.stop();
    const last = await insertNumbered(source, 5);
    await waitForMaxId(destination, last, 10_000);
    expect(second.replicator.status().destinations[0]?.eventsCopied).toBe(5);
    expect(await summarize(destination)).toEqual(await summarize(source));
  });

  test('a standby that is stopped writes nothing: it never held the writer lock', async () => {
    const source = await createTestDatabase('source');
    const destination = await createTestDatabase('destination');
    await insertNumbered(source, 10);
    // Another writer's session holds the writer lock.
    await withClient(destination, async (holder) => {
      await holder.query('SELECT pg_advisory_lock(1936482676, 1)');
      const { replicator } = await startTestReplicator(replicatorConfig(source, [destination], { pollIntervalMs: 200 }));
      await waitUntil('the replicator is a standby', () => replicator.status().destinations[0]?.state === 'standby');
      await replicator.stop();
      expect(await maxId(destination)).toBe(0);
    });
  });
});

/** Whether the replicator's writer session on `destination` waits for a lock. */
async function writerWaitsForLock(destination: { url: string }): Promise<boolean> {
  return withClient(destination, async (client) => {
    const result = await client.query(
      `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'slate-replicator writer' AND wait_event_type = 'Lock'`,
    );
    return (result.rowCount ?? 0) > 0;
  });
}

describe('maintenance on a destination', () => {
  test("VACUUM and ANALYZE do not hold writes back: their lock on events (SHARE UPDATE EXCLUSIVE) lets a catch-up and an in-sync write through", async () => {
    const source = await createTestDatabase('source');
    const destination = await createTestDatabase('destination');
    await insertNumbered(source, 10);
    // What VACUUM, ANALYZE and autovacuum hold on the table while they run.
    await withClient(destination, async (maintenance) => {
      await maintenance.query('BEGIN');
      await maintenance.query('LOCK TABLE events IN SHARE UPDATE EXCLUSIVE MODE');
      await startTestReplicator(replicatorConfig(source, [destination], { pollIntervalMs: 60_000 }));
      await waitForMaxId(destination, 10, 10_000);
      await insertTransactions(source, 1, 5);
      await waitForMaxId(destination, 15, 10_000);
    });
    expect(await summarize(destination)).toEqual(await summarize(source));
  });
});

describe('another writer', () => {
  test('a row inserted by hand into a destination stops the replicator instead of being overwritten or skipped', async () => {
    const source = await createTestDatabase('source');
    const destination = await createTestDatabase('destination');
    await insertNumbered(source, 10);
    const { replicator } = await startTestReplicator(replicatorConfig(source, [destination]));
    await waitForMaxId(destination, 10);
    await withClient(destination, (client) => client.query(`INSERT INTO events VALUES (11, now(), '{"by":"hand"}')`));
    await insertNumbered(source, 5);
    await expect(replicator.done).rejects.toMatchObject({ exitCode: 6 });
    await expect(replicator.done).rejects.toThrow(/max id is 11 but this replicator had written up to 10/);
    expect(await maxId(destination)).toBe(11);
  });

  test.each([
    ['an in-sync write', false],
    ['a planned batch (no PL/pgSQL on the destination)', true],
  ])('a row another writer commits with an id the replicator is copying stops it; the row is neither duplicated nor overwritten (%s)', async (_, plannedOnly) => {
    const source = await createTestDatabase('source');
    const destination = await createTestDatabase('destination');
    if (plannedOnly) await withClient(destination, (client) => client.query('DROP EXTENSION plpgsql'));
    await insertNumbered(source, 10);
    const { replicator } = await startTestReplicator(replicatorConfig(source, [destination], { pollIntervalMs: 60_000 }));
    await waitForMaxId(destination, 10);
    // The other writer's row 11 is not committed yet, so the replicator's position check passes
    // and its COPY of ids 11..15 waits on the primary key for the other transaction's end.
    await withClient(destination, async (other) => {
      await other.query('BEGIN');
      await other.query(`INSERT INTO events VALUES (11, now(), '{"by":"hand"}')`);
      await insertNumbered(source, 5);
      await waitUntil('the replicator waits for the other writer', () => writerWaitsForLock(destination));
      await other.query('COMMIT');
    });
    await expect(replicator.done).rejects.toMatchObject({ exitCode: 6 });
    await expect(replicator.done).rejects.toThrow(/a row this replicator was copying after id 10 is already in the destination/);
    const rows = await withClient(destination, async (client) =>
      (await client.query<{ rows: number; hand: string }>(`SELECT count(*)::int AS rows, max(event->>'by') AS hand FROM events`)).rows[0],
    );
    expect(rows).toEqual({ rows: 11, hand: 'hand' });
  });

  test('a source row inserted behind insert_events (a gap in ids) stops the replicator', async () => {
    const source = await createTestDatabase('source');
    const destination = await createTestDatabase('destination');
    await insertNumbered(source, 10);
    const { replicator } = await startTestReplicator(replicatorConfig(source, [destination]));
    await waitForMaxId(destination, 10);
    await withClient(source, (client) => client.query(`INSERT INTO events VALUES (15, now(), '{"by":"hand"}')`));
    await expect(replicator.done).rejects.toThrow(/not consecutive after id 10: ids 11\.\.15 hold 1 rows, not 5/);
    expect(await maxId(destination)).toBe(10);
  });
});

/** The statement the replicator's session `role` ('writer' on a destination, 'reader' on the source) ran last. */
async function lastStatement(db: { url: string }, role: 'writer' | 'reader'): Promise<string> {
  return withClient(db, async (client) => {
    const result = await client.query<{ query: string }>(
      'SELECT query FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()',
      [`slate-replicator ${role}`],
    );
    return result.rows[0]?.query ?? '';
  });
}

async function writerLastStatement(destination: { url: string }): Promise<string> {
  return lastStatement(destination, 'writer');
}

/** The in-sync write's source read: every row after the position, bounded inside the statement (copyAllPendingOut). */
const IN_SYNC_READ = /^COPY \(SELECT id, ts, event FROM events WHERE id > (\d+) .*CASE WHEN/s;

describe('in sync', () => {
  test("a wake-up's rows are copied without a planning step: the source's COPY bounds itself, the position check rides with the destination's COPY", async () => {
    const source = await createTestDatabase('source');
    const destination = await createTestDatabase('destination');
    await insertNumbered(source, 10);
    await startTestReplicator(replicatorConfig(source, [destination], { pollIntervalMs: 60_000 }));
    await waitForMaxId(destination, 10);
    // The catch-up at start plans its batches; the read it ran last is a planned one.
    expect(await lastStatement(source, 'reader')).not.toMatch(IN_SYNC_READ);
    // One source transaction, so one notification: the write it wakes ran the reader's last statement.
    await insertTransactions(source, 1, 21);
    await waitForMaxId(destination, 31);
    expect(IN_SYNC_READ.exec(await lastStatement(source, 'reader'))?.[1]).toBe('10');
    expect(await writerLastStatement(destination)).toBe('COMMIT');
    expect(await summarize(destination)).toEqual(await summarize(source));
  });

  test('a notification announcing ids already copied starts no write; one announcing a later id, or none, does', async () => {
    const source = await createTestDatabase('source');
    const destination = await createTestDatabase('destination');
    await insertNumbered(source, 10);
    await startTestReplicator(replicatorConfig(source, [destination], { pollIntervalMs: 60_000 }));
    await waitForMaxId(destination, 10);
    await insertTransactions(source, 1, 5);
    await waitForMaxId(destination, 15);
    const afterWrite = await writerLastStatement(destination);
    expect(afterWrite).toBe('COMMIT');
    const notify = (payload: string) => withClient(source, (client) => client.query('SELECT pg_notify($1, $2)', ['eventsinsert', payload]));

    await notify('15');
    await notify('{"id": 12, "event": {}}');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await writerLastStatement(destination)).toBe(afterWrite);

    for (const payload of ['16', 'not an id']) {
      await withClient(destination, (client) => client.query('SELECT pg_stat_clear_snapshot()'));
      await notify(payload);
      // Nothing is new, so the write it starts ends in a ROLLBACK.
      await waitUntil(`a write woken by ${payload}`, async () => (await writerLastStatement(destination)) === 'ROLLBACK', 5_000);
      await insertTransactions(source, 1, 1);
      await waitUntil('the next row is copied', async () => (await writerLastStatement(destination)) !== 'ROLLBACK', 5_000);
    }
    expect(await summarize(destination)).toEqual(await summarize(source));
  });

  test('more rows than maxEventsPerWrite arriving at once are planned into batches as in a catch-up', async () => {
    const source = await createTestDatabase('source');
    const destination = await createTestDatabase('destination');
    await startTestReplicator(replicatorConfig(source, [destination], { maxEventsPerWrite: 100, pollIntervalMs: 60_000 }));
    await insertNumbered(source, 1);
    await waitForMaxId(destination, 1);
    // One source transaction of 250 rows: too many for the in-sync write, and whole in one destination transaction.
    await insertTransactions(source, 1, 250);
    await waitForMaxId(destination, 251);
    expect(await summarize(destination)).toEqual(await summarize(source));
  });

  test('a destination without PL/pgSQL is written to by planned batches only', async () => {
    const source = await createTestDatabase('source');
    const destination = await createTestDatabase('destination');
    await withClient(destination, (client) => client.query('DROP EXTENSION plpgsql'));
    await insertNumbered(source, 10);
    await startTestReplicator(replicatorConfig(source, [destination], { pollIntervalMs: 60_000 }));
    await waitForMaxId(destination, 10);
    await insertTransactions(source, 3, 7);
    await waitForMaxId(destination, 31);
    expect(await lastStatement(source, 'reader')).not.toMatch(IN_SYNC_READ);
    expect(await summarize(destination)).toEqual(await summarize(source));
  });
});
