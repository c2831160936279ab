/**
 * PostgreSQL's own logical replication, the reference the replicator is compared with:
 * a publication of `events` on the source and a subscription in a destination database.
 *
 * Both live in one cluster. CREATE SUBSCRIPTION cannot create its slot there (creating a
 * logical slot waits for every running transaction to end, the CREATE SUBSCRIPTION's own
 * included), so the slot is made first with pg_create_logical_replication_slot and the
 * subscription is told to use it (`create_slot = false`). The initial copy's temporary
 * table-sync slot is made by the sync worker, outside that transaction, and works.
 * Dropping goes the same way round: the subscription forgets its slot, then the slot is
 * dropped on the source.
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** As for the replicator's destinations (destinations.mjs): every 100 ms. */
const POLL_MS = 100;
/** How long a subscription may take to reach a state before the bench gives up. */
const STATE_TIMEOUT_MS = 10 * 60_000;

/** Table-sync states in which the initial copy has committed (PG 14+ `f`, older `s`/`r`). */
const COPIED_STATES = new Set(['f', 's', 'r']);

let counter = 0;

/**
 * Starts replicating `sourceName` into `destinationName`. With `copyData`, the
 * subscription first copies every existing row (the initial sync); without, it streams
 * only what is committed from now on. Resolves once the subscription exists; `close()`
 * drops the subscription, its slot and the publication.
 */
export async function subscribe(server, sourceName, destinationName, { copyData }) {
  counter += 1;
  const name = `slate_bench_sub_${process.pid}_${counter}`;
  const source = await server.connect(sourceName);
  const destination = await server.connect(destinationName);
  let subscribed = false;
  let slotMade = false;
  let published = false;
  const close = async () => {
    if (subscribed) {
      await destination.query(`ALTER SUBSCRIPTION ${name} DISABLE`);
      await destination.query(`ALTER SUBSCRIPTION ${name} SET (slot_name = NONE)`);
      await destination.query(`DROP SUBSCRIPTION ${name}`);
      subscribed = false;
    }
    if (slotMade) {
      // The walsender may still hold the slot for a moment after the subscription went away.
      for (let attempt = 0; ; attempt += 1) {
        try {
          await source.query('SELECT pg_drop_replication_slot($1)', [name]);
          break;
        } catch (error) {
          if (attempt >= 100) throw error;
          await sleep(50);
        }
      }
      // Table-sync slots are dropped by their workers; one left behind by an interrupted sync would keep WAL.
      await source.query(
        "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name LIKE 'pg\\_%\\_sync\\_%' AND NOT active",
      );
      slotMade = false;
    }
    if (published) {
      await source.query(`DROP PUBLICATION ${name}`);
      published = false;
    }
    await Promise.all([source.end(), destination.end()]);
  };
  try {
    await source.query(`CREATE PUBLICATION ${name} FOR TABLE events`);
    published = true;
    await source.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [name]);
    slotMade = true;
    const startedAt = performance.now();
    await destination.query(
      `CREATE SUBSCRIPTION ${name} CONNECTION '${server.conninfo(sourceName).replaceAll("'", "''")}' ` +
        `PUBLICATION ${name} WITH (create_slot = false, slot_name = '${name}', copy_data = ${copyData ? 'true' : 'false'})`,
    );
    subscribed = true;
    return {
      name,
      startedAt,
      /** Resolves when the initial copy has committed: the seconds since CREATE SUBSCRIPTION. */
      async initialCopyDone() {
        await waitFor(async () => {
          const result = await destination.query(
            'SELECT srsubstate FROM pg_subscription_rel r JOIN pg_subscription s ON s.oid = r.srsubid WHERE s.subname = $1',
            [name],
          );
          return result.rows.length > 0 && result.rows.every((row) => COPIED_STATES.has(row.srsubstate));
        }, `the initial copy of subscription ${name}`);
        return (performance.now() - startedAt) / 1000;
      },
      /** Resolves when the subscription's WAL sender streams changes (no initial copy left). */
      async streaming() {
        await waitFor(async () => {
          const result = await source.query("SELECT 1 FROM pg_stat_replication WHERE application_name = $1 AND state = 'streaming'", [name]);
          return result.rows.length > 0;
        }, `subscription ${name} streaming`);
      },
      close,
    };
  } catch (error) {
    await close().catch(() => {});
    throw error;
  }
}

async function waitFor(check, what) {
  const deadline = performance.now() + STATE_TIMEOUT_MS;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(POLL_MS);
  }
}
