/**
 * What the status server answers from: the daemon's phase, the running replicator's
 * `status()` (in memory, no query), and when each destination last moved. The board samples
 * the status every SAMPLE_INTERVAL_MS as well as on every request, so "unchanged for N
 * seconds" does not depend on how often someone asks.
 */
import type { Replicator, ReplicatorStatus } from '../replication/replicator.js';
import type { ReplicatorConfig } from '../types.js';
import { describeDatabase } from '../types.js';
import type { Phase, Verdict } from './health.js';
import { ProgressTracker, isWedged, lagEvents, liveness, readiness, wedgedAfterMs } from './health.js';

export const SAMPLE_INTERVAL_MS = 1000;

/** One destination in /status. Times are ISO 8601 strings; null where nothing happened yet. */
export interface DestinationReport {
  name: string;
  state: string;
  /** When the destination entered its state at its position, as sampled. */
  since: string | null;
  position: number;
  lagEvents: number;
  lagSeconds: number;
  eventsCopied: number;
  lastRowsPerSecond: number;
  lastError: string | null;
  lastErrorAt: string | null;
  wedged: boolean;
}

/** The body of /status. */
export interface StatusReport {
  phase: Phase;
  startedAt: string;
  uptimeSeconds: number;
  live: boolean;
  ready: boolean;
  /** Why not live or not ready; empty when both are true. */
  reasons: string[];
  source: { name: string; maxId: number; listenerConnected: boolean; listenerReconnects: number };
  destinations: DestinationReport[];
}

/** The part of a replicator the board reads. */
export type StatusProvider = Pick<Replicator, 'status'>;

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

export class StatusBoard {
  private phaseNow: Phase = 'starting';
  private replicator: StatusProvider | undefined;
  private readonly tracker = new ProgressTracker();
  private sampler: NodeJS.Timeout | undefined;
  readonly startedAt = new Date();
  readonly sourceName: string;
  readonly destinationNames: readonly string[];
  readonly wedgedAfterMs: number;

  constructor(config: ReplicatorConfig) {
    this.sourceName = describeDatabase(config.eventSource);
    this.destinationNames = config.replicationDestinations.map(describeDatabase);
    this.wedgedAfterMs = wedgedAfterMs(config);
  }

  get phase(): Phase {
    return this.phaseNow;
  }

  /** The start-up checks passed: from now on the board reports this replicator. */
  running(replicator: StatusProvider): void {
    this.replicator = replicator;
    if (this.phaseNow === 'starting') this.phaseNow = 'running';
    this.sample();
    this.sampler ??= setInterval(() => this.sample(), SAMPLE_INTERVAL_MS);
    this.sampler.unref();
  }

  /** A shutdown began: not ready any more, still alive. */
  stopping(): void {
    this.phaseNow = 'stopping';
  }

  /** Stops sampling. */
  close(): void {
    if (this.sampler !== undefined) clearInterval(this.sampler);
    this.sampler = undefined;
  }

  /** The replicator's status now (undefined while starting), noted by the tracker. */
  sample(nowMs = Date.now()): ReplicatorStatus | undefined {
    const status = this.replicator?.status();
    if (status !== undefined) this.tracker.observe(status, nowMs);
    return status;
  }

  liveness(nowMs = Date.now()): Verdict {
    return liveness(this.sample(nowMs), this.tracker, this.wedgedAfterMs, nowMs);
  }

  readiness(): Verdict {
    return readiness(this.phaseNow, this.sample());
  }

  report(nowMs = Date.now()): StatusReport {
    const status = this.sample(nowMs);
    const live = liveness(status, this.tracker, this.wedgedAfterMs, nowMs);
    const ready = readiness(this.phaseNow, status);
    const destinations = (status?.destinations ?? []).map((destination): DestinationReport => ({
      name: destination.name,
      state: destination.state,
      since: this.tracker.since(destination.name)?.toISOString() ?? null,
      position: destination.position,
      lagEvents: lagEvents(destination, status?.sourceMaxId ?? 0),
      lagSeconds: round(destination.lagMs / 1000, 3),
      eventsCopied: destination.eventsCopied,
      lastRowsPerSecond: destination.lastRowsPerSecond,
      lastError: destination.lastError ?? null,
      lastErrorAt: destination.lastErrorAt?.toISOString() ?? null,
      wedged: status !== undefined && isWedged(destination, status, this.tracker, this.wedgedAfterMs, nowMs),
    }));
    return {
      phase: this.phaseNow,
      startedAt: this.startedAt.toISOString(),
      uptimeSeconds: round((nowMs - this.startedAt.getTime()) / 1000, 3),
      live: live.ok,
      ready: ready.ok,
      reasons: [...live.reasons, ...ready.reasons],
      source: {
        name: this.sourceName,
        maxId: status?.sourceMaxId ?? 0,
        listenerConnected: status?.listenerConnected ?? false,
        listenerReconnects: status?.listenerReconnects ?? 0,
      },
      destinations,
    };
  }
}
