/**
 * Fault scenario: the network between the replicator and the servers, through a TCP proxy
 * in front of each server: connections cut (reset), every connection stalled for a moment,
 * the whole path to the source stalled until the replicator notices, and a destination's
 * open connections left half-open for good while new connections go through.
 *
 * Detection bounds (src/db/timeouts.ts, src/listener.ts): the listener's heartbeat runs
 * every 10 s with a 10 s timeout (<= 20 s); a short statement must answer within 30 s and a
 * COPY must move data every 30 s; an idle loop sends its next statement within
 * pollIntervalMs (1 s here). So a stalled path to the source is noticed within 31 s here.
 * A destination connection that goes silent inside a write transaction takes up to 30 s
 * more: the writer then asks the same connection for a ROLLBACK, which waits for its own
 * 30 s timeout before the loop gets the fault and drops the connection.
 */
import { expect, test } from 'vitest';
import { maxId } from '../helpers/events.js';
import type { Proxy } from '../helpers/proxy.js';
import { startRig } from './rig.js';

const CUTS = 8;
const LISTENER_BOUND_MS = 20_000 + 2_000;
const STATEMENT_BOUND_MS = 30_000 + 1_000 + 2_000;
/** A statement's timeout, then the ROLLBACK's on the same silent connection, then closing it (2 s). */
const WRITER_BOUND_MS = 30_000 + 30_000 + 1_000 + 2_000 + 2_000;

function recordTimeMs(record: Record<string, unknown>): number {
  return new Date(String(record.time)).getTime();
}

test('connections cut, stalled, and left half-open between the replicator and the servers', async () => {
  const rig = await startRig({ scenario: 'network', proxied: true, writers: 2 });
  const source = rig.sourceProxy as Proxy;
  const proxies: Array<[string, Proxy]> = [['source', source], ...rig.destinationProxies.map((p, i): [string, Proxy] => [`destination ${i}`, p])];
  const replicator = rig.startReplicator();
  await rig.waitFor('replication under way', async () => (await maxId(rig.destinations[0] as { url: string })) > 0, 30_000);

  for (let i = 0; i < CUTS; i++) {
    await rig.pause(300, 1500);
    const [name, proxy] = rig.random.pick(proxies);
    if (proxy.cut() > 0) rig.fault(`cut ${name}`);
  }

  // Every path stalls for less than any timeout: nothing needs noticing, everything goes on.
  await rig.pause(300, 1500);
  for (const [, proxy] of proxies) proxy.stall();
  rig.fault('stall every path, then resume');
  await rig.pause(1000, 4000);
  for (const [, proxy] of proxies) proxy.resume();

  // The path to the source stalls, new connections included, until the replicator notices.
  await rig.pause(300, 1500);
  const stalledAt = Date.now();
  source.stall();
  rig.fault('stall source');
  const since = () => replicator.currentRecords().filter((r) => recordTimeMs(r) >= stalledAt);
  const listenerNoticed = () => since().find((r) => r.msg === 'listener connection lost; reconnecting');
  const loopNoticed = (name: string) => since().find((r) => r.msg === 'transient fault; retrying' && String(r.destination).endsWith(`/${name}`));
  await rig.waitFor(
    'the listener and every loop notice the stalled source',
    () => listenerNoticed() !== undefined && rig.destinations.every((d) => loopNoticed(d.name) !== undefined),
    STATEMENT_BOUND_MS + 10_000,
  );
  const listenerMs = recordTimeMs(listenerNoticed() as Record<string, unknown>) - stalledAt;
  const loopMs = rig.destinations.map((d) => recordTimeMs(loopNoticed(d.name) as Record<string, unknown>) - stalledAt);
  source.resume();
  console.log(`network: stalled source noticed by the listener after ${listenerMs} ms, by the loops after ${loopMs.join(', ')} ms`);
  expect(listenerMs).toBeLessThan(LISTENER_BOUND_MS);
  for (const ms of loopMs) expect(ms).toBeLessThan(STATEMENT_BOUND_MS);

  // Destination 0's open connections hang for good (a lost NAT entry); new ones go through.
  const halfOpen = rig.destinationProxies[0] as Proxy;
  const destination = rig.destinations[0] as { url: string; name: string };
  const before = await maxId(rig.source);
  await rig.waitFor(`destination 0 passes id ${before} again`, async () => (await maxId(destination)) >= before, 60_000);
  const cutOffAt = Date.now();
  halfOpen.stall({ newConnections: 'pass' });
  rig.fault('half-open destination 0');
  await rig.waitFor(
    'the loop of destination 0 notices its hanging connection',
    () => since().some((r) => recordTimeMs(r) >= cutOffAt && r.msg === 'transient fault; retrying' && String(r.destination).endsWith(`/${destination.name}`)),
    WRITER_BOUND_MS + 10_000,
  );
  const noticedMs = Date.now() - cutOffAt;
  expect(noticedMs).toBeLessThan(WRITER_BOUND_MS);
  // It must carry on through new connections while the old ones hang. (When the server
  // still holds the old writer session, and with it the writer lock, the loop ends that
  // session itself: halfOpenWriter.test.ts shows that case on its own.)
  const target = await maxId(rig.source);
  await rig.waitFor(`destination 0 passes id ${target} while its old connections hang`, async () => (await maxId(destination)) >= target, 30_000);
  console.log(`network: half-open destination connection noticed within ${noticedMs} ms, replication resumed ${Date.now() - cutOffAt} ms after the cut-off`);
  await rig.finish();
}, 300_000);
