/**
 * Bounds on how long the replication path waits for a server, so a connection that died
 * without a word (a half-open TCP connection: the peer vanished, a stalled proxy) is noticed
 * in a known time instead of the operating system's keepalive time, which can be hours.
 *
 * - every short statement (planning a batch, BEGIN/LOCK/COMMIT, the position) must answer
 *   within QUERY_TIMEOUT_MS;
 * - a COPY pipe must move at least one chunk every STALL_TIMEOUT_MS, and be acknowledged
 *   by the server within STALL_TIMEOUT_MS of its last chunk.
 * A timeout counts as a transient fault: the loop drops both connections and retries.
 */
import { Transform } from 'node:stream';
import type pg from 'pg';

export const QUERY_TIMEOUT_MS = 30_000;
export const STALL_TIMEOUT_MS = 30_000;

/** The query with the client-side read timeout QUERY_TIMEOUT_MS. */
export function bounded<I extends unknown[]>(config: pg.QueryConfig<I>): pg.QueryConfig<I> {
  return { ...config, query_timeout: QUERY_TIMEOUT_MS } as pg.QueryConfig<I>;
}

export class StallError extends Error {
  readonly transient = true;
  constructor(timeoutMs: number) {
    super(`no data moved for ${timeoutMs} ms: the connection is presumed dead`);
    this.name = 'StallError';
  }
}

/**
 * A pass-through stream that fails with StallError when no chunk passes for `timeoutMs`
 * (or, after the last chunk, until clear() is called), and the promise that rejects at
 * that moment (a stalled peer may never let the pipeline settle by itself, so callers race
 * against it and call clear() once it has settled).
 */
export function stallGuard(timeoutMs = STALL_TIMEOUT_MS): { stream: Transform; stalled: Promise<never>; clear(): void } {
  let timer: NodeJS.Timeout;
  let fail: (error: Error) => void = () => {};
  const stalled = new Promise<never>((_, reject) => {
    fail = reject;
  });
  stalled.catch(() => {});
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      const error = new StallError(timeoutMs);
      stream.destroy(error);
      fail(error);
    }, timeoutMs);
  };
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      arm();
      callback(null, chunk);
    },
    flush(callback) {
      // The last chunk has passed, but the COPY is not done until the server acknowledges
      // it, and a silent connection never does (a small batch fits in the socket buffers):
      // the watchdog keeps counting until the caller clears it.
      arm();
      callback();
    },
  });
  arm();
  return { stream, stalled, clear: () => clearTimeout(timer) };
}
