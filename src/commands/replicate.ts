/**
 * Runs the replicator until a signal stops it (resolves: exit 0) or a permanent fault ends
 * it (rejects with that fault, whose exit code the CLI uses).
 *
 * With `http` configured, the status server starts first, before the start-up checks: its
 * port is taken (or refused) before any database is touched, /healthz answers during a
 * long start-up, and /readyz says "starting" until the checks pass. It stops last.
 */
import type { Logger } from '../log.js';
import type { ReplicatorConfig } from '../types.js';
import { maskSecrets } from '../log.js';
import { onShutdownSignal } from '../signals.js';
import { startReplicator } from '../replication/replicator.js';
import type { ReplicationMetrics } from '../http/metrics.js';
import type { StatusBoard } from '../http/statusBoard.js';
import type { StatusServer } from '../http/statusServer.js';

/**
 * The status server's modules (prom-client among them) are loaded only when it is
 * configured: a replicator without one does not carry them in memory.
 */
async function statusParts(config: ReplicatorConfig): Promise<{ board: StatusBoard; metrics: ReplicationMetrics } | undefined> {
  if (config.http === undefined) return undefined;
  const [{ StatusBoard }, { ReplicationMetrics }] = await Promise.all([import('../http/statusBoard.js'), import('../http/metrics.js')]);
  const board = new StatusBoard(config);
  return { board, metrics: new ReplicationMetrics(board) };
}

export async function replicate(config: ReplicatorConfig, log: Logger): Promise<void> {
  log.info({ config: maskSecrets(config) }, 'starting');
  const parts = await statusParts(config);
  const board = parts?.board;
  const metrics = parts?.metrics;
  let stopRequested = false;
  let stopNow: (() => void) | undefined;
  const removeSignalHandler = onShutdownSignal((signal) => {
    log.info({ signal }, 'stopping: letting batches in flight finish');
    stopRequested = true;
    board?.stopping();
    stopNow?.();
  });
  let server: StatusServer | undefined;
  try {
    if (config.http !== undefined && board !== undefined && metrics !== undefined) {
      const { startStatusServer } = await import('../http/statusServer.js');
      server = await startStatusServer({ ...config.http, board, metrics, log });
    }
    const replicator = await startReplicator(config, log, { observer: metrics?.observer });
    board?.running(replicator);
    stopNow = () => void replicator.stop();
    if (stopRequested) stopNow();
    await replicator.done;
  } catch (error) {
    log.fatal({ err: error }, 'replicator stopped by an error');
    throw error;
  } finally {
    removeSignalHandler();
    board?.close();
    await server?.close();
  }
}
