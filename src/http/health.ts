/**
 * Liveness and readiness, decided from the replicator's in-memory status alone (never a
 * query: a probe must not load the databases, and must answer while they are down).
 *
 * Live (/healthz): the process answers and no destination loop is wedged. A loop is
 * wedged when it
 *   - is in a state that moves on by itself (connecting, catching-up, streaming: every wait
 *     in them is bounded by connectTimeout, the 30 s statement timeout, the 30 s COPY stall
 *     guard or the poll interval),
 *   - is behind the source (its position is below the highest source id the replicator
 *     has seen), and
 *   - has changed neither its state nor its position for `wedgedAfterMs`:
 *     max(5 minutes, 10 poll intervals, 3 connect timeouts).
 * Retrying (a backoff, at most 30 s at a time) and standby (waiting for another
 * replicator's writer lock, by design) are not wedged. The 5-minute floor leaves room for
 * one very large source transaction, which is copied in one destination transaction
 * without moving the position until it commits.
 *
 * Ready (/readyz): start-up checks passed, the listener is connected, and every destination
 * is in state standby, catching-up or streaming. Connecting, retrying and stopped are not
 * ready. Standby counts as ready: a second replicator waiting to take over is working as
 * intended, and a rolling update whose new instance waits for the old one's lock must not
 * stall on it.
 */
import type { ReplicatorStatus } from '../replication/replicator.js';
import type { DestinationStatus, LoopState } from '../replication/destinationLoop.js';

/** The daemon's phase: start-up checks running, replicating, or shutting down. */
export type Phase = 'starting' | 'running' | 'stopping';

export const WEDGED_FLOOR_MS = 5 * 60_000;
export const WEDGED_POLL_INTERVALS = 10;
export const WEDGED_CONNECT_TIMEOUTS = 3;

/** How long a lagging loop may sit unchanged before it counts as wedged. */
export function wedgedAfterMs(config: { pollIntervalMs: number; connectTimeout: number }): number {
  return Math.max(WEDGED_FLOOR_MS, WEDGED_POLL_INTERVALS * config.pollIntervalMs, WEDGED_CONNECT_TIMEOUTS * config.connectTimeout);
}

const MOVING_STATES: ReadonlySet<LoopState> = new Set(['connecting', 'catching-up', 'streaming']);
const READY_STATES: ReadonlySet<LoopState> = new Set(['standby', 'catching-up', 'streaming']);

/**
 * Rows a destination is behind. A loop knows the source's max id from its own last look;
 * another loop may have seen a higher one since, which counts too (a loop stuck while
 * waiting would otherwise report no lag at all). Until a loop has read the source once,
 * its position is not known and its own figure (0) stands.
 */
export function lagEvents(destination: DestinationStatus, sourceMaxId: number): number {
  if (destination.sourceMaxId === 0) return destination.lagEvents;
  return Math.max(destination.lagEvents, sourceMaxId - destination.position);
}

/** When each destination's state or position last changed, as sampled. */
export class ProgressTracker {
  private readonly seen = new Map<string, { state: LoopState; position: number; sinceMs: number }>();

  observe(status: ReplicatorStatus, nowMs = Date.now()): void {
    for (const destination of status.destinations) {
      const last = this.seen.get(destination.name);
      if (last === undefined || last.state !== destination.state || last.position !== destination.position) {
        this.seen.set(destination.name, { state: destination.state, position: destination.position, sinceMs: nowMs });
      }
    }
  }

  /** When the destination entered its present state at its present position (first sample if never changed). */
  since(name: string): Date | undefined {
    const last = this.seen.get(name);
    return last === undefined ? undefined : new Date(last.sinceMs);
  }

  unchangedForMs(name: string, nowMs = Date.now()): number {
    const last = this.seen.get(name);
    return last === undefined ? 0 : nowMs - last.sinceMs;
  }
}

export function isWedged(
  destination: DestinationStatus,
  status: ReplicatorStatus,
  tracker: ProgressTracker,
  thresholdMs: number,
  nowMs = Date.now(),
): boolean {
  return (
    MOVING_STATES.has(destination.state) &&
    lagEvents(destination, status.sourceMaxId) > 0 &&
    tracker.unchangedForMs(destination.name, nowMs) >= thresholdMs
  );
}

export interface Verdict {
  ok: boolean;
  /** Why not, one sentence each; empty when ok. */
  reasons: string[];
}

export function liveness(
  status: ReplicatorStatus | undefined,
  tracker: ProgressTracker,
  thresholdMs: number,
  nowMs = Date.now(),
): Verdict {
  if (status === undefined) return { ok: true, reasons: [] };
  const reasons = status.destinations
    .filter((destination) => isWedged(destination, status, tracker, thresholdMs, nowMs))
    .map(
      (destination) =>
        `${destination.name} is wedged: ${destination.state} at position ${destination.position}, ` +
        `${lagEvents(destination, status.sourceMaxId)} events behind, unchanged for ` +
        `${Math.round(tracker.unchangedForMs(destination.name, nowMs) / 1000)} s`,
    );
  return { ok: reasons.length === 0, reasons };
}

function notReadyReason(destination: DestinationStatus): string {
  const error =
    destination.lastError === undefined
      ? ''
      : `; last error${destination.lastErrorAt === undefined ? '' : ` at ${destination.lastErrorAt.toISOString()}`}: ${destination.lastError}`;
  return `${destination.name} is ${destination.state}${error}`;
}

export function readiness(phase: Phase, status: ReplicatorStatus | undefined): Verdict {
  if (phase === 'starting' || status === undefined) return { ok: false, reasons: ['starting: the start-up checks have not finished'] };
  if (phase === 'stopping') return { ok: false, reasons: ['stopping'] };
  const reasons: string[] = [];
  if (!status.listenerConnected) reasons.push('the listener on the source is not connected');
  for (const destination of status.destinations) {
    if (!READY_STATES.has(destination.state)) reasons.push(notReadyReason(destination));
  }
  return { ok: reasons.length === 0, reasons };
}
