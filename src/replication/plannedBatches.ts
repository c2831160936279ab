/**
 * The planned path of a destination loop: batch after batch from the loop's position, each
 * batch one destination transaction cut at a source transaction boundary (planBatch), until
 * the source has nothing more or the loop is stopped.
 *
 * Per batch the source's connection plans and copies, the destination's copies and commits.
 * The first batch's transaction is opened while the source plans it; every later batch is
 * planned while the one before is still being written, and its transaction is opened by that
 * batch's COMMIT, in the same round trip.
 */
import type pg from 'pg';
import { anotherWriter, beginWrite, commitAndBeginWrite, commitWrite, copyBatch, rollbackWrite } from '../db/destinationWriter.js';
import { copyRowsOut, planBatch } from '../db/sourceReader.js';
import type { BatchPlan } from '../db/sourceReader.js';

/** What the planned path tells its loop as it goes. */
export interface BatchProgress {
  /** A plan was made (the next batch's too, while the current one is written). */
  planned(plan: BatchPlan): void;
  /** The oldest row not yet copied has this ts (undefined: none is pending). */
  pendingFrom(firstPendingTsMs: number | undefined): void;
  /** A batch's COPY starts. */
  copying(): void;
  /** A batch of `rows` rows, ending at id `lastId`, was committed `seconds` after its COPY started. */
  committed(lastId: number, rows: number, seconds: number): void;
}

export interface PlannedBatchesOptions {
  /** The destination's max id, as the loop knows it. */
  position: number;
  maxEventsPerWrite: number;
  isCancelled(): boolean;
}

/**
 * Copies batches after `options.position`. Resolves with the rows written and whether the
 * source had nothing left when it ended (false when it was stopped first). Any failure is
 * thrown with the destination's transaction left open: no ROLLBACK on a connection that may
 * be dead (it would wait out another timeout); the caller drops both connections, and the
 * server rolls back.
 */
export async function copyPlannedBatches(
  source: pg.Client,
  destination: pg.Client,
  options: PlannedBatchesOptions,
  progress: BatchProgress,
): Promise<{ rows: number; nothingLeft: boolean }> {
  const planAfter = async (position: number): Promise<BatchPlan> => {
    const plan = await planBatch(source, position, options.maxEventsPerWrite);
    progress.planned(plan);
    return plan;
  };
  let position = options.position;
  let rows = 0;
  // If planning fails, the transaction being opened is not waited for (its connection may be
  // the one that hangs).
  const opening = beginWrite(destination);
  opening.catch(() => {});
  let plan = await planAfter(position);
  progress.pendingFrom(plan.firstPendingTsMs);
  let found = await opening;
  for (;;) {
    // Checked even when there is nothing to copy: a row written by someone else is found at
    // the next wake-up or poll, not only at the next batch.
    if (found !== position) throw anotherWriter(found, position);
    if (plan.rowCount === 0) {
      await rollbackWrite(destination);
      return { rows, nothingLeft: true };
    }
    progress.copying();
    const batchStartedAt = performance.now();
    const batchLastId = plan.lastId;
    // A batch that takes everything the source had when it was planned is the last: anything
    // committed since then was announced by a notification, which wakes the loop again at
    // once (and the poll covers a lost one), so no empty round of plan, BEGIN and ROLLBACK
    // follows. Before any other batch ends, the next one is planned: the source's connection
    // is free once it has sent the batch's last rows, long before the destination has
    // written them. (Not earlier: a query waiting behind the COPY would count that wait
    // against its timeout.)
    const last = plan.lastId >= plan.sourceMaxId || options.isCancelled();
    let planning: Promise<BatchPlan> | undefined;
    const planNext = () => {
      planning ??= planAfter(batchLastId);
      planning.catch(() => {});
    };
    const written = await copyBatch(
      destination,
      (afterId, lastId) => {
        const stream = copyRowsOut(source, afterId, lastId);
        if (!last && lastId === batchLastId) stream.once('end', planNext);
        return stream;
      },
      { position, lastId: batchLastId, maxEventsPerWrite: options.maxEventsPerWrite },
    );
    if (!last) planNext();
    // A failed plan does not throw away the batch just written: it is committed first.
    let planFailure: unknown;
    const next = await planning?.catch((error: unknown) => {
      planFailure = error;
      return undefined;
    });
    const more = next !== undefined && next.rowCount > 0 && !options.isCancelled();
    // With more to copy, the commit opens the next batch's transaction in the same round trip.
    if (more) found = await commitAndBeginWrite(destination);
    else await commitWrite(destination);
    position = batchLastId;
    rows += written;
    progress.committed(batchLastId, written, (performance.now() - batchStartedAt) / 1000);
    if (planFailure !== undefined) throw planFailure;
    if (!more) {
      if (next !== undefined) progress.pendingFrom(next.firstPendingTsMs);
      return { rows, nothingLeft: next === undefined ? plan.lastId >= plan.sourceMaxId : next.rowCount === 0 };
    }
    plan = next;
    progress.pendingFrom(plan.firstPendingTsMs);
  }
}
