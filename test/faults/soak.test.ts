/**
 * The soak run: every kind of fault of the other scenarios, drawn at random, for
 * SLATE_SOAK_SECONDS seconds, with verify run against every destination every minute while
 * the writers and the replicator go on. Skipped unless SLATE_SOAK_SECONDS is set:
 *
 *   SLATE_SOAK_SECONDS=600 npx vitest run test/faults/soak.test.ts
 *
 * Kinds: kill -9 of a replicator (restarted), pg_terminate_backend of a listener, reader or
 * writer session, the source server or a destination server restarted, connections cut,
 * every path stalled for a few seconds, a destination's open connections left half-open for
 * a minute or two, and a second replicator on the same configuration started, or one of two
 * killed for good.
 */
import { expect, test } from 'vitest';
import { withClient } from '../helpers/events.js';
import type { Proxy } from '../helpers/proxy.js';
import { soakSeconds, startRig, verifyAll } from './rig.js';
import type { Rig } from './rig.js';
import type { ReplicatorProcess } from './replicatorProcess.js';

const SOAK_SECONDS = soakSeconds();
const VERIFY_EVERY_MS = 60_000;
const ROLES = ['listener', 'reader', 'writer'] as const;

async function terminateOne(rig: Rig, role: string): Promise<boolean> {
  const db = role === 'writer' ? rig.random.pick(rig.destinations) : rig.source;
  try {
    return await withClient(db, async (client) => {
      const sessions = await client.query<{ pid: number }>(
        'SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1 ORDER BY pid',
        [`slate-replicator ${role}`],
      );
      const session = sessions.rows.length === 0 ? undefined : sessions.rows[rig.random.int(0, sessions.rows.length)];
      if (session === undefined) return false;
      return (await client.query<{ ok: boolean }>('SELECT pg_terminate_backend($1) AS ok', [session.pid])).rows[0]?.ok === true;
    });
  } catch {
    // The server is being restarted by another fault.
    return false;
  }
}

test.skipIf(SOAK_SECONDS === undefined)('soak: random faults of every kind while writers and replicators run', async () => {
  const seconds = SOAK_SECONDS ?? 0;
  const rig = await startRig({ scenario: 'soak', proxied: true });
  const proxies = [rig.sourceProxy as Proxy, ...rig.destinationProxies];
  const running = (): ReplicatorProcess[] => rig.replicators.filter((r) => !r.stoppedForGood);
  rig.startReplicator();
  const deadline = Date.now() + seconds * 1000;
  let nextVerifyAt = Date.now() + VERIFY_EVERY_MS;
  let liveVerifications = 0;
  let liveEventsVerified = 0;
  let liveDifferences = 0;
  const resumeTimers: NodeJS.Timeout[] = [];

  while (Date.now() < deadline) {
    await rig.pause(500, 4000);
    const kind = rig.random.weighted({
      kill: 24,
      terminate: 20,
      restartSource: 6,
      restartDestination: 8,
      cut: 15,
      stall: 8,
      halfOpen: 3,
      replicators: 6,
    });
    switch (kind) {
      case 'kill': {
        const replicator = rig.random.pick(running());
        await replicator.kill9();
        rig.fault('kill-9');
        if (rig.random.chance(0.3)) await rig.pause(0, 1000);
        replicator.start();
        break;
      }
      case 'terminate': {
        const role = rig.random.pick(ROLES);
        if (await terminateOne(rig, role)) rig.fault(`terminate ${role}`);
        break;
      }
      case 'restartSource':
      case 'restartDestination': {
        const index = rig.random.int(0, rig.destinationClusters.length);
        const cluster = kind === 'restartSource' ? rig.sourceCluster : rig.destinationClusters[index];
        if (cluster === undefined || !cluster.running) break;
        await cluster.stop();
        rig.fault(kind === 'restartSource' ? 'restart source' : 'restart destination');
        await rig.pause(200, 3000);
        await cluster.start();
        break;
      }
      case 'cut':
        if (rig.random.pick(proxies).cut() > 0) rig.fault('cut');
        break;
      case 'stall':
        for (const proxy of proxies) proxy.stall();
        rig.fault('stall every path, then resume');
        await rig.pause(1000, 5000);
        for (const proxy of proxies) proxy.resume();
        break;
      case 'halfOpen': {
        const proxy = rig.random.pick(rig.destinationProxies);
        if (proxy.stall({ newConnections: 'pass' }) > 0) rig.fault('half-open destination');
        resumeTimers.push(setTimeout(() => proxy.resume(), rig.random.int(60_000, 120_000)));
        break;
      }
      case 'replicators': {
        const live = running();
        if (live.length < 2) {
          rig.startReplicator();
          rig.fault('second replicator started');
        } else {
          const victim = rig.random.pick(live);
          await victim.kill9();
          victim.stoppedForGood = true;
          rig.fault('kill-9 of one of two replicators, not restarted');
        }
        break;
      }
    }
    if (Date.now() >= nextVerifyAt) {
      nextVerifyAt = Date.now() + VERIFY_EVERY_MS;
      try {
        const report = await verifyAll(rig.source.config, rig.destinations.map((d) => d.config));
        liveVerifications += 1;
        for (const verdict of report.destinations) {
          liveEventsVerified += verdict.equalUpToId;
          if (!verdict.equal) liveDifferences += 1;
          expect(verdict.difference, `${verdict.label} while running`).toBeUndefined();
        }
      } catch (error) {
        if ((error as { exitCode?: number }).exitCode !== 3) throw error;
        // A server was down at that moment: verify again next time.
      }
    }
  }
  for (const timer of resumeTimers) clearTimeout(timer);
  const summary = await rig.finish();
  console.log(
    `soak: ${seconds} s, ${summary.faultCount} faults, ${summary.sourceMaxId} events written, ` +
      `${liveVerifications} verifications while running (${liveEventsVerified} events, ${liveDifferences} differences), ` +
      `final verify ${summary.eventsVerified} events, ${summary.differences} differences`,
  );
}, ((SOAK_SECONDS ?? 0) + 600) * 1000);
