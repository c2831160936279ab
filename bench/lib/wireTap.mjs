/**
 * A TCP relay in front of PostgreSQL that notes, for every statement a client sends, when
 * it was sent and when the server was done with it (ReadyForQuery), reading only the
 * protocol's message headers (and the text of Query, Parse and Bind messages). Bytes are
 * passed on unchanged. Used by the profile to see the replicator's round trips and the time
 * between them from the client's side; it adds a hop, so absolute times under it are a
 * little longer than without it.
 *
 * Protocol v3 without TLS: the client's first message (StartupMessage) has no type byte;
 * every later message in both directions is a type byte and an int32 length.
 */
import { createConnection, createServer } from 'node:net';

/** Walks a byte stream's protocol messages, across chunk boundaries. */
function messageWalker({ untypedFirst, wantBody, onMessage }) {
  let header = Buffer.alloc(0);
  let remaining = 0;
  let current;
  let body = [];
  let first = untypedFirst;
  return (chunk) => {
    let pos = 0;
    while (pos < chunk.length) {
      if (remaining > 0) {
        const n = Math.min(remaining, chunk.length - pos);
        if (current.keep) body.push(chunk.subarray(pos, pos + n));
        remaining -= n;
        pos += n;
        if (remaining === 0) {
          onMessage(current.type, current.keep ? Buffer.concat(body) : undefined);
          body = [];
        }
        continue;
      }
      const headerSize = first ? 4 : 5;
      const need = headerSize - header.length;
      const take = Math.min(need, chunk.length - pos);
      header = Buffer.concat([header, chunk.subarray(pos, pos + take)]);
      pos += take;
      if (header.length < headerSize) break;
      const type = first ? '\0' : String.fromCharCode(header[0]);
      const length = header.readInt32BE(first ? 0 : 1);
      first = false;
      header = Buffer.alloc(0);
      current = { type, keep: wantBody(type) };
      remaining = length - 4;
      if (remaining === 0) onMessage(type, current.keep ? Buffer.alloc(0) : undefined);
    }
  };
}

function cString(buffer, offset) {
  const end = buffer.indexOf(0, offset);
  return { text: buffer.toString('utf8', offset, end), next: end + 1 };
}

/**
 * Starts a relay to `target` ({ host, port }); resolves with its port, the statements seen
 * so far (`statements()`), and `close()`.
 */
export async function startWireTap(target) {
  const statements = [];
  const notifications = [];
  const sockets = new Set();
  let connections = 0;
  const server = createServer((client) => {
    connections += 1;
    const connection = connections;
    const upstream = createConnection(target);
    // As the driver does on its own sockets: no Nagle delay on small messages.
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    sockets.add(client);
    sockets.add(upstream);
    let application = '';
    const named = new Map();
    let pending; // the statement sent and not yet answered by ReadyForQuery
    const now = () => performance.now();
    const begin = (text) => {
      pending ??= { connection, application, text, sentMs: now(), copyMessages: 0 };
      if (pending.text === '' && text !== '') pending.text = text;
    };
    const fromClient = messageWalker({
      untypedFirst: true,
      wantBody: (type) => type === '\0' || type === 'Q' || type === 'P' || type === 'B',
      onMessage(type, body) {
        if (type === '\0') {
          // StartupMessage: protocol version, then name/value pairs.
          let offset = 4;
          while (offset < body.length - 1) {
            const key = cString(body, offset);
            const value = cString(body, key.next);
            if (key.text === 'application_name') application = value.text;
            offset = value.next;
          }
        } else if (type === 'Q') {
          begin(cString(body, 0).text);
        } else if (type === 'P') {
          const name = cString(body, 0);
          const text = cString(body, name.next).text;
          if (name.text !== '') named.set(name.text, text);
          begin(text);
        } else if (type === 'B') {
          const portal = cString(body, 0);
          const name = cString(body, portal.next).text;
          begin(named.get(name) ?? '');
        } else if (type === 'd' && pending !== undefined) {
          pending.copyMessages += 1;
        } else if (type === 'c' && pending !== undefined) {
          pending.copyDoneSentMs = now();
        }
      },
    });
    const fromServer = messageWalker({
      untypedFirst: false,
      wantBody: (type) => type === 'C',
      onMessage(type, body) {
        if (type === 'A') notifications.push({ connection, application, atMs: now() });
        if (pending === undefined) return;
        if (type === 'G' || type === 'H') pending.copyStartedMs = now();
        else if (type === 'd') pending.copyMessages += 1;
        else if (type === 'C') pending.tag = cString(body, 0).text;
        else if (type === 'E') pending.error = true;
        else if (type === 'Z') {
          pending.doneMs = now();
          statements.push(pending);
          pending = undefined;
        }
      },
    });
    // Backpressure passes through, so a slow reader still slows the writer as without the relay.
    const relay = (from, to, walk) => {
      from.on('data', (chunk) => {
        walk(chunk);
        if (!to.write(chunk)) {
          from.pause();
          to.once('drain', () => from.resume());
        }
      });
    };
    relay(client, upstream, fromClient);
    relay(upstream, client, fromServer);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: server.address().port,
    statements: () => statements,
    /** NotificationResponse messages, when they reached the relay. */
    notifications: () => notifications,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
