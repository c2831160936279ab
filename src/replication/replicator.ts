/**
 * The replicator: start-up checks, then one DestinationLoop per destination and one
 * listener whose wake-ups reach every loop.
 *
 * Start-up order matters: LISTEN is issued before any loop reads its position, so a row
 * committed in between is either seen by the first catch-up or announced by a notification.
 */
import type pg from 'pg';
import { ConnectError, ReplicatorError, coerceError } from '../errors.js';
import type { Logger } from '../log.js';
import type { DatabaseConfig, ReplicatorConfig } from '../types.js';
import { describeDatabase } from '../types.js';
import { closeQuietly, connect } from '../db/connect.js';
import { eventsMaxId } from '../db/sourceReader.js';
import { isTransient } from '../db/pgErrors.js';
import type { CheckedDatabase } from '../db/schemaCheck.js';
import { checkDestinationData, checkDestinationSchema, checkDistinct, checkSource } from '../db/schemaCheck.js';
import { startListener } from '../listener.js';
import type { Listener } from '../listener.js';
import { DestinationLoop } from './destinationLoop.js';
import type { DestinationStatus } from './destinationLoop.js';
import type { ReplicationObserver } from './observer.js';

export interface ReplicatorStatus {
  /** The highest source id any loop has seen. */
  sourceMaxId: number;
  listenerConnected: boolean;
  listenerReconnects: number;
  destinations: DestinationStatus[];
}

export interface Replicator {
  status(): ReplicatorStatus;
  /** Stops every loop (each lets its batch in flight finish) and closes every connection. */
  stop(): Promise<void>;
  /** Settles when the replicator has stopped: resolves after stop(), rejects on a permanent fault. */
  readonly done: Promise<void>;
}

async function openChecked(db: DatabaseConfig, configPath: string, connectTimeoutMs: number): Promise<CheckedDatabase> {
  const client = await connect(db, { connectTimeoutMs, applicationName: 'slate-replicator check' });
  return { client, configPath, label: `${configPath} (${describeDatabase(db)})` };
}

/** Runs the start-up checks of DESIGN steps 3-4; throws the first failure, having written nothing. */
export async function checkDatabases(config: ReplicatorConfig, log: Logger): Promise<void> {
  const entries: Array<[DatabaseConfig, string]> = [
    [config.eventSource, 'eventSource'],
    ...config.replicationDestinations.map((db, i): [DatabaseConfig, string] => [db, `replicationDestinations[${i}]`]),
  ];
  const opened = await Promise.allSettled(entries.map(([db, path]) => openChecked(db, path, config.connectTimeout)));
  const clients: pg.Client[] = opened.flatMap((result) => (result.status === 'fulfilled' ? [result.value.client] : []));
  try {
    const failed = opened.find((result) => result.status === 'rejected');
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
    const databases = opened.map((result) => (result as PromiseFulfilledResult<CheckedDatabase>).value);
    const [source, ...destinations] = databases as [CheckedDatabase, ...CheckedDatabase[]];
    await checkDistinct(databases);
    await checkSource(source);
    for (const destination of destinations) await checkDestinationSchema(destination);
    // The source's max id only: counting its rows would read the whole table at every start.
    log.info({ database: source.label, maxId: await eventsMaxId(source.client) }, 'source checked');
    for (const destination of destinations) {
      const extent = await checkDestinationData(destination, source);
      log.info({ database: destination.label, rows: extent.count, maxId: extent.maxId }, 'destination checked');
    }
  } catch (thrown) {
    // A server restarting or a connection cut between connecting and the end of the checks
    // is as transient as one that cannot be reached: exit 3, which a supervisor retries.
    const error = coerceError(thrown);
    if (!(error instanceof ReplicatorError) && isTransient(error)) {
      throw new ConnectError(
        `lost a connection during the start-up checks (${error.message}); nothing was written. ` +
          'Restarting is safe once the databases are reachable.',
        error,
      );
    }
    throw error;
  } finally {
    await Promise.all(clients.map((client) => closeQuietly(client)));
  }
}

export interface ReplicatorOptions {
  observer?: ReplicationObserver;
}

export async function startReplicator(config: ReplicatorConfig, log: Logger, options: ReplicatorOptions = {}): Promise<Replicator> {
  await checkDatabases(config, log);
  const loops = config.replicationDestinations.map(
    (destination) =>
      new DestinationLoop({
        source: config.eventSource,
        destination,
        maxEventsPerWrite: config.maxEventsPerWrite,
        connectTimeoutMs: config.connectTimeout,
        pollIntervalMs: config.pollIntervalMs,
        log,
        observer: options.observer,
      }),
  );
  const listener: Listener = await startListener({
    source: config.eventSource,
    connectTimeoutMs: config.connectTimeout,
    log,
    onWakeUp: (reason, announcedId) => {
      if (reason === 'reconnected') options.observer?.listenerReconnected?.();
      for (const loop of loops) loop.nudge(announcedId);
    },
  });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await Promise.all(loops.map((loop) => loop.stop()));
      await listener.close();
      log.info('replicator stopped');
    })();
    return stopping;
  };

  // The first loop that fails for good stops the others; `done` reports that failure.
  const done = Promise.all(loops.map((loop) => loop.start())).then(
    async () => {
      await stop();
    },
    async (thrown: unknown) => {
      await stop();
      throw coerceError(thrown);
    },
  );
  log.info({ destinations: loops.map((loop) => loop.name), maxEventsPerWrite: config.maxEventsPerWrite }, 'replicating');

  return {
    status: () => {
      const destinations = loops.map((loop) => loop.status());
      return {
        sourceMaxId: Math.max(0, ...destinations.map((d) => d.sourceMaxId)),
        listenerConnected: listener.connected,
        listenerReconnects: listener.reconnects,
        destinations,
      };
    },
    stop: async () => {
      await stop();
      await done.catch(() => {});
    },
    done,
  };
}
