// The HTTP server's own limits (timeouts) and its answer to requests that never reach a route
// (malformed, too slow, headers too big): written straight to the socket, in the one error shape.
import type { Socket } from 'node:net';
import type { FastifyServerOptions } from 'fastify';
import type { Config } from '../config/env.ts';
import { errorBody } from '../errors.ts';

type TimeoutConfig = Pick<Config, 'REQUEST_TIMEOUT_MS' | 'HEADERS_TIMEOUT_MS' | 'KEEP_ALIVE_TIMEOUT_MS' | 'CONNECTION_TIMEOUT_MS'>;

/**
 * Fastify options for the timeouts. Node enforces the header and request timeouts on a timer
 * (`connectionsCheckingInterval`, 30 s by default): it runs at a quarter of the shorter one, at
 * most every second, so a slow client is cut off close to the configured time.
 */
export function httpServerOptions(config: TimeoutConfig): FastifyServerOptions {
  const shortest = Math.min(config.HEADERS_TIMEOUT_MS, config.REQUEST_TIMEOUT_MS);
  return {
    requestTimeout: config.REQUEST_TIMEOUT_MS,
    keepAliveTimeout: config.KEEP_ALIVE_TIMEOUT_MS,
    connectionTimeout: config.CONNECTION_TIMEOUT_MS,
    http: {
      headersTimeout: config.HEADERS_TIMEOUT_MS,
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(shortest / 4))),
    },
    clientErrorHandler,
  } as FastifyServerOptions;
}

const STATUS: Record<string, [number, string, string, string]> = {
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'Request Timeout', 'request_timeout', 'the request did not arrive in time (see REQUEST_TIMEOUT_MS, HEADERS_TIMEOUT_MS)'],
  HPE_HEADER_OVERFLOW: [431, 'Request Header Fields Too Large', 'headers_too_large', 'request headers too large'],
};

/** Node's `clientError`: answer once if the socket can still take it, then close it. */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, reason, code, message] = STATUS[err.code ?? ''] ?? [400, 'Bad Request', 'bad_request', 'malformed HTTP request'];
  const body = JSON.stringify(errorBody(code, message));
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  // A HEAD request's answer has no body (a client would read one as garbage after the response)
  const raw = (err as { rawPacket?: Buffer }).rawPacket;
  const head = raw !== undefined && raw.subarray(0, 5).toString('latin1') === 'HEAD ';
  const response =
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${head ? '' : body}`;
  // flushed, then closed: whatever else the client sends is not read
  socket.end(response, () => socket.destroy());
}
