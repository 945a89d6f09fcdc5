// The start of a server-sent event stream, the same for every events route: the status line and
// headers (with what the hooks set before the route took the socket over: CORS, request id), the
// client's reconnection delay, and a heartbeat comment that keeps proxies from closing an idle stream.
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** Writes the stream's head and starts its heartbeat; returns the function that stops it. */
export function startEventStream(req: FastifyRequest, reply: FastifyReply, res: ServerResponse, heartbeatMs: number): () => void {
  res.writeHead(200, {
    ...(reply.getHeaders() as OutgoingHttpHeaders),
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    'x-request-id': String(req.id),
  });
  res.write('retry: 2000\n\n');
  const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), heartbeatMs);
  return () => clearInterval(heartbeat);
}
