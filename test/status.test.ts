/**
 * `slate-replicator status`: positions and lag read once from the databases, as a table or
 * JSON, with the exit code saying whether every destination is in sync.
 */
import { describe, expect, test } from 'vitest';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { createTestDatabase } from './helpers/databases.js';
import { copyPrefix, insertNumbered, withClient } from './helpers/events.js';
import { runCli, writeConfigFile } from './helpers/replicator.js';
import type { DatabaseConfig } from '../src/types.js';
import type { PositionsReport } from '../src/status/statusReport.js';

function configFor(source: { config: DatabaseConfig }, destinations: Array<{ config: DatabaseConfig }>): string {
  return writeConfigFile({
    eventSource: source.config,
    replicationDestinations: destinations.map((d) => d.config),
    connectTimeout: 3000,
  });
}

function nameOf(db: { config: DatabaseConfig }): string {
  return `${db.config.host}:${db.config.port}/${db.config.databaseName}`;
}

/** The source's ts of `id` as status prints it: UTC, microseconds. */
async function tsOf(db: { url: string }, id: number): Promise<string> {
  return withClient(db, async (client) => {
    const result = await client.query<{ ts: string }>(
      `SELECT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS ts FROM events WHERE id = $1`,
      [id],
    );
    return result.rows[0]?.ts ?? '';
  });
}

async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

describe('status', () => {
  test('every destination in sync: exit 0, a table, and --json (ids past 99, so they compare as numbers)', async () => {
    const source = await createTestDatabase('source');
    const first = await createTestDatabase('destination');
    const second = await createTestDatabase('destination');
    await insertNumbered(source, 100);
    const last = await insertNumbered(source, 23);
    await copyPrefix(source, first, last);
    await copyPrefix(source, second, last);
    const config = configFor(source, [first, second]);

    const table = await runCli(['status', '-c', config]);
    expect(table.stderr).toBe('');
    expect(table.code).toBe(0);
    const lines = table.stdout.split('\n');
    expect(lines[0]).toBe(`source ${nameOf(source)}: max id 123, newest event ${await tsOf(source, 123)}`);
    expect(lines[2]).toMatch(/^destination +position +lag events +lag seconds +state$/);
    expect(lines[3]).toMatch(new RegExp(`^${nameOf(first)} +123 +0 +0\\.000 +in sync$`));
    expect(lines[4]).toMatch(new RegExp(`^${nameOf(second)} +123 +0 +0\\.000 +in sync$`));

    const json = await runCli(['status', '-c', config, '--json']);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as PositionsReport;
    expect(report).toEqual({
      source: { name: nameOf(source), maxId: 123, newestTs: await tsOf(source, 123) },
      destinations: [
        { name: nameOf(first), position: 123, lastTs: await tsOf(source, 123), lagEvents: 0, lagSeconds: 0, state: 'in-sync' },
        { name: nameOf(second), position: 123, lastTs: await tsOf(source, 123), lagEvents: 0, lagSeconds: 0, state: 'in-sync' },
      ],
      inSync: true,
    });
  });

  test('a lagging destination: exit 7, lag in events and in seconds of source time', async () => {
    const source = await createTestDatabase('source');
    const upToDate = await createTestDatabase('destination');
    const behind = await createTestDatabase('destination');
    const empty = await createTestDatabase('destination');
    await insertNumbered(source, 40);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const last = await insertNumbered(source, 10);
    await copyPrefix(source, upToDate, last);
    await copyPrefix(source, behind, 40);

    const result = await runCli(['status', '-c', configFor(source, [upToDate, behind, empty]), '--json']);
    expect(result.code).toBe(7);
    expect(result.stderr).toBe('slate-replicator: 2 of 3 destinations lag the source\n');
    const report = JSON.parse(result.stdout) as PositionsReport;
    const seconds = await withClient(source, async (client) => {
      const r = await client.query<{ newest_first: string; newest_oldest: string }>(
        `SELECT extract(epoch FROM (SELECT ts FROM events WHERE id = 50) - (SELECT ts FROM events WHERE id = 40))::float8 AS newest_first,
                extract(epoch FROM (SELECT ts FROM events WHERE id = 50) - (SELECT ts FROM events WHERE id = 1))::float8 AS newest_oldest`,
      );
      return { behind: Number(r.rows[0]?.newest_first), empty: Number(r.rows[0]?.newest_oldest) };
    });
    expect(seconds.behind).toBeGreaterThan(0.04);
    expect(report.inSync).toBe(false);
    expect(report.destinations).toEqual([
      { name: nameOf(upToDate), position: 50, lastTs: await tsOf(source, 50), lagEvents: 0, lagSeconds: 0, state: 'in-sync' },
      { name: nameOf(behind), position: 40, lastTs: await tsOf(source, 40), lagEvents: 10, lagSeconds: seconds.behind, state: 'lagging' },
      { name: nameOf(empty), position: 0, lastTs: null, lagEvents: 50, lagSeconds: seconds.empty, state: 'lagging' },
    ]);

    const table = await runCli(['status', '-c', configFor(source, [upToDate, behind, empty])]);
    expect(table.code).toBe(7);
    expect(table.stdout).toMatch(new RegExp(`^${nameOf(behind)} +40 +10 +\\d+\\.\\d{3} +lagging$`, 'm'));
  });

  test('a destination ahead of the source: exit 6', async () => {
    const source = await createTestDatabase('source');
    const destination = await createTestDatabase('destination');
    await insertNumbered(source, 5);
    await copyPrefix(source, destination, 5);
    const other = await createTestDatabase('source');
    const result = await runCli(['status', '-c', configFor(other, [destination])]);
    expect(result.code).toBe(6);
    expect(result.stdout).toMatch(/ +5 +0 +0\.000 +AHEAD of the source$/m);
    expect(result.stderr).toContain('has more events than the source');
  });

  test('an unreachable destination: the table still shows the others, exit 3', async () => {
    const source = await createTestDatabase('source');
    const destination = await createTestDatabase('destination');
    await insertNumbered(source, 3);
    await copyPrefix(source, destination, 3);
    const port = await closedPort();
    const result = await runCli(['status', '-c', configFor(source, [destination, { config: { host: '127.0.0.1', port, databaseName: 'gone' } }]), '--json']);
    expect(result.code).toBe(3);
    const report = JSON.parse(result.stdout) as PositionsReport;
    expect(report.destinations[0]).toMatchObject({ state: 'in-sync', position: 3 });
    expect(report.destinations[1]).toMatchObject({ name: `127.0.0.1:${port}/gone`, state: 'unreachable', position: null, lagEvents: null });
    expect(report.destinations[1]?.error).toContain(`cannot connect to 127.0.0.1:${port}/gone`);
    expect(result.stderr).toContain(`cannot connect to 127.0.0.1:${port}/gone`);
  });

  test('an unreachable source: exit 3 and nothing on stdout', async () => {
    const destination = await createTestDatabase('destination');
    const port = await closedPort();
    const result = await runCli(['status', '-c', configFor({ config: { host: '127.0.0.1', port, databaseName: 'src' } }, [destination])]);
    expect(result.code).toBe(3);
    expect(result.stdout).toBe('');
  });

  test('a database without an events table: exit 5', async () => {
    const source = await createTestDatabase('source');
    const empty = await createTestDatabase('empty');
    const result = await runCli(['status', '-c', configFor(source, [empty])]);
    expect(result.code).toBe(5);
    expect(result.stderr).toContain('has no events table');
  });

  test('without -c: exit 2; an unknown option: exit 2', async () => {
    expect((await runCli(['status'])).code).toBe(2);
    expect((await runCli(['status', '--jsn'])).code).toBe(2);
  });
});
