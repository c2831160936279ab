/**
 * The stage of a fault scenario: a source and destinations, each on a PostgreSQL server of
 * its own (so each can be restarted), optionally a TCP proxy in front of each server on
 * the replicator's path, writers inserting through insert_events, a sampler per destination
 * recording the max(id) a reader sees, and the replicator as a child process.
 *
 *   const rig = await startRig({ scenario: 'kill-9' });
 *   ... inject faults, counting them with rig.fault('kill-9') ...
 *   await rig.finish();   // writers stop; destinations catch up; every check; a summary line
 *
 * Each scenario draws every random choice (fault kinds, moments, transaction sizes) from
 * one seed, printed at the start and taken from SLATE_FAULT_SEED when set, so a failing run
 * can be repeated (the interleaving with the servers' own timing still varies).
 *
 * The checks of finish(), after every fault has been undone:
 * - each destination reaches the source's max id, and verify finds it equal to the source;
 * - each destination's row count equals its max id;
 * - no max(id) a sampler saw was inside a source transaction;
 * - no replicator exited on its own (other than being unreachable at start-up), and no
 *   password appears in anything a replicator wrote.
 */
import { expect } from 'vitest';
import { Random } from '../../src/load/random.js';
import { targetsOf, verifyDestinations } from '../../src/verify/verifyDestinations.js';
import type { VerifyReport } from '../../src/verify/verifyDestinations.js';
import type { DatabaseConfig } from '../../src/types.js';
import { startCluster } from '../helpers/cluster.js';
import type { Cluster } from '../helpers/cluster.js';
import type { TestDatabase } from '../helpers/databases.js';
import { maxId, waitUntil, withClient } from '../helpers/events.js';
import { startProxy } from '../helpers/proxy.js';
import type { Proxy } from '../helpers/proxy.js';
import { writeConfigFile } from '../helpers/replicator.js';
import { ReplicatorProcess } from './replicatorProcess.js';
import { MaxIdSampler, insideTransactions } from './sampler.js';
import { Writers } from './writers.js';
import type { WriterFigures } from './writers.js';

/** The seed of this run: SLATE_FAULT_SEED, or a random one. */
export function faultSeed(): number {
  const text = process.env.SLATE_FAULT_SEED;
  if (text === undefined || text === '') return Math.floor(Math.random() * 0x1_0000_0000);
  const seed = Number(text);
  if (!/^[0-9]+$/.test(text) || !Number.isSafeInteger(seed)) throw new Error(`SLATE_FAULT_SEED must be a non-negative integer, got ${text}`);
  return seed;
}

/** Seconds of the soak run (SLATE_SOAK_SECONDS), or undefined when it is not asked for. */
export function soakSeconds(): number | undefined {
  const text = process.env.SLATE_SOAK_SECONDS;
  if (text === undefined || text === '') return undefined;
  const seconds = Number(text);
  if (!(seconds > 0)) throw new Error(`SLATE_SOAK_SECONDS must be a positive number, got ${text}`);
  return seconds;
}

export interface RigOptions {
  scenario: string;
  destinations?: number;
  /** Put a TCP proxy between the replicator and every server. */
  proxied?: boolean;
  maxEventsPerWrite?: number;
  pollIntervalMs?: number;
  writers?: number;
  writerPauseMs?: number;
}

export interface ScenarioSummary {
  scenario: string;
  seed: number;
  faults: Record<string, number>;
  faultCount: number;
  written: WriterFigures;
  sourceMaxId: number;
  eventsVerified: number;
  differences: number;
  samples: number;
  seconds: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class Rig {
  readonly random: Random;
  readonly faults = new Map<string, number>();
  readonly replicators: ReplicatorProcess[] = [];
  private readonly startedAt = performance.now();

  constructor(
    readonly scenario: string,
    readonly seed: number,
    readonly sourceCluster: Cluster,
    readonly destinationClusters: Cluster[],
    readonly source: TestDatabase,
    readonly destinations: TestDatabase[],
    readonly sourceProxy: Proxy | undefined,
    readonly destinationProxies: Proxy[],
    readonly configFile: string,
    readonly writers: Writers,
    readonly samplers: MaxIdSampler[],
  ) {
    this.random = new Random(seed);
  }

  /** When each fault was injected, for the diagnostics of a failed wait. */
  private readonly timeline: string[] = [];

  /** Counts one injected fault of `kind`. */
  fault(kind: string): void {
    this.faults.set(kind, (this.faults.get(kind) ?? 0) + 1);
    this.timeline.push(`${new Date().toISOString().slice(11, 23)} ${kind}`);
  }

  get faultCount(): number {
    return [...this.faults.values()].reduce((a, b) => a + b, 0);
  }

  /** A new replicator process on the rig's configuration, started. */
  startReplicator(): ReplicatorProcess {
    const replicator = new ReplicatorProcess(this.configFile);
    this.replicators.push(replicator);
    replicator.start();
    return replicator;
  }

  /** Waits a random time in [minMs, maxMs). */
  async pause(minMs: number, maxMs: number): Promise<void> {
    await sleep(this.random.int(minMs, maxMs));
  }

  /** Fails at once if a replicator ended by itself: nothing else a scenario checks would make sense. */
  assertReplicatorsHealthy(): void {
    const unexpected = this.replicators.flatMap((r) => r.unexpectedExits());
    if (unexpected.length > 0) {
      const first = unexpected[0];
      throw new Error(`a replicator exited by itself with ${first?.code}:\n${first?.stderr}\n${first?.stdout.split('\n').slice(-20).join('\n')}`);
    }
  }

  /** Waits until `check` holds, failing early if a replicator died. */
  async waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
    try {
      await waitUntil(what, async () => {
        this.assertReplicatorsHealthy();
        return check();
      }, timeoutMs, 100);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${this.recentLog()}`, { cause: error });
    }
  }

  /** The last faults and the replicators' last log lines, shortened, to see what went on when a wait failed. */
  recentLog(lines = 40): string {
    const faults = `last faults injected:\n${this.timeline.slice(-lines).map((line) => `  ${line}`).join('\n')}\n`;
    return faults + this.replicators
      .map((replicator, i) => {
        const records = replicator.records().slice(-lines);
        const text = records.map((r) => {
          const err = (r.err as { message?: string } | undefined)?.message;
          const where = r.destination ?? r.listener ?? '';
          return `  ${String(r.time).slice(11, 23)} ${String(r.msg)} ${String(where)}${err === undefined ? '' : ` (${err})`}`;
        });
        return `replicator ${i} (${replicator.running ? 'running' : 'not running'}), last ${records.length} log lines:\n${text.join('\n')}`;
      })
      .join('\n');
  }

  /** Undoes lasting faults, stops the writers, lets the destinations catch up, and runs every check. */
  async finish(): Promise<ScenarioSummary> {
    this.sourceProxy?.resume();
    for (const proxy of this.destinationProxies) proxy.resume();
    for (const cluster of [this.sourceCluster, ...this.destinationClusters]) if (!cluster.running) await cluster.start();
    for (const replicator of this.replicators) if (!replicator.stoppedForGood) replicator.start();
    const written = await this.writers.stop();
    const sourceMaxId = await maxId(this.source);
    for (const destination of this.destinations) {
      await this.waitFor(`${destination.name} reaches the source's max id ${sourceMaxId}`, async () => (await maxId(destination)) >= sourceMaxId, 120_000);
    }
    const seen = await Promise.all(this.samplers.map((sampler) => sampler.stop()));
    const report = await verifyAll(this.source.config, this.destinations.map((d) => d.config));
    const differences = report.destinations.filter((d) => !d.equal);
    expect(differences.map((d) => `${d.label}: ${d.difference?.detail}`)).toEqual([]);
    for (const verdict of report.destinations) expect(verdict.upToId).toBe(sourceMaxId);
    for (const destination of this.destinations) {
      const extent = await withClient(destination, async (client) =>
        (await client.query<{ count: string; max: string | null }>('SELECT count(*)::text AS count, max(id)::text AS max FROM events')).rows[0],
      );
      expect(Number(extent?.count), `${destination.name}: row count equals max id`).toBe(Number(extent?.max ?? 0));
    }
    for (const [i, values] of seen.entries()) {
      const inside = await insideTransactions(this.source.url, values);
      // On failure, the source rows around the first such value (id, ts, writer, seq) say which transaction it split.
      const around =
        inside.length === 0
          ? []
          : await withClient(this.source, async (client) =>
              (
                await client.query(
                  "SELECT id, ts::text AS ts, event->>'writer' AS writer, event->>'seq' AS seq FROM events WHERE id BETWEEN $1::bigint - 2 AND $1::bigint + 2 ORDER BY id",
                  [inside[0]],
                )
              ).rows,
            );
      expect(inside, `max(id) values of destination ${i} seen inside a source transaction; source rows: ${JSON.stringify(around)}`).toEqual([]);
    }
    this.assertReplicatorsHealthy();
    const secrets = [this.source, ...this.destinations].map((db) => db.config.password).filter((p): p is string => p !== undefined && p !== '');
    for (const replicator of this.replicators) {
      const output = replicator.output();
      for (const secret of secrets) expect(output.includes(secret), 'a password appears in the replicator\'s output').toBe(false);
    }
    for (const replicator of this.replicators) if (!replicator.stoppedForGood) expect(await replicator.stop()).toBe(0);
    const summary: ScenarioSummary = {
      scenario: this.scenario,
      seed: this.seed,
      faults: Object.fromEntries(this.faults),
      faultCount: this.faultCount,
      written,
      sourceMaxId,
      eventsVerified: report.destinations.reduce((sum, d) => sum + d.equalUpToId, 0),
      differences: differences.length,
      samples: this.samplers.reduce((sum, s) => sum + s.samples, 0),
      seconds: (performance.now() - this.startedAt) / 1000,
    };
    console.log(describeSummary(summary, 'ok'));
    return summary;
  }
}

export function describeSummary(summary: ScenarioSummary, result: string): string {
  const faults = Object.entries(summary.faults).map(([kind, n]) => `${kind} x${n}`).join(', ');
  return (
    `fault scenario=${summary.scenario} seed=${summary.seed} faults=${summary.faultCount} (${faults}) ` +
    `events=${summary.sourceMaxId} transactions=${summary.written.transactions} writerFailures=${summary.written.failures} ` +
    `verified=${summary.eventsVerified} differences=${summary.differences} samples=${summary.samples} ` +
    `seconds=${summary.seconds.toFixed(1)} result=${result}`
  );
}

/** verify's own code over the real ports (not through any proxy). */
export async function verifyAll(source: DatabaseConfig, destinations: DatabaseConfig[]): Promise<VerifyReport> {
  return verifyDestinations({ ...targetsOf({ eventSource: source, replicationDestinations: destinations }), connectTimeoutMs: 5000 });
}

function through(proxy: Proxy | undefined, db: DatabaseConfig): DatabaseConfig {
  return proxy === undefined ? db : { ...db, host: '127.0.0.1', port: proxy.port };
}

export async function startRig(options: RigOptions): Promise<Rig> {
  const seed = faultSeed();
  console.log(`fault scenario=${options.scenario} seed=${seed} (repeat with SLATE_FAULT_SEED=${seed})`);
  const destinationCount = options.destinations ?? 2;
  const clusters = await Promise.all(Array.from({ length: destinationCount + 1 }, () => startCluster()));
  const [sourceCluster, ...destinationClusters] = clusters as [Cluster, ...Cluster[]];
  const source = await sourceCluster.createDatabase('source');
  const destinations = await Promise.all(destinationClusters.map((cluster) => cluster.createDatabase('destination')));
  const sourceProxy = options.proxied === true ? await startProxy(sourceCluster.port) : undefined;
  const destinationProxies = options.proxied === true ? await Promise.all(destinationClusters.map((c) => startProxy(c.port))) : [];
  const configFile = writeConfigFile({
    eventSource: through(sourceProxy, source.config),
    replicationDestinations: destinations.map((d, i) => through(destinationProxies[i], d.config)),
    maxEventsPerWrite: options.maxEventsPerWrite ?? 500,
    connectTimeout: 3000,
    pollIntervalMs: options.pollIntervalMs ?? 1000,
  });
  const writers = new Writers(source.url, seed, options.writers ?? 3, options.writerPauseMs ?? 100);
  const samplers = destinations.map((d) => new MaxIdSampler(d.url));
  const rig = new Rig(
    options.scenario,
    seed,
    sourceCluster,
    destinationClusters,
    source,
    destinations,
    sourceProxy,
    destinationProxies,
    configFile,
    writers,
    samplers,
  );
  writers.start();
  for (const sampler of samplers) sampler.start();
  return rig;
}
