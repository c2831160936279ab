/**
 * A TCP proxy on 127.0.0.1 in front of a database server, to put the network between the
 * replicator and a server under a test's control:
 *
 *   const proxy = await startProxy(5432);     // connect to 127.0.0.1:proxy.port instead
 *   proxy.cut();                              // destroy every open connection (a reset)
 *   proxy.stall();                            // forward nothing, close nothing: half-open
 *   proxy.stall({ newConnections: 'pass' });  // only the open connections hang
 *   proxy.resume();                           // forward again
 *   proxy.cutWhenClientSends('LIMIT 1');      // cut a connection as it sends that text
 *
 * Modes, per connection: passing -> stalled (stall()) -> passing (resume()); any -> closed.
 * A stalled connection neither reads nor writes, on either side, so the two ends see what a
 * silently broken network path shows them: nothing at all. Not even a close gets through:
 * an end that closes meanwhile is seen by the other end only after resume(), as a real peer
 * sees a reset when the path comes back. New connections are stalled too unless
 * `newConnections: 'pass'` (a path that broke for the connections it carried, such as a
 * router or NAT that lost its state, while new connections go through).
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { onTestFinished } from 'vitest';

export interface StallOptions {
  /** What happens to connections opened while stalled: stalled too (default), or passed. */
  newConnections?: 'stall' | 'pass';
}

export interface Proxy {
  readonly port: number;
  /** Connections open now (stalled or not). */
  readonly openConnections: number;
  readonly stalledConnections: number;
  /** Destroys every open connection, both sides; returns how many. New connections still pass. */
  cut(): number;
  /** Stops forwarding on every open connection without closing any; see the file header. */
  stall(options?: StallOptions): number;
  /** Forwards again on every stalled connection, and passes new ones. */
  resume(): void;
  /** From now on, cuts any connection the moment its client sends bytes that contain `text` (e.g. a query). */
  cutWhenClientSends(text: string): void;
  close(): Promise<void>;
}

class Connection {
  stalled = false;
  /** Sockets paused because the other side's write buffer is full. */
  private readonly blocked = new Set<net.Socket>();

  constructor(
    readonly client: net.Socket,
    readonly upstream: net.Socket,
    private readonly onClosed: () => void,
    cutOn: () => Buffer | undefined,
  ) {
    client.on('data', (chunk: Buffer) => {
      const marker = cutOn();
      if (marker !== undefined && chunk.includes(marker)) this.destroy();
    });
    this.forward(client, upstream);
    this.forward(upstream, client);
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      client.destroy();
      upstream.destroy();
      this.onClosed();
    };
    for (const socket of [client, upstream]) {
      socket.on('error', () => {});
      socket.on('close', close);
    }
  }

  private forward(from: net.Socket, to: net.Socket): void {
    from.on('data', (chunk: Buffer) => {
      if (!to.write(chunk)) {
        this.blocked.add(from);
        from.pause();
        to.once('drain', () => {
          this.blocked.delete(from);
          if (!this.stalled) from.resume();
        });
      }
    });
    from.on('end', () => to.end());
  }

  stall(): void {
    this.stalled = true;
    this.client.pause();
    this.upstream.pause();
  }

  resume(): void {
    this.stalled = false;
    for (const socket of [this.client, this.upstream]) if (!this.blocked.has(socket)) socket.resume();
  }

  destroy(): void {
    this.client.destroy();
    this.upstream.destroy();
  }
}

/** A proxy from a free port on 127.0.0.1 to `targetPort` on 127.0.0.1; closed after the current test. */
export async function startProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<Proxy> {
  const connections = new Set<Connection>();
  let stallNew = false;
  let cutMarker: Buffer | undefined;
  const server = net.createServer({ pauseOnConnect: true }, (client) => {
    const upstream = net.connect({ port: targetPort, host: targetHost });
    upstream.pause();
    const connection = new Connection(client, upstream, () => connections.delete(connection), () => cutMarker);
    connections.add(connection);
    if (stallNew) connection.stall();
    else connection.resume();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  let closed = false;
  const proxy: Proxy = {
    port,
    get openConnections() {
      return connections.size;
    },
    get stalledConnections() {
      return [...connections].filter((c) => c.stalled).length;
    },
    cut() {
      const n = connections.size;
      for (const connection of [...connections]) connection.destroy();
      return n;
    },
    stall(options = {}) {
      stallNew = (options.newConnections ?? 'stall') === 'stall';
      for (const connection of connections) connection.stall();
      return connections.size;
    },
    resume() {
      stallNew = false;
      for (const connection of connections) connection.resume();
    },
    cutWhenClientSends(text) {
      cutMarker = Buffer.from(text, 'utf8');
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const connection of [...connections]) connection.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  try {
    onTestFinished(() => proxy.close());
  } catch {
    // Not inside a test: the caller closes it.
  }
  return proxy;
}
