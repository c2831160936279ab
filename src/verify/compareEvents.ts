/**
 * Comparing the events of a source and a destination up to an id, by hashes computed on
 * both servers at once: range by range (RANGE_IDS ids each) while the ranges are equal;
 * when one differs, halving it until at most LEAF_IDS ids are left, whose per-row hashes
 * then give the first differing id.
 *
 * Both tables are append-only and a destination only ever holds committed source rows, so
 * the rows up to an id that the destination already had when the comparison started do not
 * change while it runs: verify needs no long transaction and can run beside the replicator
 * and the application's writers.
 */
import type pg from 'pg';
import { columnHashes, rangeHash, rowHashes } from './rangeHash.js';
import type { RangeHash, RowHash } from './rangeHash.js';

/** Ids per compared range: big enough that the per-statement cost does not matter, small enough to report progress. */
export const RANGE_IDS = 100_000;
/** Once a differing range is this short, its per-row hashes (32 bytes a row) are fetched and walked. */
export const LEAF_IDS = 1_000;

export type DifferenceKind = 'missing' | 'extra' | 'differs' | 'partial-transaction';

/** The first place where a destination is not a copy of the source. */
export interface Difference {
  id: number;
  /**
   * - missing: the source has row `id`, the destination does not;
   * - extra: the destination has row `id`, the source does not;
   * - differs: both have row `id`, with another ts or event;
   * - partial-transaction: the destination ends at `id`, but source row `id + 1` has the same
   *   ts: the destination shows part of a source transaction (or, rarely, ends between two
   *   transactions that began in the same microsecond).
   */
  kind: DifferenceKind;
  /** One sentence for people. */
  detail: string;
}

export interface Comparison {
  /** Ids found equal, from 1: up to the difference, or every id compared. */
  equalUpToId: number;
  difference: Difference | undefined;
}

/** Source range hashes shared by the comparisons of several destinations (each range is hashed once). */
export class RangeHashCache {
  private readonly hashes = new Map<string, Promise<RangeHash>>();

  get(client: pg.ClientBase, afterId: number, lastId: number): Promise<RangeHash> {
    const key = `${afterId}:${lastId}`;
    let hash = this.hashes.get(key);
    if (hash === undefined) {
      hash = rangeHash(client, afterId, lastId);
      this.hashes.set(key, hash);
      // A failed hash is not kept: another destination's comparison may try again.
      hash.catch(() => this.hashes.delete(key));
    }
    return hash;
  }
}

export interface CompareOptions {
  /** Compare ids 1..upToId. */
  upToId: number;
  /** Called after each equal range with the last id compared so far. */
  onProgress?: ((comparedUpToId: number) => void) | undefined;
  /** Shared source hashes when several destinations are compared against one source. */
  sourceCache?: RangeHashCache | undefined;
  rangeIds?: number | undefined;
}

function same(a: RangeHash, b: RangeHash): boolean {
  return a.rows === b.rows && a.hash === b.hash;
}

export async function compareEvents(source: pg.ClientBase, destination: pg.ClientBase, options: CompareOptions): Promise<Comparison> {
  const rangeIds = options.rangeIds ?? RANGE_IDS;
  const sourceHash = (afterId: number, lastId: number): Promise<RangeHash> =>
    options.sourceCache?.get(source, afterId, lastId) ?? rangeHash(source, afterId, lastId);
  for (let afterId = 0; afterId < options.upToId; afterId += rangeIds) {
    const lastId = Math.min(afterId + rangeIds, options.upToId);
    const [fromSource, fromDestination] = await Promise.all([sourceHash(afterId, lastId), rangeHash(destination, afterId, lastId)]);
    if (!same(fromSource, fromDestination)) {
      const difference = await firstDifference(source, destination, afterId, lastId);
      return { equalUpToId: difference.id - 1, difference };
    }
    options.onProgress?.(lastId);
  }
  return { equalUpToId: options.upToId, difference: undefined };
}

/** The first differing id in `(afterId, lastId]`, a range whose hashes differ. */
export async function firstDifference(
  source: pg.ClientBase,
  destination: pg.ClientBase,
  afterId: number,
  lastId: number,
): Promise<Difference> {
  let from = afterId;
  let to = lastId;
  while (to - from > LEAF_IDS) {
    const middle = from + Math.floor((to - from) / 2);
    const [fromSource, fromDestination] = await Promise.all([rangeHash(source, from, middle), rangeHash(destination, from, middle)]);
    // The first half differs: the first difference is there. Else it is in the second half.
    if (!same(fromSource, fromDestination)) to = middle;
    else from = middle;
  }
  const [sourceRows, destinationRows] = await Promise.all([rowHashes(source, from, to), rowHashes(destination, from, to)]);
  const found = firstDifferentRow(sourceRows, destinationRows);
  if (found === undefined) {
    return {
      id: from + 1,
      kind: 'differs',
      detail: `ids ${afterId + 1}..${lastId} differ as a range but not row by row: rows were changed while verify ran`,
    };
  }
  if (found.kind !== 'differs') return found;
  const [sourceColumns, destinationColumns] = await Promise.all([columnHashes(source, found.id), columnHashes(destination, found.id)]);
  const columns = (['ts', 'event'] as const).filter((column) => sourceColumns?.[column] !== destinationColumns?.[column]);
  const what = columns.length === 0 ? 'its text form' : columns.join(' and ');
  return { ...found, detail: `row ${found.id} differs from the source's: ${what} ${columns.length > 1 ? 'differ' : 'differs'}` };
}

/** Walks two id-ordered lists of row hashes to the first id where they disagree. */
export function firstDifferentRow(sourceRows: readonly RowHash[], destinationRows: readonly RowHash[]): Difference | undefined {
  let i = 0;
  let j = 0;
  while (i < sourceRows.length || j < destinationRows.length) {
    const s = sourceRows[i];
    const d = destinationRows[j];
    if (d === undefined || (s !== undefined && s.id < d.id)) {
      const id = (s as RowHash).id;
      return { id, kind: 'missing', detail: `the destination has no row ${id}; the source has one` };
    }
    if (s === undefined || d.id < s.id) {
      return { id: d.id, kind: 'extra', detail: `the destination has a row ${d.id} that the source does not have` };
    }
    if (s.hash !== d.hash) return { id: s.id, kind: 'differs', detail: `row ${s.id} differs from the source's` };
    i += 1;
    j += 1;
  }
  return undefined;
}
