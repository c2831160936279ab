/**
 * The source listener: one dedicated connection (outside any pool, never inside a
 * transaction, so the server's notification queue can always drain) that LISTENs on
 * `eventsinsert` and turns every notification into a wake-up. A notification's payload
 * decides nothing: legacy sources send the whole event, ours the last id, and anything else
 * on the channel is just as good a hint (the first payload of neither kind is logged, once,
 * so that an operator learns that something else notifies on the channel).
 *
 * Notifications sent while the connection is down are lost, so after every reconnection
 * (pg-listen re-issues LISTEN before it emits `connected`) the listener asks for a
 * catch-up. A heartbeat query every HEARTBEAT_INTERVAL_MS, bounded by a query timeout,
 * notices a connection that died silently.
 */
import pgListen from 'pg-listen';
import type { Logger } from './log.js';
import type { DatabaseConfig } from './types.js';
import { describeDatabase } from './types.js';
import { clientConfig, connectFailure } from './db/connect.js';
import { backoffDelayMs } from './replication/backoff.js';

export const CHANNEL = 'eventsinsert';
export const HEARTBEAT_INTERVAL_MS = 10_000;
export const HEARTBEAT_TIMEOUT_MS = 10_000;

/**
 * What the sources we know send: this project's trigger sends the statement's last id
 * (`'1042'`), the legacy trigger a JSON object with the row's `id` and event.
 */
export function isSlatePayload(payload: unknown): boolean {
  if (typeof payload !== 'string') return false;
  if (/^[0-9]+$/.test(payload)) return true;
  return legacyPayload(payload) !== undefined;
}

function legacyPayload(payload: string): { id: unknown } | undefined {
  if (!payload.startsWith('{')) return undefined;
  try {
    const parsed: unknown = JSON.parse(payload);
    return parsed !== null && typeof parsed === 'object' && 'id' in parsed ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The last committed id a notification announces: the number our trigger sends, or the `id`
 * of a legacy payload; undefined for any other payload (then it is only a wake-up).
 */
export function announcedId(payload: unknown): number | undefined {
  if (typeof payload !== 'string') return undefined;
  const id = /^[0-9]+$/.test(payload) ? Number(payload) : legacyPayload(payload)?.id;
  return typeof id === 'number' && Number.isSafeInteger(id) ? id : undefined;
}

export interface ListenerOptions {
  source: DatabaseConfig;
  connectTimeoutMs: number;
  log: Logger;
  /** Called for every notification (with the id it announces, if any) and after every reconnection. */
  onWakeUp: (reason: 'notification' | 'reconnected', announcedId?: number) => void;
}

export interface Listener {
  /** Ends the connection; no wake-up is sent after this resolves. */
  close(): Promise<void>;
  /** Number of reconnections so far. */
  readonly reconnects: number;
  readonly connected: boolean;
}

export async function startListener(options: ListenerOptions): Promise<Listener> {
  const log = options.log.child({ listener: describeDatabase(options.source) });
  const subscriber = pgListen.default(
    {
      ...clientConfig(options.source, { connectTimeoutMs: options.connectTimeoutMs, applicationName: 'slate-replicator listener' }),
      query_timeout: HEARTBEAT_TIMEOUT_MS,
    },
    {
      // Keep raw text: legacy payloads are large JSON, foreign ones may not be JSON at all.
      parse: (payload: string) => payload,
      paranoidChecking: HEARTBEAT_INTERVAL_MS,
      // Never give up while open: the loops keep polling meanwhile, and a listener is cheap
      // to re-open. pg-listen's reconnect loop does not look at close(), so the interval
      // ends it by throwing once we are closed.
      retryLimit: Infinity,
      retryTimeout: 0,
      retryInterval: (attempt: number) => {
        if (closed) throw new Error('listener closed');
        return backoffDelayMs(attempt);
      },
    },
  );
  let closed = false;
  let reconnects = 0;
  let connected = false;
  let initial = true;
  subscriber.events.on('connected', () => {
    if (closed) {
      // A reconnection that was under way when close() ran: end the connection it made.
      void subscriber.close().catch(() => {});
      return;
    }
    connected = true;
    if (initial) {
      initial = false;
      return;
    }
    reconnects += 1;
    log.info({ reconnects }, 'listener reconnected; catching up');
    if (!closed) options.onWakeUp('reconnected');
  });
  subscriber.events.on('reconnect', (attempt: number) => {
    connected = false;
    if (!closed) log.warn({ attempt }, 'listener connection lost; reconnecting');
  });
  subscriber.events.on('error', (error: Error) => {
    if (!closed) log.warn({ err: error }, 'listener error');
  });
  let foreignPayloadLogged = false;
  subscriber.notifications.on(CHANNEL, (payload: unknown) => {
    if (!foreignPayloadLogged && !isSlatePayload(payload)) {
      // Once per listener: someone else notifies on our channel. The payload itself is not
      // logged (it may hold anything); it is only a wake-up like every other.
      foreignPayloadLogged = true;
      log.info(
        { payloadLength: typeof payload === 'string' ? payload.length : 0 },
        `a notification on ${CHANNEL} carries neither an event id nor a legacy event; payloads are not read, ` +
          'any notification is only a wake-up (logged once)',
      );
    }
    if (!closed) options.onWakeUp('notification', announcedId(payload));
  });
  try {
    await subscriber.connect();
    await subscriber.listenTo(CHANNEL);
  } catch (thrown) {
    closed = true;
    await subscriber.close().catch(() => {});
    throw connectFailure(options.source, thrown);
  }
  return {
    async close() {
      closed = true;
      await subscriber.close().catch(() => {});
    },
    get reconnects() {
      return reconnects;
    },
    get connected() {
      return connected && !closed;
    },
  };
}
