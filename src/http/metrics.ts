/**
 * The Prometheus metrics, in a registry of their own (never prom-client's global one, so
 * nothing else in the process can add to or clash with them).
 *
 * Counters and the batch histogram are fed by the replication observer as things happen;
 * gauges are read from the status board when Prometheus scrapes. Names follow Prometheus
 * conventions: `slate_replicator_` prefix, `_total` on counters, base units (`_seconds`).
 * Label `destination` is a destination's `host:port/databaseName`; `reason` a retry's
 * short code (a SQLSTATE, a socket error code, or the error's kind).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { LoopState } from '../replication/destinationLoop.js';
import type { ReplicationObserver } from '../replication/observer.js';
import type { StatusBoard } from './statusBoard.js';
import { lagEvents } from './health.js';

const LOOP_STATES: readonly LoopState[] = ['connecting', 'standby', 'catching-up', 'streaming', 'retrying', 'stopped'];

/** Seconds: from a few rows on a local server to a very large source transaction. */
const BATCH_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

export class ReplicationMetrics {
  readonly registry = new Registry();
  readonly observer: ReplicationObserver;

  constructor(board: StatusBoard) {
    const registers = [this.registry];
    const destinationLabel = ['destination'] as const;

    const eventsReplicated = new Counter({
      name: 'slate_replicator_events_replicated_total',
      help: 'Events committed into the destination by this process.',
      labelNames: destinationLabel,
      registers,
    });
    const batchesWritten = new Counter({
      name: 'slate_replicator_batches_written_total',
      help: 'Write transactions committed into the destination by this process.',
      labelNames: destinationLabel,
      registers,
    });
    const batchDuration = new Histogram({
      name: 'slate_replicator_batch_duration_seconds',
      help: 'Time from the start of a destination write transaction to its commit.',
      labelNames: destinationLabel,
      buckets: BATCH_DURATION_BUCKETS,
      registers,
    });
    const retries = new Counter({
      name: 'slate_replicator_retries_total',
      help: 'Transient faults after which the destination\'s loop reconnected and retried, by reason (SQLSTATE, socket error code or kind).',
      labelNames: ['destination', 'reason'] as const,
      registers,
    });
    const listenerReconnects = new Counter({
      name: 'slate_replicator_listener_reconnects_total',
      help: 'Reconnections of the listener on the source (each is followed by a catch-up).',
      registers,
    });
    for (const destination of board.destinationNames) {
      // Present from the start, so rate() and alerts see a 0 rather than no series.
      eventsReplicated.inc({ destination }, 0);
      batchesWritten.inc({ destination }, 0);
    }

    new Gauge({
      name: 'slate_replicator_source_max_id',
      help: 'Highest source event id the replicator has seen.',
      registers,
      collect() {
        const status = board.sample();
        if (status !== undefined) this.set(status.sourceMaxId);
      },
    });
    new Gauge({
      name: 'slate_replicator_listener_connected',
      help: '1 when the listener on the source is connected, else 0.',
      registers,
      collect() {
        this.set(board.sample()?.listenerConnected === true ? 1 : 0);
      },
    });
    new Gauge({
      name: 'slate_replicator_destination_position',
      help: 'The destination\'s max event id, as last known.',
      labelNames: destinationLabel,
      registers,
      collect() {
        for (const d of board.sample()?.destinations ?? []) this.set({ destination: d.name }, d.position);
      },
    });
    new Gauge({
      name: 'slate_replicator_lag_events',
      help: 'Source events not yet in the destination.',
      labelNames: destinationLabel,
      registers,
      collect() {
        const status = board.sample();
        for (const d of status?.destinations ?? []) this.set({ destination: d.name }, lagEvents(d, status?.sourceMaxId ?? 0));
      },
    });
    new Gauge({
      name: 'slate_replicator_lag_seconds',
      help: 'Age of the oldest source event not yet in the destination (now minus its ts); 0 when in sync.',
      labelNames: destinationLabel,
      registers,
      collect() {
        for (const d of board.sample()?.destinations ?? []) this.set({ destination: d.name }, d.lagMs / 1000);
      },
    });
    new Gauge({
      name: 'slate_replicator_destination_state',
      help: 'The destination loop\'s state: 1 for the present state, 0 for the others.',
      labelNames: ['destination', 'state'] as const,
      registers,
      collect() {
        this.reset();
        for (const d of board.sample()?.destinations ?? []) {
          for (const state of LOOP_STATES) this.set({ destination: d.name, state }, d.state === state ? 1 : 0);
        }
      },
    });

    collectDefaultMetrics({ register: this.registry });

    this.observer = {
      batchWritten(destination, rows, seconds) {
        eventsReplicated.inc({ destination }, rows);
        batchesWritten.inc({ destination });
        batchDuration.observe({ destination }, seconds);
      },
      retrying(destination, reason) {
        retries.inc({ destination, reason });
      },
      listenerReconnected() {
        listenerReconnects.inc();
      },
    };
  }

  /** The exposition text and its content type. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
