/**
 * The status server as supervisors and Prometheus use it: the daemon as a child process
 * with --http-port, its endpoints scraped while events flow and while a destination's
 * server is down.
 */
import { describe, expect, test } from 'vitest';
import { createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { startCluster } from './helpers/cluster.js';
import { createTestDatabase } from './helpers/databases.js';
import { findFreePort } from './helpers/embeddedServer.js';
import { insertNumbered, waitUntil } from './helpers/events.js';
import { logRecords, runCli, spawnCli, writeConfigFile } from './helpers/replicator.js';
import type { CliRun } from './helpers/replicator.js';
import type { DatabaseConfig } from '../src/types.js';
import type { ReplicatorStatus } from '../src/replication/replicator.js';
import type { DestinationStatus, LoopState } from '../src/replication/destinationLoop.js';
import { ProgressTracker, lagEvents, liveness, readiness, wedgedAfterMs } from '../src/http/health.js';
import type { StatusReport } from '../src/http/statusBoard.js';

function configFor(source: { config: DatabaseConfig }, destinations: Array<{ config: DatabaseConfig }>, extra: object = {}): string {
  return writeConfigFile({
    eventSource: source.config,
    replicationDestinations: destinations.map((d) => d.config),
    connectTimeout: 3000,
    pollIntervalMs: 500,
    ...extra,
  });
}

async function get(port: number, path: string): Promise<{ status: number; body: string; contentType: string }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: response.status, body: await response.text(), contentType: response.headers.get('content-type') ?? '' };
}

async function statusOf(port: number): Promise<StatusReport> {
  const response = await get(port, '/status');
  expect(response.status).toBe(200);
  return JSON.parse(response.body) as StatusReport;
}

/** The value of one sample of the exposition text, e.g. `name{destination="x"}`; undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (match === null || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[3] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) return Number(match[4]);
  }
  return undefined;
}

async function metricsOf(port: number): Promise<string> {
  const response = await get(port, '/metrics');
  expect(response.status).toBe(200);
  return response.body;
}

/** Starts the daemon with the status server on a free port and waits until it listens. */
async function startDaemon(config: string, extraArgs: string[] = []): Promise<{ run: CliRun; port: number }> {
  const port = await findFreePort();
  const run = spawnCli(['-c', config, '--http-port', String(port), ...extraArgs]);
  await run.waitForOutput((line) => line.includes('status server listening'));
  return { run, port };
}

describe('status server of a running daemon', () => {
  test('/metrics and /status move as events are replicated; /healthz and /readyz answer 200', async () => {
    const source = await createTestDatabase('source');
    const destination = await createTestDatabase('destination');
    await insertNumbered(source, 120);
    const { run, port } = await startDaemon(configFor(source, [destination]));
    const name = `${destination.config.host}:${destination.config.port}/${destination.name}`;

    await waitUntil('the destination reaches 120', async () => (await statusOf(port)).destinations[0]?.position === 120);
    const first = await metricsOf(port);
    expect(sample(first, 'slate_replicator_events_replicated_total', { destination: name })).toBe(120);
    const batchesBefore = sample(first, 'slate_replicator_batches_written_total', { destination: name }) ?? 0;
    expect(batchesBefore).toBeGreaterThanOrEqual(1);

    await insertNumbered(source, 30);
    // The loop reports `streaming` once its next look at the source finds nothing more to copy.
    await waitUntil('the destination reaches 150 and streams', async () => {
      const destinationStatus = (await statusOf(port)).destinations[0];
      return destinationStatus?.position === 150 && destinationStatus.state === 'streaming';
    });
    const second = await metricsOf(port);
    expect(sample(second, 'slate_replicator_events_replicated_total', { destination: name })).toBe(150);
    expect(sample(second, 'slate_replicator_batches_written_total', { destination: name })).toBeGreaterThan(batchesBefore);
    expect(sample(second, 'slate_replicator_batch_duration_seconds_count', { destination: name })).toBeGreaterThan(batchesBefore);
    expect(sample(second, 'slate_replicator_source_max_id')).toBe(150);
    expect(sample(second, 'slate_replicator_destination_position', { destination: name })).toBe(150);
    expect(sample(second, 'slate_replicator_lag_events', { destination: name })).toBe(0);
    expect(sample(second, 'slate_replicator_lag_seconds', { destination: name })).toBe(0);
    expect(sample(second, 'slate_replicator_destination_state', { destination: name, state: 'streaming' })).toBe(1);
    expect(sample(second, 'slate_replicator_destination_state', { destination: name, state: 'retrying' })).toBe(0);
    expect(sample(second, 'slate_replicator_listener_connected')).toBe(1);
    expect(sample(second, 'slate_replicator_listener_reconnects_total')).toBe(0);
    // prom-client's process metrics, from the registry of our own.
    expect(sample(second, 'process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(second).toMatch(/^# TYPE slate_replicator_batch_duration_seconds histogram$/m);

    const status = await statusOf(port);
    expect(status).toMatchObject({
      phase: 'running',
      live: true,
      ready: true,
      reasons: [],
      source: { name: `${source.config.host}:${source.config.port}/${source.name}`, maxId: 150, listenerConnected: true },
    });
    expect(status.destinations).toEqual([
      expect.objectContaining({ name, state: 'streaming', position: 150, lagEvents: 0, lagSeconds: 0, eventsCopied: 150, lastError: null, wedged: false }),
    ]);

    const health = await get(port, '/healthz');
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toMatchObject({ status: 'ok', phase: 'running' });
    const ready = await get(port, '/readyz');
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toMatchObject({ status: 'ready', reasons: [] });
    expect((await get(port, '/nowhere')).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${port}/status`, { method: 'POST' })).status).toBe(405);

    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  });

  test('/readyz turns 503 while a destination\'s server is down and 200 once it is back; /healthz stays 200', async () => {
    const cluster = await startCluster();
    const source = await createTestDatabase('source');
    const destination = await cluster.createDatabase('destination');
    await insertNumbered(source, 10);
    const { run, port } = await startDaemon(configFor(source, [destination]));
    const name = `${destination.config.host}:${destination.config.port}/${destination.name}`;
    await waitUntil('caught up and ready', async () => (await statusOf(port)).destinations[0]?.position === 10 && (await get(port, '/readyz')).status === 200);

    await cluster.stop();
    // An idle loop learns that its destination is gone when it next writes there.
    await insertNumbered(source, 10);
    await waitUntil('not ready', async () => (await get(port, '/readyz')).status === 503, 20_000);
    const notReady = JSON.parse((await get(port, '/readyz')).body) as { status: string; reasons: string[] };
    expect(notReady.status).toBe('not ready');
    expect(notReady.reasons.some((reason) => reason.startsWith(name) && /is (retrying|connecting)/.test(reason))).toBe(true);
    expect((await get(port, '/healthz')).status).toBe(200);
    const down = await statusOf(port);
    expect(down.ready).toBe(false);
    expect(down.destinations[0]?.lastError).not.toBeNull();
    expect(down.destinations[0]?.lastErrorAt).not.toBeNull();
    const metrics = await metricsOf(port);
    const retries = metrics.split('\n').filter((line) => line.startsWith('slate_replicator_retries_total{') && line.includes(name));
    expect(retries.length).toBeGreaterThan(0);

    await cluster.start();
    await waitUntil('ready again', async () => (await get(port, '/readyz')).status === 200, 45_000);
    await waitUntil('caught up', async () => (await statusOf(port)).destinations[0]?.position === 20);
    expect((await get(port, '/healthz')).status).toBe(200);
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
  });

  test('the server answers during a long start-up: /healthz 200, /readyz 503 "starting"', async () => {
    const source = await createTestDatabase('source');
    // Accepts TCP connections and never answers: the start-up checks wait for connectTimeout.
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const silentPort = (silent.address() as AddressInfo).port;
      const config = configFor(source, [{ config: { host: '127.0.0.1', port: silentPort, databaseName: 'never' } }], { connectTimeout: 2500 });
      const { run, port } = await startDaemon(config);
      const health = await get(port, '/healthz');
      expect(health.status).toBe(200);
      expect(JSON.parse(health.body)).toMatchObject({ status: 'ok', phase: 'starting' });
      const ready = await get(port, '/readyz');
      expect(ready.status).toBe(503);
      expect(JSON.parse(ready.body)).toMatchObject({ status: 'not ready', phase: 'starting' });
      expect((await statusOf(port)).phase).toBe('starting');
      expect(await run.exited).toBe(3);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  test('a port already in use: exit 2 before any database is contacted', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '0.0.0.0', resolve));
    try {
      const port = (busy.address() as AddressInfo).port;
      const config = configFor(
        { config: { host: '127.0.0.1', port: 1, databaseName: 'src' } },
        [{ config: { host: '127.0.0.1', port: 1, databaseName: 'dst' } }],
      );
      const run = spawnCli(['-c', config, '--http-port', String(port)]);
      expect(await run.exited).toBe(2);
      expect(run.stderr()).toContain(`cannot listen on 0.0.0.0:${port}`);
      expect(logRecords(run.stdout()).some((r) => String(r.msg).includes('checked'))).toBe(false);
    } finally {
      await new Promise<void>((resolve) => busy.close(() => resolve()));
    }
  });

  test('http.port and http.host from the configuration file', async () => {
    const source = await createTestDatabase('source');
    const destination = await createTestDatabase('destination');
    const port = await findFreePort();
    const run = spawnCli(['-c', configFor(source, [destination], { http: { port, host: '127.0.0.1' } })]);
    const line = await run.waitForOutput((l) => l.includes('status server listening'));
    expect(JSON.parse(line)).toMatchObject({ host: '127.0.0.1', port });
    await waitUntil('ready', async () => (await get(port, '/readyz')).status === 200);
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
  });
});

describe('liveness: a loop is wedged when it is behind, in a moving state, and unchanged for wedgedAfterMs', () => {
  const THRESHOLD = wedgedAfterMs({ pollIntervalMs: 5000, connectTimeout: 15000 });

  function destination(state: LoopState, position: number, sourceMaxId: number): DestinationStatus {
    return {
      name: 'h:5432/d',
      state,
      position,
      sourceMaxId,
      lagEvents: Math.max(0, sourceMaxId - position),
      lagMs: 0,
      eventsCopied: position,
      lastRowsPerSecond: 0,
      lastError: undefined,
      lastErrorAt: undefined,
    };
  }

  function status(d: DestinationStatus, sourceMaxId = d.sourceMaxId, listenerConnected = true): ReplicatorStatus {
    return { sourceMaxId, listenerConnected, listenerReconnects: 0, destinations: [d] };
  }

  test('the threshold: 5 minutes, or 10 poll intervals, or 3 connect timeouts, whichever is longest', () => {
    expect(THRESHOLD).toBe(300_000);
    expect(wedgedAfterMs({ pollIntervalMs: 60_000, connectTimeout: 15_000 })).toBe(600_000);
    expect(wedgedAfterMs({ pollIntervalMs: 5_000, connectTimeout: 200_000 })).toBe(600_000);
  });

  test.each([
    ['catching-up, behind, unchanged past the threshold', 'catching-up', 100, 200, THRESHOLD, false],
    ['catching-up, behind, unchanged just under the threshold', 'catching-up', 100, 200, THRESHOLD - 1, true],
    ['streaming while another loop saw newer source rows', 'streaming', 100, 100, THRESHOLD, false],
    ['connecting for too long while behind', 'connecting', 100, 200, THRESHOLD, false],
    ['in sync and idle for an hour', 'streaming', 200, 200, 3_600_000, true],
    ['retrying for an hour (a backoff is not a wedge)', 'retrying', 100, 200, 3_600_000, true],
    ['standby for an hour (waiting for the writer lock)', 'standby', 100, 200, 3_600_000, true],
  ] as const)('%s', (_name, state, position, ownSourceMaxId, unchangedMs, live) => {
    const tracker = new ProgressTracker();
    const d = destination(state, position, ownSourceMaxId);
    const s = status(d, 200);
    tracker.observe(s, 0);
    tracker.observe(s, unchangedMs);
    const verdict = liveness(s, tracker, THRESHOLD, unchangedMs);
    expect(verdict.ok).toBe(live);
    if (!live) expect(verdict.reasons[0]).toMatch(/^h:5432\/d is wedged: .* 100 events behind, unchanged for \d+ s$/);
  });

  test('any change of position or state restarts the clock', () => {
    const tracker = new ProgressTracker();
    tracker.observe(status(destination('catching-up', 100, 200)), 0);
    tracker.observe(status(destination('catching-up', 150, 200)), THRESHOLD - 10);
    const later = status(destination('catching-up', 150, 200));
    tracker.observe(later, THRESHOLD + 10);
    expect(liveness(later, tracker, THRESHOLD, THRESHOLD + 10).ok).toBe(true);
    tracker.observe(status(destination('retrying', 150, 200)), THRESHOLD + 20);
    const back = status(destination('catching-up', 150, 200));
    tracker.observe(back, 2 * THRESHOLD);
    expect(liveness(back, tracker, THRESHOLD, 2 * THRESHOLD).ok).toBe(true);
    expect(liveness(back, tracker, THRESHOLD, 3 * THRESHOLD + 20).ok).toBe(false);
  });

  test('lag counts the highest source id any loop saw, once the loop knows its position', () => {
    expect(lagEvents(destination('streaming', 100, 100), 150)).toBe(50);
    expect(lagEvents(destination('connecting', 0, 0), 150)).toBe(0);
  });

  test('readiness: standby, catching-up and streaming are ready; connecting, retrying, stopped and a lost listener are not', () => {
    expect(readiness('starting', undefined)).toEqual({ ok: false, reasons: ['starting: the start-up checks have not finished'] });
    expect(readiness('stopping', status(destination('streaming', 1, 1))).ok).toBe(false);
    for (const state of ['standby', 'catching-up', 'streaming'] as const) {
      expect(readiness('running', status(destination(state, 1, 1))).ok).toBe(true);
    }
    for (const state of ['connecting', 'retrying', 'stopped'] as const) {
      expect(readiness('running', status(destination(state, 1, 1)))).toEqual({ ok: false, reasons: [`h:5432/d is ${state}`] });
    }
    expect(readiness('running', status(destination('streaming', 1, 1), 1, false)).reasons).toEqual(['the listener on the source is not connected']);
  });
});

describe('log flags of the daemon', () => {
  /** Nothing listens there: connecting fails at once with ECONNREFUSED. */
  const closedPort = findFreePort;

  function unreachableConfig(port: number): string {
    return configFor({ config: { host: '127.0.0.1', port, databaseName: 'src' } }, [{ config: { host: '127.0.0.1', port, databaseName: 'dst' } }]);
  }

  test('JSON lines when stdout is not a terminal; --log-format pretty gives human lines', async () => {
    const config = unreachableConfig(await closedPort());
    const json = spawnCli(['-c', config]);
    expect(await json.exited).toBe(3);
    const records = logRecords(json.stdout());
    expect(records.map((r) => r.msg)).toEqual(expect.arrayContaining(['starting', 'replicator stopped by an error']));

    const pretty = spawnCli(['-c', config, '--log-format', 'pretty']);
    expect(await pretty.exited).toBe(3);
    expect(pretty.stdout()).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO  starting config=/m);
    expect(pretty.stdout()).toMatch(/^\d\d:\d\d:\d\d\.\d{3} FATAL replicator stopped by an error/m);
    expect(logRecords(pretty.stdout())).toEqual([]);
  });

  test('--log-level error leaves out info lines', async () => {
    const run = spawnCli(['-c', unreachableConfig(await closedPort()), '--log-level', 'error']);
    expect(await run.exited).toBe(3);
    expect(logRecords(run.stdout()).map((r) => r.msg)).toEqual(['replicator stopped by an error']);
  });

  test('--log-level debug: lines about a destination carry its name in `destination`', async () => {
    const source = await createTestDatabase('source');
    const destination = await createTestDatabase('destination');
    await insertNumbered(source, 5);
    const run = spawnCli(['-c', configFor(source, [destination]), '--log-level', 'debug', '--log-format', 'json']);
    const line = await run.waitForOutput((l) => l.includes('"caught up"'));
    expect(JSON.parse(line)).toMatchObject({ level: 20, destination: `${destination.config.host}:${destination.config.port}/${destination.name}`, rows: 5 });
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
  });

  test.each([
    ['--log-level verbose', ['--log-level', 'verbose']],
    ['--log-format xml', ['--log-format', 'xml']],
    ['--http-port 0', ['--http-port', '0']],
    ['--http-port 70000', ['--http-port', '70000']],
  ])('%s: exit 2', async (_name, args) => {
    const result = await runCli(['-c', 'config.js', ...args]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('is invalid');
  });

  test('--http-port shows in --dry-run and wins over http.port', async () => {
    const config = configFor({ config: { host: 'h', port: 5432, databaseName: 'src' } }, [{ config: { host: 'h', port: 5432, databaseName: 'dst' } }], {
      http: { port: 9999, host: '127.0.0.1' },
    });
    expect(JSON.parse((await runCli(['-c', config, '--dry-run'])).stdout).http).toEqual({ port: 9999, host: '127.0.0.1' });
    expect(JSON.parse((await runCli(['-c', config, '--dry-run', '--http-port', '8123'])).stdout).http).toEqual({ port: 8123, host: '127.0.0.1' });
  });
});
