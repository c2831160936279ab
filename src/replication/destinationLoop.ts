/**
 * One loop per destination: it owns a source connection and a destination connection and
 * copies every source row after the destination's position, batch by batch, until none
 * are left; then it waits for a wake-up or the safety poll.
 *
 *   connecting --> standby --> catching-up <--> streaming
 *        ^       (another replicator      |               |
 *        |        holds the writer lock)  |               |
 *        +-------------- retrying <-------+---------------+   (transient fault: backoff, new connections)
 *   any state --> stopped (stop(), or a permanent fault, which `done` rejects with)
 *
 * The position is read from the destination at every (re)connection and then advanced by
 * what this loop committed; each write transaction re-checks it, and the destination's
 * primary key refuses an id written twice, so another writer is detected rather than
 * duplicated or skipped (see destinationWriter.ts).
 */
import type pg from 'pg';
import { coerceError } from '../errors.js';
import type { Logger } from '../log.js';
import type { DatabaseConfig } from '../types.js';
import { describeDatabase } from '../types.js';
import { closeQuietly, connect } from '../db/connect.js';
import { copyAllPendingOut } from '../db/sourceReader.js';
import { canCheckInline, readPosition, rollbackWrite, writeInOneTrip } from '../db/destinationWriter.js';
import { isTransient } from '../db/pgErrors.js';
import { backoffDelayMs } from './backoff.js';
import { becomeWriter } from './becomeWriter.js';
import type { SessionIdentity } from './becomeWriter.js';
import { Wake } from './wake.js';
import { copyPlannedBatches } from './plannedBatches.js';
import type { ReplicationObserver } from './observer.js';
import { faultReason } from './observer.js';

export type LoopState = 'connecting' | 'standby' | 'catching-up' | 'streaming' | 'retrying' | 'stopped';

export interface DestinationStatus {
  /** `host:port/databaseName` of the destination. */
  name: string;
  state: LoopState;
  /** The destination's max id as last known (0 before the first connection). */
  position: number;
  /** The source's max id as last seen by this loop. */
  sourceMaxId: number;
  /** Source rows not yet copied, as far as this loop knows. */
  lagEvents: number;
  /** Milliseconds between now and the `ts` of the oldest row not yet copied; 0 when in sync. */
  lagMs: number;
  /** Rows this loop committed since it started. */
  eventsCopied: number;
  /** Rows per second over the last catch-up that copied anything. */
  lastRowsPerSecond: number;
  lastError: string | undefined;
  lastErrorAt: Date | undefined;
}

export interface LoopOptions {
  source: DatabaseConfig;
  destination: DatabaseConfig;
  maxEventsPerWrite: number;
  connectTimeoutMs: number;
  pollIntervalMs: number;
  log: Logger;
  observer?: ReplicationObserver | undefined;
}

/** A catch-up that copies at least this many rows, or lasts at least this long, is logged at info. */
const NOTABLE_CATCH_UP_ROWS = 10_000;
const NOTABLE_CATCH_UP_MS = 1000;

export class DestinationLoop {
  readonly name: string;
  private readonly wake = new Wake(() => this.position);
  private readonly log: Logger;
  private state: LoopState = 'connecting';
  private position = 0;
  private sourceMaxId = 0;
  private firstPendingTsMs: number | undefined;
  private eventsCopied = 0;
  private lastRowsPerSecond = 0;
  private lastError: Error | undefined;
  private lastErrorAt: Date | undefined;
  /** The destination session that last took the writer lock (see becomeWriter.ts). */
  private writerSession: SessionIdentity | undefined;
  private sourceClient: pg.Client | undefined;
  private destinationClient: pg.Client | undefined;
  /** The last catch-up on these connections ended with nothing left to copy. */
  private inSync = false;
  /** The destination runs the `DO` blocks of the in-sync write (see writeInOneTrip). */
  private inlineChecks = false;
  private running: Promise<void> | undefined;

  constructor(private readonly options: LoopOptions) {
    this.name = describeDatabase(options.destination);
    this.log = options.log.child({ destination: this.name });
  }

  /** Starts the loop; the promise settles when it stops, rejecting on a permanent fault. */
  start(): Promise<void> {
    this.running ??= this.run();
    return this.running;
  }

  /** A wake-up: the source may have new rows (up to `announcedId`, when the notification said). */
  nudge(announcedId?: number): void {
    this.wake.nudge(announcedId);
  }

  /** Lets the batch in flight commit or roll back, closes the connections, and resolves. */
  async stop(): Promise<void> {
    this.wake.cancel();
    await this.running?.catch(() => {});
  }

  status(now = Date.now()): DestinationStatus {
    const lagEvents = Math.max(0, this.sourceMaxId - this.position);
    return {
      name: this.name,
      state: this.state,
      position: this.position,
      sourceMaxId: this.sourceMaxId,
      lagEvents,
      lagMs: lagEvents > 0 && this.firstPendingTsMs !== undefined ? Math.max(0, now - this.firstPendingTsMs) : 0,
      eventsCopied: this.eventsCopied,
      lastRowsPerSecond: this.lastRowsPerSecond,
      lastError: this.lastError?.message,
      lastErrorAt: this.lastErrorAt,
    };
  }

  private async run(): Promise<void> {
    let attempt = 0;
    try {
      while (!this.wake.isCancelled) {
        try {
          await this.ensureConnected();
          // Stopped while connecting or waiting as a standby: the writer lock may not be ours.
          if (this.wake.isCancelled) break;
          this.wake.take();
          await this.catchUp();
          attempt = 0;
          this.state = 'streaming';
          await this.wake.wait(this.options.pollIntervalMs);
        } catch (thrown) {
          const error = coerceError(thrown);
          await this.dropConnections();
          if (this.wake.isCancelled) break;
          this.lastError = error;
          this.lastErrorAt = new Date();
          if (!isTransient(error)) {
            this.log.error({ err: error }, 'replication to this destination stopped');
            throw error;
          }
          const delayMs = backoffDelayMs(attempt++);
          this.state = 'retrying';
          this.options.observer?.retrying?.(this.name, faultReason(error));
          this.log.warn({ err: error, attempt, retryInMs: delayMs }, 'transient fault; retrying');
          await this.wake.wait(delayMs, false);
        }
      }
    } finally {
      this.state = 'stopped';
      await this.dropConnections();
    }
  }

  private async ensureConnected(): Promise<void> {
    if (this.sourceClient !== undefined && this.destinationClient !== undefined) return;
    this.state = 'connecting';
    const connectOptions = (role: string) => ({
      connectTimeoutMs: this.options.connectTimeoutMs,
      applicationName: `slate-replicator ${role}`,
    });
    // An idle client's error is reported again by its next query, which is where it is handled.
    const ignore = (error: Error) => this.log.debug({ err: error }, 'connection error');
    this.sourceClient = await connect(this.options.source, connectOptions('reader'), ignore);
    this.destinationClient = await connect(this.options.destination, connectOptions('writer'), ignore);
    this.writerSession = await becomeWriter(this.destinationClient, {
      wake: this.wake,
      log: this.log,
      previous: this.writerSession,
      onStandby: () => {
        this.state = 'standby';
      },
    });
    this.position = await readPosition(this.destinationClient);
    this.inlineChecks = await canCheckInline(this.destinationClient);
    this.inSync = false;
  }

  private async dropConnections(): Promise<void> {
    const clients = [this.sourceClient, this.destinationClient];
    this.sourceClient = undefined;
    this.destinationClient = undefined;
    await Promise.all(clients.map((client) => closeQuietly(client)));
  }

  /**
   * The write of a loop in sync with the source, woken by a notification: the source's rows
   * after the position, if there are at most maxEventsPerWrite of them, copied and committed
   * in two round trips per connection, with no planning step (see copyAllPendingOut and
   * writeInOneTrip). Returns the rows written; 0 when there were none or too many, and the
   * caller then plans batches as usual.
   */
  private async copyInSync(source: pg.Client, destination: pg.Client): Promise<number> {
    const startedAt = performance.now();
    const rows = copyAllPendingOut(source, this.position, this.options.maxEventsPerWrite);
    const written = await writeInOneTrip(destination, rows, this.position);
    if (written === 0) {
      await rollbackWrite(destination);
      return 0;
    }
    this.position += written;
    this.sourceMaxId = Math.max(this.sourceMaxId, this.position);
    this.firstPendingTsMs = undefined;
    this.eventsCopied += written;
    this.options.observer?.batchWritten?.(this.name, written, (performance.now() - startedAt) / 1000);
    return written;
  }

  /** Copies batches until the source has nothing after the position (or the loop is stopped). */
  private async catchUp(): Promise<void> {
    const source = this.sourceClient;
    const destination = this.destinationClient;
    if (source === undefined || destination === undefined) return;
    if (this.inSync && this.inlineChecks && (await this.copyInSync(source, destination)) > 0) return;
    this.inSync = false;
    const startedAt = performance.now();
    const { rows, nothingLeft } = await copyPlannedBatches(
      source,
      destination,
      { position: this.position, maxEventsPerWrite: this.options.maxEventsPerWrite, isCancelled: () => this.wake.isCancelled },
      {
        planned: (plan) => {
          this.sourceMaxId = Math.max(this.sourceMaxId, plan.sourceMaxId);
        },
        pendingFrom: (firstPendingTsMs) => {
          this.firstPendingTsMs = firstPendingTsMs;
        },
        copying: () => {
          this.state = 'catching-up';
        },
        committed: (lastId, written, seconds) => {
          this.position = lastId;
          this.eventsCopied += written;
          this.options.observer?.batchWritten?.(this.name, written, seconds);
        },
      },
    );
    this.inSync = nothingLeft;
    if (rows === 0) return;
    const seconds = (performance.now() - startedAt) / 1000;
    this.lastRowsPerSecond = Math.round(rows / Math.max(seconds, 1e-6));
    const fields = { rows, seconds: Number(seconds.toFixed(3)), rowsPerSecond: this.lastRowsPerSecond, position: this.position };
    if (rows >= NOTABLE_CATCH_UP_ROWS || seconds * 1000 >= NOTABLE_CATCH_UP_MS) this.log.info(fields, 'caught up');
    else this.log.debug(fields, 'caught up');
  }
}
