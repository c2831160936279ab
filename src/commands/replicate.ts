/**
 * Runs the replicator until a signal stops it (resolves: exit 0) or a permanent fault ends
 * it (rejects with that fault, whose exit code the CLI uses).
 */
import type { Logger } from '../log.js';
import type { ReplicatorConfig } from '../types.js';
import { maskSecrets } from '../log.js';
import { onShutdownSignal } from '../signals.js';
import { startReplicator } from '../replication/replicator.js';

export async function replicate(config: ReplicatorConfig, log: Logger): Promise<void> {
  log.info({ config: maskSecrets(config) }, 'starting');
  let stopRequested = false;
  let stopNow: (() => void) | undefined;
  const removeSignalHandler = onShutdownSignal((signal) => {
    log.info({ signal }, 'stopping: letting batches in flight finish');
    stopRequested = true;
    stopNow?.();
  });
  try {
    const replicator = await startReplicator(config, log);
    stopNow = () => void replicator.stop();
    if (stopRequested) stopNow();
    await replicator.done;
  } catch (error) {
    log.fatal({ err: error }, 'replicator stopped by an error');
    throw error;
  } finally {
    removeSignalHandler();
  }
}
