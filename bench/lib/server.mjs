/**
 * The PostgreSQL server a bench run measures on, and the databases it makes there.
 *
 * Default: an embedded server (src/embedded) in a new data directory, set up for the bench
 * and restarted once so the settings take effect. With BENCH_DATABASE_URL (a superuser on a
 * maintenance database): that server, as it is configured; logical replication is then
 * measured only when its wal_level is `logical`.
 *
 * Every database a run makes is named `slate_bench_<run>_...` and dropped by the run.
 */
import { randomBytes } from 'node:crypto';
import { stat, statfs } from 'node:fs/promises';
import pg from 'pg';
import { startEmbeddedServer } from '../../dist/embedded/embeddedServer.js';
import { applySchema } from '../../dist/db/schema.js';

/**
 * Settings of the embedded server, the same for every method measured. The embedded server
 * itself starts with fsync=off, full_page_writes=off and synchronous_commit=off (its data is
 * thrown away); synchronous_commit is turned back on for every session of the bench's role,
 * so a commit writes its WAL at once, as on a production server, and a WAL sender sees it
 * without waiting for the WAL writer's next round.
 */
export const EMBEDDED_SETTINGS = {
  wal_level: 'logical',
  shared_buffers: '1GB',
  max_wal_size: '8GB',
  checkpoint_timeout: '30min',
};
const ROLE_SETTINGS = { synchronous_commit: 'on' };

/** Settings reported with the results, whichever server runs the bench. */
const REPORTED_SETTINGS = [
  'server_version',
  'fsync',
  'synchronous_commit',
  'full_page_writes',
  'wal_level',
  'shared_buffers',
  'max_wal_size',
  'checkpoint_timeout',
  'shared_preload_libraries',
];

/**
 * What a run's data directory may hold at its peak, per event loaded: the source and two
 * destinations (~460 bytes an event each, indexes included) and the WAL of a two-destination
 * catch-up, with room to spare.
 */
const DATA_BYTES_PER_EVENT = 4000;

/**
 * /dev/shm when it is a memory file system anyone can write to with room for the run
 * (twice the estimate, so the machine keeps memory to run in), else /tmp.
 */
async function dataDirParent(events) {
  try {
    const [space, info] = await Promise.all([statfs('/dev/shm'), stat('/dev/shm')]);
    if ((info.mode & 0o002) !== 0 && space.bavail * space.bsize >= 2 * events * DATA_BYTES_PER_EVENT) return '/dev/shm';
  } catch {
    // No /dev/shm here.
  }
  return '/tmp';
}

function quoteIdent(name) {
  return `"${name.replaceAll('"', '""')}"`;
}

function quoteLiteral(text) {
  return `'${text.replaceAll("'", "''")}'`;
}

function parseUrl(url) {
  const u = new URL(url);
  return {
    host: u.hostname,
    port: Number(u.port || 5432),
    user: decodeURIComponent(u.username) || undefined,
    password: u.password === '' ? undefined : decodeURIComponent(u.password),
    maintenanceDb: decodeURIComponent(u.pathname.slice(1)) || 'postgres',
  };
}

/**
 * Opens the bench server, for a run of `events` events. `settings` are added to EMBEDDED_SETTINGS for the embedded server
 * (e.g. pg_stat_statements and statement logging for profiling); they are ignored for
 * BENCH_DATABASE_URL.
 */
export async function openServer({ url, events = 1_000_000, settings: extraSettings = {} } = {}) {
  let embedded;
  let login;
  if (url === undefined) {
    embedded = await startEmbeddedServer({ purpose: 'bench', parentDir: await dataDirParent(events), callerHandlesSignals: true });
    login = { host: '127.0.0.1', port: embedded.port, user: embedded.user, password: embedded.password, maintenanceDb: 'postgres' };
    const admin = new pg.Client({ ...login, database: login.maintenanceDb });
    await admin.connect();
    try {
      const settings = { ...EMBEDDED_SETTINGS, ...extraSettings };
      for (const [name, value] of Object.entries(settings)) {
        await admin.query(`ALTER SYSTEM SET ${name} = ${quoteLiteral(value)}`);
      }
      for (const [name, value] of Object.entries(ROLE_SETTINGS)) {
        await admin.query(`ALTER ROLE ${quoteIdent(login.user)} SET ${name} = ${quoteLiteral(value)}`);
      }
    } finally {
      await admin.end();
    }
    await embedded.stop();
    await embedded.start();
  } else {
    login = parseUrl(url);
  }

  const prefix = `slate_bench_${randomBytes(3).toString('hex')}_`;
  const made = new Set();
  let counter = 0;

  const databaseConfig = (databaseName) => ({
    host: login.host,
    port: login.port,
    databaseName,
    ...(login.user === undefined ? {} : { user: login.user }),
    ...(login.password === undefined ? {} : { password: login.password }),
  });
  const clientConfig = (databaseName) => ({
    host: login.host,
    port: login.port,
    user: login.user,
    password: login.password,
    database: databaseName,
    application_name: 'slate-bench',
  });
  const connect = async (databaseName) => {
    const client = new pg.Client(clientConfig(databaseName));
    client.on('error', () => {});
    await client.connect();
    return client;
  };
  const admin = await connect(login.maintenanceDb);

  const server = {
    embedded: embedded !== undefined,
    dataDir: embedded?.dataDir,
    databaseConfig,
    /** pg.Client settings for `databaseName` on this server (what connect uses). */
    clientConfig,
    connect,
    /** A libpq connection string for a subscription on this server. */
    conninfo(databaseName) {
      const parts = { host: login.host, port: String(login.port), dbname: databaseName, user: login.user, password: login.password };
      return Object.entries(parts)
        .filter(([, value]) => value !== undefined)
        .map(([key, value]) => `${key}=${quoteLiteral(value)}`)
        .join(' ');
    },
    async query(text, values) {
      return admin.query(text, values);
    },
    async settings() {
      const result = await admin.query('SELECT name, current_setting(name) AS value FROM unnest($1::text[]) AS name', [REPORTED_SETTINGS]);
      const out = Object.fromEntries(result.rows.map((row) => [row.name, row.value]));
      const version = await admin.query('SELECT version()');
      out.version = version.rows[0].version;
      return out;
    },
    /** A new empty database named `<prefix><label>`, with the schema of `kind` (or none). */
    async createDatabase(label, kind) {
      const name = `${prefix}${label}`;
      await admin.query(`CREATE DATABASE ${quoteIdent(name)}`);
      made.add(name);
      if (kind !== undefined) {
        const client = await connect(name);
        try {
          await applySchema(client, kind);
        } finally {
          await client.end();
        }
      }
      return name;
    },
    /** A new database cloned from `template`. */
    async cloneDatabase(template, label) {
      counter += 1;
      const name = `${prefix}${label}_${counter}`;
      await admin.query(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE ${quoteIdent(template)}`);
      made.add(name);
      return name;
    },
    async dropDatabase(name) {
      await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
      made.delete(name);
    },
    /** Drops every database of this run and stops the embedded server. */
    async close() {
      try {
        for (const name of [...made]) await server.dropDatabase(name).catch(() => {});
      } finally {
        await admin.end().catch(() => {});
        await embedded?.destroy();
      }
    },
  };
  return server;
}
