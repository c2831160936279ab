/**
 * The test harness itself: per-test databases, their cleanup, the notification recorder,
 * and clusters a test can stop and start.
 */
import { existsSync } from 'node:fs';
import { describe, expect, inject, test } from 'vitest';
import pg from 'pg';
import { closeQuietly, connect } from '../src/db/connect.js';
import { adminQuery } from './helpers/admin.js';
import { startCluster } from './helpers/cluster.js';
import { createLegacySourceDatabase, createTestDatabase } from './helpers/databases.js';
import { recordNotifications } from './helpers/notifications.js';

async function tables(db: { query: (sql: string) => Promise<pg.QueryResult> }): Promise<string[]> {
  const { rows } = await db.query(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`,
  );
  return rows.map((row: { table_name: string }) => row.table_name);
}

async function databaseExists(name: string): Promise<boolean> {
  return adminQuery(inject('adminUrl'), async (admin) => {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    return rowCount === 1;
  });
}

describe('createTestDatabase', () => {
  test('each kind has the tables it should', async () => {
    const [source, destination, empty] = await Promise.all([
      createTestDatabase('source'),
      createTestDatabase('destination'),
      createTestDatabase('empty'),
    ]);
    expect(await tables(source)).toEqual(['events', 'id']);
    expect(await tables(destination)).toEqual(['events']);
    expect(await tables(empty)).toEqual([]);
    expect(new Set([source.name, destination.name, empty.name]).size).toBe(3);
    expect(source.name).toMatch(new RegExp(`^slt_${inject('runId')}_[0-9a-f]+$`));
  });

  test('its config is a DatabaseConfig the replicator can connect with', async () => {
    const source = await createTestDatabase('source');
    expect(source.config.databaseName).toBe(source.name);
    const client = await connect(source.config, { connectTimeoutMs: 5000, applicationName: 'harness-test' });
    try {
      const { rows } = await client.query<{ db: string }>('SELECT current_database() AS db');
      expect(rows).toEqual([{ db: source.name }]);
    } finally {
      await closeQuietly(client);
    }
  });

  let droppedAfterTest = '';
  test('a database made in a test ...', async () => {
    const db = await createTestDatabase('destination');
    const client = await db.connect();
    await client.query('SELECT 1');
    droppedAfterTest = db.name;
    expect(await databaseExists(db.name)).toBe(true);
  });

  test('... is gone after it, open clients and all', async () => {
    expect(droppedAfterTest).not.toBe('');
    expect(await databaseExists(droppedAfterTest)).toBe(false);
  });

  test('drop() is idempotent and ends sessions', async () => {
    const db = await createTestDatabase('source');
    await db.query('SELECT 1');
    await db.drop();
    await db.drop();
    expect(await databaseExists(db.name)).toBe(false);
  });

  test('the legacy source has the old objects, restore_events included', async () => {
    const legacy = await createLegacySourceDatabase();
    expect(await tables(legacy)).toEqual(['events', 'id']);
    const { rows } = await legacy.query<{ name: string }>(
      `SELECT proname AS name FROM pg_proc WHERE pronamespace = 'public'::regnamespace ORDER BY proname`,
    );
    expect(rows.map((r) => r.name)).toEqual(['filter_sql_command', 'insert_events', 'notify_event_insert', 'restore_events']);
  });
});

describe('recordNotifications', () => {
  test('flush() returns what was committed before it, waitFor() waits for a count', async () => {
    const db = await createTestDatabase('empty');
    const notes = await recordNotifications(db, 'harness_channel');
    expect(await notes.flush()).toEqual([]);
    await db.query(`SELECT pg_notify('harness_channel', 'one'), pg_notify('other_channel', 'x')`);
    await db.query(`NOTIFY harness_channel, 'two'`);
    expect(await notes.waitFor(2)).toEqual(['one', 'two']);
    expect(await notes.flush()).toEqual(['one', 'two']);
    await expect(notes.waitFor(3, 200)).rejects.toThrow(/expected 3 notification/);
  });
});

describe('startCluster', () => {
  test('a cluster can be stopped and started again, same port, data kept', async () => {
    const cluster = await startCluster();
    const source = await cluster.createDatabase('source');
    await source.query(`SELECT insert_events('[{"a":1}]'::jsonb)`);
    const session = await source.connect();

    await cluster.stop();
    expect(cluster.running).toBe(false);
    await expect(session.query('SELECT 1')).rejects.toThrow();
    const refused = new pg.Client({ connectionString: source.url, connectionTimeoutMillis: 2000 });
    refused.on('error', () => {});
    await expect(refused.connect()).rejects.toMatchObject({ code: 'ECONNREFUSED' });

    await cluster.start();
    expect(cluster.running).toBe(true);
    expect(new URL(cluster.adminUrl).port).toBe(String(cluster.port));
    const again = await source.connect();
    const { rows } = await again.query<{ id: string; event: unknown }>('SELECT id::text, event FROM events');
    expect(rows).toEqual([{ id: '1', event: { a: 1 } }]);
  });

  test('its databases get the schema of their kind', async () => {
    const cluster = await startCluster();
    const [source, destination, empty] = await Promise.all([
      cluster.createDatabase('source'),
      cluster.createDatabase('destination'),
      cluster.createDatabase('empty'),
    ]);
    expect(await tables(source)).toEqual(['events', 'id']);
    expect(await tables(destination)).toEqual(['events']);
    expect(await tables(empty)).toEqual([]);
  });

  test('destroy() stops it and removes its data directory', async () => {
    const cluster = await startCluster();
    expect(existsSync(cluster.dataDir)).toBe(true);
    await cluster.destroy();
    await cluster.destroy();
    expect(existsSync(cluster.dataDir)).toBe(false);
    const client = new pg.Client({ connectionString: cluster.adminUrl, connectionTimeoutMillis: 2000 });
    client.on('error', () => {});
    await expect(client.connect()).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
