/**
 * The demo's databases on its embedded server: one source and two destinations, each made
 * with this project's sql/ schema, and the replicator configuration that joins them.
 */
import type pg from 'pg';
import { validateConfig } from '../config/validate.js';
import { closeQuietly, connect } from '../db/connect.js';
import { applySchema } from '../db/schema.js';
import type { DatabaseKind } from '../db/schema.js';
import type { EmbeddedServer } from '../embedded/embeddedServer.js';
import type { DatabaseConfig, ReplicatorConfig } from '../types.js';

export const DEMO_SOURCE = 'demo_source';
export const DEMO_DESTINATIONS = ['demo_destination_1', 'demo_destination_2'] as const;

const CONNECT_TIMEOUT_MS = 10_000;
/** PostgreSQL 15 added STRATEGY; FILE_COPY makes a small database several times faster. */
const FILE_COPY_SINCE_VERSION_NUM = 150_000;

async function withClient<T>(db: DatabaseConfig, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = await connect(db, { connectTimeoutMs: CONNECT_TIMEOUT_MS, applicationName: 'slate-replicator demo' });
  try {
    return await work(client);
  } finally {
    await closeQuietly(client);
  }
}

/** Creates the source and the destinations and returns the configuration a user would write for them. */
export async function createDemoDatabases(server: EmbeddedServer): Promise<ReplicatorConfig> {
  const databases: Array<[string, DatabaseKind]> = [
    [DEMO_SOURCE, 'source'],
    ...DEMO_DESTINATIONS.map((name): [string, DatabaseKind] => [name, 'destination']),
  ];
  await withClient(server.databaseConfig('postgres'), async (admin) => {
    const { rows } = await admin.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`);
    const strategy = Number(rows[0]?.v) >= FILE_COPY_SINCE_VERSION_NUM ? ' STRATEGY FILE_COPY' : '';
    for (const [name] of databases) {
      await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(name)} TEMPLATE template0${strategy}`);
    }
  });
  for (const [name, kind] of databases) {
    await withClient(server.databaseConfig(name), (client) => applySchema(client, kind));
  }
  // Validated like a user's file, so every other setting is the documented default.
  return validateConfig(
    {
      eventSource: server.databaseConfig(DEMO_SOURCE),
      replicationDestinations: DEMO_DESTINATIONS.map((name) => server.databaseConfig(name)),
    },
    'the demo configuration',
  );
}
