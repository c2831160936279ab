/**
 * Watching and checking destinations: when they have caught up with the source, and whether
 * their rows equal the source's (EVENTS_HASH_SQL, the hash the replicator's own checks use).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { EVENTS_HASH_SQL } from '../../dist/db/rowHash.js';

/**
 * Polling costs the server a max(id) per destination each time, which competes with the
 * writes being measured; every 100 ms, that is under 1 % of a core, and the time it finds
 * is at most 100 ms late (under 1 % of a million-event catch-up).
 */
const POLL_MS = 100;
const STALL_MS = 60_000;

export async function maxId(client) {
  const result = await client.query('SELECT coalesce(max(id), 0)::text AS max_id FROM events');
  return Number(result.rows[0].max_id);
}

/**
 * Resolves with the seconds since `startedAt` (a performance.now() value) when every
 * destination's max id has reached `targetId`, polling each on its own connection.
 * Rejects when `failure` (if given) rejects first, after `timeoutMs`, or when no
 * destination has moved for `stallMs`.
 */
export async function waitUntilCaughtUp(server, destinationNames, targetId, { startedAt, failure, timeoutMs, stallMs = STALL_MS }) {
  const clients = await Promise.all(destinationNames.map((name) => server.connect(name)));
  let done = false;
  const watch = (async () => {
    const deadline = performance.now() + timeoutMs;
    const reachedAt = new Array(clients.length).fill(undefined);
    let lastIds = '';
    let movedAt = performance.now();
    while (!done) {
      const ids = await Promise.all(clients.map((client) => maxId(client)));
      const now = performance.now();
      if (ids.join() !== lastIds) {
        lastIds = ids.join();
        movedAt = now;
      } else if (now - movedAt > stallMs) {
        throw new Error(`destinations at ids ${ids.join(', ')} have not moved for ${stallMs / 1000} s (waiting for ${targetId})`);
      }
      ids.forEach((id, i) => {
        if (id >= targetId && reachedAt[i] === undefined) reachedAt[i] = now;
      });
      if (reachedAt.every((at) => at !== undefined)) {
        return { seconds: (Math.max(...reachedAt) - startedAt) / 1000, perDestinationSeconds: reachedAt.map((at) => (at - startedAt) / 1000) };
      }
      if (now > deadline) {
        throw new Error(`destinations at ids ${ids.join(', ')} did not reach ${targetId} within ${timeoutMs / 1000} s`);
      }
      await sleep(POLL_MS);
    }
    return undefined;
  })();
  try {
    return await (failure === undefined ? watch : Promise.race([watch, failure]));
  } finally {
    done = true;
    await watch.catch(() => {});
    await Promise.all(clients.map((client) => client.end()));
  }
}

/** The events hash of one database. */
export async function eventsHash(server, databaseName) {
  const client = await server.connect(databaseName);
  try {
    const result = await client.query(EVENTS_HASH_SQL);
    return result.rows[0].hash;
  } finally {
    await client.end();
  }
}

/**
 * Compares each destination with the source's hash; resolves with the names that differ
 * (empty when all are equal). The destinations are hashed side by side.
 */
export async function differingDestinations(server, sourceHash, destinationNames) {
  const hashes = await Promise.all(destinationNames.map((name) => eventsHash(server, name)));
  return destinationNames.filter((_, i) => hashes[i] !== sourceHash);
}
