/**
 * Records the notifications a channel receives, on a dedicated client that LISTENs:
 *
 *   const notes = await recordNotifications(source);           // channel 'eventsinsert'
 *   await source.query(`SELECT insert_events($1::jsonb)`, [...]);
 *   expect(await notes.flush()).toEqual(['3']);
 *
 * flush() waits for events, not for time: it sends a marker on a private channel and
 * waits for it to come back. Notifications are delivered in commit order, so when the
 * marker arrives, every notification of a transaction committed before flush() was called
 * has arrived too, and the count is final.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { onTestFinished } from 'vitest';
import type { DatabaseConfig } from '../../src/types.js';
import { quoteIdent } from './admin.js';

export interface NotificationRecorder {
  readonly channel: string;
  /** Payloads received so far, in arrival order. */
  readonly payloads: readonly string[];
  /** Resolves with the payloads once at least `count` have arrived; rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs?: number): Promise<string[]>;
  /** Resolves with the payloads once every notification committed before the call has arrived. */
  flush(timeoutMs?: number): Promise<string[]>;
  /** Stops listening and closes the client. Idempotent; also done after the current test. */
  close(): Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 10_000;

type Target = DatabaseConfig | string | { url: string };

function clientConfig(target: Target): pg.ClientConfig {
  if (typeof target === 'string') return { connectionString: target };
  if ('url' in target) return { connectionString: target.url };
  return {
    host: target.host,
    port: target.port,
    database: target.databaseName,
    user: target.user,
    password: target.password,
  };
}

export async function recordNotifications(target: Target, channel = 'eventsinsert'): Promise<NotificationRecorder> {
  const client = new pg.Client({ ...clientConfig(target), application_name: 'slate-test-listener' });
  client.on('error', () => {});
  await client.connect();

  const markerChannel = `slate_test_marker_${randomBytes(5).toString('hex')}`;
  const payloads: string[] = [];
  const waiters = new Set<() => void>();
  let markersSeen = 0;
  let markersSent = 0;
  let closed = false;

  client.on('notification', (message) => {
    if (message.channel === markerChannel) markersSeen += 1;
    else if (message.channel === channel) payloads.push(message.payload ?? '');
    for (const wake of [...waiters]) wake();
  });

  const until = (done: () => boolean, timeoutMs: number, what: () => string): Promise<void> =>
    new Promise((resolve, reject) => {
      if (done()) {
        resolve();
        return;
      }
      const check = (): void => {
        if (!done()) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(what()));
      }, timeoutMs);
      waiters.add(check);
    });

  await client.query(`LISTEN ${quoteIdent(channel)}`);
  await client.query(`LISTEN ${quoteIdent(markerChannel)}`);

  const recorder: NotificationRecorder = {
    channel,
    payloads,
    async waitFor(count, timeoutMs = DEFAULT_TIMEOUT_MS) {
      await until(
        () => payloads.length >= count,
        timeoutMs,
        () => `expected ${count} notification(s) on ${channel} within ${timeoutMs} ms, got ${payloads.length}: ${JSON.stringify(payloads)}`,
      );
      return [...payloads];
    },
    async flush(timeoutMs = DEFAULT_TIMEOUT_MS) {
      markersSent += 1;
      const expected = markersSent;
      await client.query('SELECT pg_notify($1, $2)', [markerChannel, String(expected)]);
      await until(
        () => markersSeen >= expected,
        timeoutMs,
        () => `the marker notification did not come back within ${timeoutMs} ms`,
      );
      return [...payloads];
    },
    async close() {
      if (closed) return;
      closed = true;
      await client.end().catch(() => {});
    },
  };
  try {
    onTestFinished(() => recorder.close());
  } catch {
    // Not inside a test: the caller closes it.
  }
  return recorder;
}
