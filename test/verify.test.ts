/**
 * verify: equal destinations, lag, and every way a destination can differ, found at the
 * exact id; several destinations at once; beside a running replicator; the CLI's exit codes.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestDatabase } from './helpers/databases.js';
import type { TestDatabase } from './helpers/databases.js';
import { copyPrefix, insertNumbered, insertTransactions, waitForMaxId, withClient } from './helpers/events.js';
import { replicatorConfig, runCli, startTestReplicator, writeConfigFile } from './helpers/replicator.js';
import { firstDifferentRow } from '../src/verify/compareEvents.js';
import { formatProgress } from '../src/verify/report.js';
import { targetsOf, verifyDestinations } from '../src/verify/verifyDestinations.js';
import type { VerifyReport } from '../src/verify/verifyDestinations.js';

function configFile(source: TestDatabase, destinations: TestDatabase[]): string {
  return writeConfigFile({
    eventSource: source.config,
    replicationDestinations: destinations.map((d) => d.config),
    connectTimeout: 3000,
  });
}

async function verify(source: TestDatabase, destinations: TestDatabase[], rangeIds?: number): Promise<VerifyReport> {
  const config = { eventSource: source.config, replicationDestinations: destinations.map((d) => d.config) };
  return verifyDestinations({ ...targetsOf(config), connectTimeoutMs: 3000 }, { rangeIds });
}

/** A source of `transactions` x `perTransaction` events and a destination holding a copy of its first `copied` ids. */
async function sourceAndCopy(transactions: number, perTransaction: number, copied = transactions * perTransaction) {
  const source = await createTestDatabase('source');
  const destination = await createTestDatabase('destination');
  await insertTransactions(source, transactions, perTransaction);
  await copyPrefix(source, destination, copied);
  return { source, destination };
}

describe('verify finds equal destinations', () => {
  test('equal over 150,000 events in two ranges; rows not yet copied are lag, not a difference (exit 0)', async () => {
    const { source, destination } = await sourceAndCopy(160, 1000, 150_000);
    const result = await runCli(['verify', '-c', configFile(source, [destination])]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/replicationDestinations\[0\] \(.*\): equal, ids 1\.\.150000 compared in [0-9.]+ s; lag 10,000 events \(source max id 160000\)/);
    expect(result.stdout).toMatch(/verify: the destination equals the source/);
  });

  test('an empty destination is equal, with the whole source as lag', async () => {
    const source = await createTestDatabase('source');
    const destination = await createTestDatabase('destination');
    await insertNumbered(source, 5);
    const report = await verify(source, [destination]);
    expect(report.destinations[0]).toMatchObject({ equal: true, upToId: 0, lagEvents: 5, difference: undefined });
  });

  test('--json prints the report as JSON', async () => {
    const { source, destination } = await sourceAndCopy(3, 10);
    const result = await runCli(['verify', '--json', '-c', configFile(source, [destination])]);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as VerifyReport;
    expect(report.destinations[0]).toMatchObject({ equal: true, upToId: 30, equalUpToId: 30, lagEvents: 0, sourceMaxId: 30 });
  });
});

describe('verify finds the first differing id', () => {
  // 150 source transactions of 1,000 events (two ranges of 100,000 ids), shared by the cases;
  // each case changes a fresh full copy.
  let shared: TestDatabase;
  beforeAll(async () => {
    shared = await createTestDatabase('source');
    await insertTransactions(shared, 150, 1000);
  });
  afterAll(async () => {
    await shared.drop();
  });

  test.each([
    {
      name: 'a row in the middle with another event',
      change: `UPDATE events SET event = event || '{"tampered": true}' WHERE id = 123457`,
      id: 123_457,
      kind: 'differs',
      detail: 'row 123457 differs from the source\'s: event differs',
    },
    {
      name: 'a row whose ts lost its microseconds',
      change: `UPDATE events SET ts = date_trunc('milliseconds', ts) - interval '1 millisecond' WHERE id = 99999`,
      id: 99_999,
      kind: 'differs',
      detail: 'row 99999 differs from the source\'s: ts differs',
    },
    {
      name: 'a missing row',
      change: 'DELETE FROM events WHERE id = 77777',
      id: 77_777,
      kind: 'missing',
      detail: 'the destination has no row 77777; the source has one',
    },
    {
      name: 'two differences: the first one is reported',
      change: `UPDATE events SET event = '{}' WHERE id IN (5001, 140001)`,
      id: 5001,
      kind: 'differs',
      detail: 'row 5001 differs from the source\'s: event differs',
    },
  ])('$name', async ({ change, id, kind, detail }) => {
    const destination = await createTestDatabase('destination');
    await copyPrefix(shared, destination, 150_000);
    await withClient(destination, (client) => client.query(change));
    const report = await verify(shared, [destination]);
    expect(report.destinations[0]).toMatchObject({ equal: false, equalUpToId: id - 1, difference: { id, kind, detail } });
  });

  test('the CLI prints the id and exits 6; an equal destination beside it is reported equal', async () => {
    const { source, destination } = await sourceAndCopy(30, 100);
    const good = await createTestDatabase('destination');
    await copyPrefix(source, good, 3000);
    await withClient(destination, (client) => client.query(`UPDATE events SET event = '{"x":1}' WHERE id = 1500`));
    const result = await runCli(['verify', '-c', configFile(source, [good, destination])]);
    expect(result.code).toBe(6);
    expect(result.stdout).toMatch(/replicationDestinations\[0\] .*: equal, ids 1\.\.3000/);
    expect(result.stdout).toMatch(
      /replicationDestinations\[1\] .*: DIFFERS at id 1500: row 1500 differs from the source's: event differs; ids 1\.\.1499 are equal/,
    );
    expect(result.stdout).toMatch(/verify: 1 of 2 destinations differs from the source/);
    expect(result.stderr).toMatch(/1 destination differs from the source: replicationDestinations\[1\] .* at id 1500/);
  });

  test('a destination ahead of the source: its first extra row (ids 99..102 cross a power of ten)', async () => {
    const { source, destination } = await sourceAndCopy(10, 10);
    await withClient(destination, (client) => client.query(`INSERT INTO events VALUES (101, now(), '{}'), (102, now(), '{}')`));
    const report = await verify(source, [destination]);
    expect(report.destinations[0]).toMatchObject({ equal: false, upToId: 102, difference: { id: 101, kind: 'extra' } });
  });

  test('a row below id 1 on the destination', async () => {
    const { source, destination } = await sourceAndCopy(1, 10);
    await withClient(destination, (client) => client.query(`INSERT INTO events VALUES (0, now(), '{}')`));
    const report = await verify(source, [destination]);
    expect(report.destinations[0]?.difference).toMatchObject({ id: 0, kind: 'extra' });
  });

  test('a destination that ends inside a source transaction', async () => {
    const { source, destination } = await sourceAndCopy(10, 10, 45);
    const report = await verify(source, [destination]);
    expect(report.destinations[0]).toMatchObject({
      equal: false,
      equalUpToId: 45,
      difference: { id: 45, kind: 'partial-transaction' },
    });
  });

  test('bisection with short ranges finds the same id as with long ones', async () => {
    const { source, destination } = await sourceAndCopy(50, 100);
    await withClient(destination, (client) => client.query(`UPDATE events SET event = '{}' WHERE id = 3333`));
    for (const rangeIds of [7, 1000, 100_000]) {
      const report = await verify(source, [destination], rangeIds);
      expect(report.destinations[0]?.difference).toMatchObject({ id: 3333, kind: 'differs' });
    }
  });
});

describe('verify beside a running replicator', () => {
  test('compares up to the max id each destination had at the start while events keep arriving', async () => {
    const source = await createTestDatabase('source');
    const first = await createTestDatabase('destination');
    const second = await createTestDatabase('destination');
    await insertTransactions(source, 100, 500);
    await startTestReplicator(replicatorConfig(source, [first, second], { maxEventsPerWrite: 700, pollIntervalMs: 200 }));
    let writing = true;
    const writer = (async () => {
      let n = 0;
      while (writing) await insertNumbered(source, 1 + (n++ % 37));
    })();
    try {
      await waitForMaxId(first, 20_000, 30_000);
      const report = await verify(source, [first, second], 5_000);
      for (const verdict of report.destinations) {
        expect(verdict.equal, verdict.difference?.detail).toBe(true);
        expect(verdict.equalUpToId).toBe(verdict.upToId);
        expect(verdict.sourceMaxId).toBeGreaterThanOrEqual(verdict.upToId);
      }
    } finally {
      writing = false;
      await writer;
    }
  });
});

describe('verify refuses what is not a source and destinations', () => {
  test('a destination that is really a source: exit 5, nothing compared', async () => {
    const source = await createTestDatabase('source');
    const other = await createTestDatabase('source');
    const result = await runCli(['verify', '-c', configFile(source, [other])]);
    expect(result.code).toBe(5);
    expect(result.stderr).toMatch(/replicationDestinations\[0\].*looks like a source database/);
    expect(result.stdout).toBe('');
  });

  test('no -c: exit 2', async () => {
    const result = await runCli(['verify']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--config-filename: required/);
  });
});

describe('pieces', () => {
  const rows = (...pairs: Array<[number, string]>) => pairs.map(([id, hash]) => ({ id, hash }));
  test.each([
    { name: 'equal lists', source: rows([1, 'a'], [2, 'b']), destination: rows([1, 'a'], [2, 'b']), expected: undefined },
    { name: 'a hash differs', source: rows([1, 'a'], [2, 'b']), destination: rows([1, 'a'], [2, 'x']), expected: { id: 2, kind: 'differs' } },
    { name: 'a gap on the destination', source: rows([1, 'a'], [2, 'b'], [3, 'c']), destination: rows([1, 'a'], [3, 'c']), expected: { id: 2, kind: 'missing' } },
    { name: 'the destination is shorter', source: rows([1, 'a'], [2, 'b']), destination: rows([1, 'a']), expected: { id: 2, kind: 'missing' } },
    { name: 'the destination is longer', source: rows([1, 'a']), destination: rows([1, 'a'], [2, 'b']), expected: { id: 2, kind: 'extra' } },
    { name: 'an id the source lacks', source: rows([1, 'a'], [3, 'c']), destination: rows([1, 'a'], [2, 'b'], [3, 'c']), expected: { id: 2, kind: 'extra' } },
  ])('firstDifferentRow: $name', ({ source, destination, expected }) => {
    const found = firstDifferentRow(source, destination);
    if (expected === undefined) expect(found).toBeUndefined();
    else expect(found).toMatchObject(expected);
  });

  test('the progress line names each destination by its config path', () => {
    expect(
      formatProgress([
        { label: 'replicationDestinations[0] (h:5432/a)', comparedUpToId: 450_000, upToId: 1_000_000 },
        { label: 'replicationDestinations[1] (h:5432/b)', comparedUpToId: 0, upToId: 0 },
      ]),
    ).toBe('verify: replicationDestinations[0] 45% of 1,000,000 · replicationDestinations[1] 0% of 0');
  });
});
