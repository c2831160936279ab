/**
 * Load: writes generated Person events into a source through `insert_events(text)`, one
 * call (one source transaction) per `transactionSize` events, until a count, a duration or
 * an abort signal says stop. Errors are not retried: they end the run.
 *
 * Rate control. The call that writes events [w, w + n) may start at
 * `start + w / rate` seconds. Waiting for that moment, measured from the start of the run
 * rather than from the previous call, keeps the average at `rate` however long each call
 * takes; after a slow call the run catches up at full speed instead of drifting behind.
 *
 * Stopping. The signal is checked before each call and cuts a wait short; a call in
 * flight always completes, so a stop never leaves a source transaction half done.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { insertEvents, requireStandardConformingStrings } from './insertEvents.js';
import { personEvents } from './personEvents.js';

export interface LoadOptions {
  /** A connection to the source; the caller opens and closes it. */
  client: pg.ClientBase;
  /** Events per `insert_events` call, i.e. per source transaction (the last may be smaller). */
  transactionSize: number;
  /** Seed of the event generator: the same seed writes the same events. */
  seed: number;
  /** Events to write in all; no limit when undefined. */
  events?: number | undefined;
  /** Milliseconds after which no further call starts; no limit when undefined. */
  durationMs?: number | undefined;
  /** Average events per second; as fast as possible when undefined. */
  rateEventsPerSecond?: number | undefined;
  /** Stops the run after the call in flight. */
  signal?: AbortSignal | undefined;
  /** Called at most every `progressIntervalMs`, after a call completes. */
  onProgress?: ((progress: LoadProgress) => void) | undefined;
  progressIntervalMs?: number | undefined;
}

export interface LoadProgress {
  eventsWritten: number;
  /** `insert_events` calls that committed. */
  transactions: number;
  seconds: number;
  eventsPerSecond: number;
}

export interface LoadResult extends LoadProgress {
  /** What ended the run: the event count reached, the duration over, or the signal. */
  stoppedBy: 'events' | 'duration' | 'signal';
}

const DEFAULT_PROGRESS_INTERVAL_MS = 5000;

function requirePositive(name: string, value: number | undefined, integer: boolean): void {
  if (value === undefined) return;
  if (!(value > 0) || !Number.isFinite(value) || (integer && !Number.isSafeInteger(value))) {
    throw new RangeError(`${name} must be a positive ${integer ? 'integer' : 'number'}, got ${value}`);
  }
}

/** Waits until `performance.now()` reaches `atMs`; false when the signal cut the wait short. */
async function waitUntil(atMs: number, signal: AbortSignal | undefined): Promise<boolean> {
  const delayMs = atMs - performance.now();
  if (delayMs <= 0) return true;
  try {
    await sleep(delayMs, undefined, { signal });
    return true;
  } catch (thrown) {
    if (signal?.aborted) return false;
    throw thrown;
  }
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const { client, transactionSize, events, durationMs, rateEventsPerSecond: rate, signal } = options;
  requirePositive('transactionSize', transactionSize, true);
  requirePositive('events', events, true);
  requirePositive('durationMs', durationMs, false);
  requirePositive('rateEventsPerSecond', rate, false);
  const progressIntervalMs = options.progressIntervalMs ?? DEFAULT_PROGRESS_INTERVAL_MS;

  await requireStandardConformingStrings(client);
  const stream = personEvents(options.seed);
  const startMs = performance.now();
  const deadlineMs = durationMs === undefined ? Infinity : startMs + durationMs;
  let eventsWritten = 0;
  let transactions = 0;
  let nextProgressMs = startMs + progressIntervalMs;

  const snapshot = (): LoadProgress => {
    const seconds = (performance.now() - startMs) / 1000;
    return { eventsWritten, transactions, seconds, eventsPerSecond: seconds > 0 ? eventsWritten / seconds : 0 };
  };

  let stoppedBy: LoadResult['stoppedBy'];
  for (;;) {
    if (signal?.aborted) {
      stoppedBy = 'signal';
      break;
    }
    if (events !== undefined && eventsWritten >= events) {
      stoppedBy = 'events';
      break;
    }
    if (rate !== undefined) {
      const dueMs = startMs + (eventsWritten / rate) * 1000;
      if (dueMs >= deadlineMs) {
        stoppedBy = 'duration';
        break;
      }
      if (!(await waitUntil(dueMs, signal))) continue; // the signal check above ends the run
    }
    if (performance.now() >= deadlineMs) {
      stoppedBy = 'duration';
      break;
    }
    const size = events === undefined ? transactionSize : Math.min(transactionSize, events - eventsWritten);
    const batch = Array.from({ length: size }, () => stream.next().value);
    await insertEvents(client, batch);
    eventsWritten += size;
    transactions += 1;
    if (options.onProgress !== undefined && performance.now() >= nextProgressMs) {
      options.onProgress(snapshot());
      nextProgressMs = performance.now() + progressIntervalMs;
    }
  }
  return { ...snapshot(), stoppedBy };
}
