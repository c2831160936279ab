/**
 * `verify`: proves that each destination equals the source over the ids both have, with
 * hashes computed inside PostgreSQL (see compareEvents.ts), all destinations at once.
 *
 * For each destination: its extent is read first, then the source's; ids 1..(the
 * destination's max id) are compared; source rows beyond it are lag, not a difference.
 * A destination that is equal but ends inside a source transaction (its last row shares its
 * ts with the source's next row) is reported too, since it shows part of a source
 * transaction; two source transactions that began in the same microsecond also share a ts,
 * and a destination caught between them is reported the same way (the data cannot tell
 * them apart). Nothing is written anywhere.
 */
import type pg from 'pg';
import { ConnectError, ReplicatorError, coerceError } from '../errors.js';
import type { DatabaseConfig } from '../types.js';
import { describeDatabase } from '../types.js';
import { closeQuietly, connect } from '../db/connect.js';
import { isTransient } from '../db/pgErrors.js';
import { checkDestinationSchema, checkSource } from '../db/schemaCheck.js';
import { RangeHashCache, compareEvents } from './compareEvents.js';
import type { Difference } from './compareEvents.js';
import { endsInsideTransaction, eventsExtent } from './rangeHash.js';

export const VERIFY_APPLICATION_NAME = 'slate-replicator verify';

export interface VerifyTarget {
  db: DatabaseConfig;
  /** How reports name it, e.g. `replicationDestinations[0] (host:5432/db)`. */
  label: string;
}

export interface VerifyInput {
  source: VerifyTarget;
  destinations: VerifyTarget[];
  connectTimeoutMs: number;
}

export interface DestinationProgress {
  label: string;
  comparedUpToId: number;
  upToId: number;
}

export interface VerifyOptions {
  /** Called whenever a destination's comparison advances (every range of ids). */
  onProgress?: ((progress: readonly DestinationProgress[]) => void) | undefined;
  rangeIds?: number | undefined;
}

export interface DestinationVerdict {
  label: string;
  equal: boolean;
  /** The destination's max id when verify started: ids 1..upToId were compared. */
  upToId: number;
  /** Ids found equal, from 1. */
  equalUpToId: number;
  /** The source's max id, read after the destination's. */
  sourceMaxId: number;
  /** Source rows beyond the destination's max id (not a difference: the replicator has yet to copy them). */
  lagEvents: number;
  difference: Difference | undefined;
  seconds: number;
}

export interface VerifyReport {
  source: { label: string; maxId: number };
  destinations: DestinationVerdict[];
  seconds: number;
}

interface Opened {
  target: VerifyTarget;
  client: pg.Client;
}

async function open(target: VerifyTarget, connectTimeoutMs: number): Promise<Opened> {
  const client = await connect(target.db, { connectTimeoutMs, applicationName: VERIFY_APPLICATION_NAME });
  return { target, client };
}

/** A fault met after connecting, as an error whose message says where and what to do. */
function duringVerify(label: string, thrown: unknown): Error {
  const error = coerceError(thrown);
  if (error instanceof ReplicatorError) return error;
  if (isTransient(error)) {
    return new ConnectError(`verify lost its connection to ${label}: ${error.message}. Nothing was changed; run verify again.`, error);
  }
  return error;
}

/** Compares one destination with the source; both clients are connected and checked. */
export async function verifyDestination(
  source: pg.ClientBase,
  destination: pg.ClientBase,
  label: string,
  options: { sourceCache?: RangeHashCache; rangeIds?: number | undefined; onProgress?: (comparedUpToId: number, upToId: number) => void } = {},
): Promise<DestinationVerdict> {
  const startedAt = performance.now();
  // The destination first: every row it has by then is already committed on the source.
  const extent = await eventsExtent(destination);
  const sourceExtent = await eventsExtent(source);
  const upToId = extent.maxId;
  options.onProgress?.(0, upToId);
  let comparison: { equalUpToId: number; difference: Difference | undefined };
  if (extent.count > 0 && extent.minId < 1) {
    // Ids start at 1 on a source: a row below that is the first difference.
    comparison = {
      equalUpToId: 0,
      difference: { id: extent.minId, kind: 'extra', detail: `the destination has a row ${extent.minId} that the source does not have` },
    };
  } else {
    comparison = await compareEvents(source, destination, {
      upToId,
      sourceCache: options.sourceCache,
      rangeIds: options.rangeIds,
      onProgress: (comparedUpToId) => options.onProgress?.(comparedUpToId, upToId),
    });
  }
  let difference = comparison.difference;
  if (difference === undefined && upToId > 0 && (await endsInsideTransaction(source, upToId))) {
    difference = {
      id: upToId,
      kind: 'partial-transaction',
      detail:
        `the destination ends at id ${upToId}, inside a source transaction (source row ${upToId + 1} has the same ts; ` +
        'if the destination is still catching up, two transactions begun in the same microsecond also look like this: verify again)',
    };
  }
  return {
    label,
    equal: difference === undefined,
    upToId,
    equalUpToId: comparison.equalUpToId,
    sourceMaxId: sourceExtent.maxId,
    lagEvents: Math.max(0, sourceExtent.maxId - upToId),
    difference,
    seconds: (performance.now() - startedAt) / 1000,
  };
}

/**
 * Connects to the source and every destination (one source connection per destination, so
 * they are compared in parallel), checks that each is what it should be, and compares.
 * Throws the first connection or schema failure (with its exit code) before comparing.
 */
export async function verifyDestinations(input: VerifyInput, options: VerifyOptions = {}): Promise<VerifyReport> {
  const startedAt = performance.now();
  const opened = await Promise.allSettled([
    ...input.destinations.map(() => open(input.source, input.connectTimeoutMs)),
    ...input.destinations.map((target) => open(target, input.connectTimeoutMs)),
  ]);
  const clients = opened.flatMap((result) => (result.status === 'fulfilled' ? [result.value.client] : []));
  try {
    const failed = opened.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    const all = opened.map((result) => (result as PromiseFulfilledResult<Opened>).value);
    const sources = all.slice(0, input.destinations.length);
    const destinations = all.slice(input.destinations.length);
    const firstSource = sources[0];
    if (firstSource === undefined) {
      return { source: { label: input.source.label, maxId: 0 }, destinations: [], seconds: 0 };
    }
    await checkSource({ client: firstSource.client, label: input.source.label, configPath: input.source.label });
    for (const destination of destinations) {
      await checkDestinationSchema({ client: destination.client, label: destination.target.label, configPath: destination.target.label });
    }

    const progress: DestinationProgress[] = destinations.map((d) => ({ label: d.target.label, comparedUpToId: 0, upToId: 0 }));
    const cache = new RangeHashCache();
    const verdicts = await Promise.all(
      destinations.map(async (destination, i) => {
        const source = sources[i] as Opened;
        try {
          return await verifyDestination(source.client, destination.client, destination.target.label, {
            sourceCache: cache,
            rangeIds: options.rangeIds,
            onProgress: (comparedUpToId, upToId) => {
              progress[i] = { label: destination.target.label, comparedUpToId, upToId };
              options.onProgress?.(progress);
            },
          });
        } catch (thrown) {
          throw duringVerify(`${destination.target.label} or ${input.source.label}`, thrown);
        }
      }),
    );
    return {
      source: { label: input.source.label, maxId: Math.max(0, ...verdicts.map((v) => v.sourceMaxId)) },
      destinations: verdicts,
      seconds: (performance.now() - startedAt) / 1000,
    };
  } finally {
    await Promise.all(clients.map((client) => closeQuietly(client)));
  }
}

/** The targets of a configuration: its source and every destination, labelled by their config path. */
export function targetsOf(config: { eventSource: DatabaseConfig; replicationDestinations: DatabaseConfig[] }): {
  source: VerifyTarget;
  destinations: VerifyTarget[];
} {
  return {
    source: { db: config.eventSource, label: `eventSource (${describeDatabase(config.eventSource)})` },
    destinations: config.replicationDestinations.map((db, i) => ({
      db,
      label: `replicationDestinations[${i}] (${describeDatabase(db)})`,
    })),
  };
}
