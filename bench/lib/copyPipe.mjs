/**
 * The throughput ceiling: every source row streamed by one binary COPY out of the source
 * straight into one binary COPY into a destination, in this process, with the same
 * driver and stream library the replicator uses (pg, pg-copy-streams). No planning, no
 * batches, no locks: one statement on each side, the destination's COPY in autocommit.
 */
import { pipeline } from 'node:stream/promises';
import copyStreams from 'pg-copy-streams';
import { backendPid, cpuSecondsOfAll } from './processStats.mjs';

const COPY_OUT_SQL = 'COPY (SELECT id, ts, event FROM events ORDER BY id) TO STDOUT (FORMAT binary)';
const COPY_IN_SQL = 'COPY events (id, ts, event) FROM STDIN (FORMAT binary)';

/**
 * Runs one pipe per destination, side by side, from `sourceName` on `server`; resolves with
 * the seconds from the first COPY's start until the last destination's COPY has committed,
 * the rows each destination received, and the CPU seconds of the source and destination
 * backends (when the server runs on this machine).
 */
export async function runCopyPipes(server, sourceName, destinationNames) {
  const pairs = await Promise.all(
    destinationNames.map(async (name) => ({ source: await server.connect(sourceName), destination: await server.connect(name) })),
  );
  try {
    const sourcePids = await Promise.all(pairs.map(({ source }) => backendPid(source)));
    const destinationPids = await Promise.all(pairs.map(({ destination }) => backendPid(destination)));
    const startedAt = performance.now();
    const rows = await Promise.all(
      pairs.map(async ({ source, destination }) => {
        const into = destination.query(copyStreams.from(COPY_IN_SQL));
        await pipeline(source.query(copyStreams.to(COPY_OUT_SQL)), into);
        return into.rowCount;
      }),
    );
    const seconds = (performance.now() - startedAt) / 1000;
    return {
      seconds,
      rows,
      sourceBackendCpuSeconds: await cpuSecondsOfAll(sourcePids),
      destinationBackendCpuSeconds: await cpuSecondsOfAll(destinationPids),
    };
  } finally {
    await Promise.all(pairs.flatMap(({ source, destination }) => [source.end(), destination.end()]));
  }
}

/**
 * The same pipe cut into batches of `batchSize` rows, one COPY pair per batch, each batch
 * in its own transaction (`BEGIN` ... `COMMIT`, as the replicator writes) when
 * `transaction` is set, else in autocommit. Used by the profile to
 * tell the cost of batching from the cost of the replicator's own work.
 */
export async function runBatchedCopyPipe(server, sourceName, destinationName, { batchSize, lastId, transaction }) {
  const source = await server.connect(sourceName);
  const destination = await server.connect(destinationName);
  try {
    const startedAt = performance.now();
    for (let from = 0; from < lastId; from += batchSize) {
      const to = Math.min(from + batchSize, lastId);
      if (transaction) await destination.query('BEGIN');
      const into = destination.query(copyStreams.from(COPY_IN_SQL));
      const out = source.query(
        copyStreams.to(`COPY (SELECT id, ts, event FROM events WHERE id > ${from} AND id <= ${to} ORDER BY id) TO STDOUT (FORMAT binary)`),
      );
      await pipeline(out, into);
      if (transaction) await destination.query('COMMIT');
    }
    return { seconds: (performance.now() - startedAt) / 1000 };
  } finally {
    await Promise.all([source.end(), destination.end()]);
  }
}
