/**
 * The status server: a small HTTP server for supervisors and Prometheus.
 *
 *   GET /healthz   200 while the process is alive and no loop is wedged, else 503 (health.ts)
 *   GET /readyz    200 when the listener is connected and every destination is reachable, else 503
 *   GET /status    200, JSON: phase, source max id, per destination position, lag, state, last error
 *   GET /metrics   200, the Prometheus text format
 *
 * Every answer comes from memory (the status board and the metrics registry); no request
 * queries a database. Bodies of /healthz and /readyz are JSON with the reasons when not OK.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ExitCode, ReplicatorError, coerceError } from '../errors.js';
import type { Logger } from '../log.js';
import type { ReplicationMetrics } from './metrics.js';
import type { StatusBoard } from './statusBoard.js';

export interface StatusServerOptions {
  host: string;
  port: number;
  board: StatusBoard;
  metrics: ReplicationMetrics;
  log: Logger;
}

export interface StatusServer {
  /** The port listened on. */
  readonly port: number;
  /** Stops listening and ends open connections (Prometheus keeps them alive). */
  close(): Promise<void>;
}

const INDEX = 'slate-replicator status server: /healthz /readyz /status /metrics\n';

function send(response: ServerResponse, status: number, contentType: string, body: string): void {
  response.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  response.end(response.req.method === 'HEAD' ? undefined : body);
}

function sendJson(response: ServerResponse, status: number, value: unknown): void {
  send(response, status, 'application/json; charset=utf-8', `${JSON.stringify(value, null, 2)}\n`);
}

async function route(request: IncomingMessage, response: ServerResponse, options: StatusServerOptions): Promise<void> {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.setHeader('allow', 'GET, HEAD');
    sendJson(response, 405, { error: 'method not allowed' });
    return;
  }
  const path = new URL(request.url ?? '/', 'http://status').pathname;
  switch (path) {
    case '/healthz': {
      const verdict = options.board.liveness();
      sendJson(response, verdict.ok ? 200 : 503, { status: verdict.ok ? 'ok' : 'wedged', phase: options.board.phase, reasons: verdict.reasons });
      return;
    }
    case '/readyz': {
      const verdict = options.board.readiness();
      sendJson(response, verdict.ok ? 200 : 503, { status: verdict.ok ? 'ready' : 'not ready', phase: options.board.phase, reasons: verdict.reasons });
      return;
    }
    case '/status':
      sendJson(response, 200, options.board.report());
      return;
    case '/metrics': {
      const { contentType, body } = await options.metrics.render();
      send(response, 200, contentType, body);
      return;
    }
    case '/':
      send(response, 200, 'text/plain; charset=utf-8', INDEX);
      return;
    default:
      sendJson(response, 404, { error: 'not found', endpoints: ['/healthz', '/readyz', '/status', '/metrics'] });
  }
}

/** Listens on host:port; a port that cannot be taken is a usage error (exit 2), before any database is touched. */
export async function startStatusServer(options: StatusServerOptions): Promise<StatusServer> {
  const log = options.log.child({ component: 'http' });
  const server = createServer((request, response) => {
    route(request, response, options).catch((thrown: unknown) => {
      log.error({ err: coerceError(thrown), url: request.url }, 'status server request failed');
      if (!response.headersSent) sendJson(response, 500, { error: 'internal error' });
      else response.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    const fail = (error: Error & { code?: string }) => {
      const why = error.code === 'EADDRINUSE' ? 'the address is in use' : error.code === 'EACCES' ? 'permission denied' : error.message;
      reject(
        new ReplicatorError(
          `the status server cannot listen on ${options.host}:${options.port}: ${why}. Choose another http.port (or --http-port).`,
          { exitCode: ExitCode.usage, cause: error },
        ),
      );
    };
    server.once('error', fail);
    server.listen(options.port, options.host, () => {
      server.off('error', fail);
      resolve();
    });
  });
  server.on('error', (error) => log.error({ err: error }, 'status server error'));
  const { port } = server.address() as AddressInfo;
  log.info({ host: options.host, port }, 'status server listening');
  let closing: Promise<void> | undefined;
  return {
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
