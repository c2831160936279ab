/**
 * Capped exponential backoff with jitter: attempt 0 waits about `initialMs`, each further
 * attempt doubles it up to `maxMs`; the wait is drawn from the upper half of that value so
 * that several replicators (or loops) that failed together do not retry in lockstep.
 */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 250, maxMs: 30_000 };

export function backoffDelayMs(attempt: number, options: BackoffOptions = DEFAULT_BACKOFF, random = Math.random): number {
  const ceiling = Math.min(options.maxMs, options.initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
