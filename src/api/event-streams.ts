// The open event streams of one routes plugin (jobs, sweeps), served the same way: a slot per
// caller and per instance (StreamSlots), the socket taken over, the head and heartbeat
// (startEventStream), an `error` event when the source fails, and everything released at the end.
// Open streams never go idle, so closing the server would wait on them forever: they are ended
// first (clients reconnect to another instance, replay included).
import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config/env.ts';
import { startEventStream } from './event-stream-head.ts';
import { callerKey } from './rate-limit.ts';
import { sseFrame } from './schemas/events.schemas.ts';
import { StreamSlots } from './stream-slots.ts';

export class EventStreams {
  private readonly open = new Set<AbortController>();
  private readonly slots: StreamSlots;

  constructor(
    fastify: FastifyInstance,
    config: Pick<Config, 'SSE_MAX_STREAMS' | 'SSE_MAX_STREAMS_PER_KEY'>,
    private readonly heartbeatMs: number,
  ) {
    this.slots = new StreamSlots(config.SSE_MAX_STREAMS, config.SSE_MAX_STREAMS_PER_KEY);
    fastify.addHook('preClose', async () => {
      for (const s of this.open) s.abort();
    });
  }

  /**
   * Takes the caller's slot (or throws its 429 / 503), then the socket, and runs `write` until it
   * returns; `signal` aborts when the client goes or the server closes. A failure is logged with
   * `log` and ends the stream with an `error` event.
   */
  async serve(
    req: FastifyRequest,
    reply: FastifyReply,
    log: Record<string, unknown>,
    write: (res: ServerResponse, signal: AbortSignal) => Promise<void>,
  ): Promise<void> {
    const caller = callerKey(req);
    this.slots.takeOrRefuse(caller);
    reply.hijack();
    const res = reply.raw;
    const aborter = new AbortController();
    this.open.add(aborter);
    res.on('close', () => aborter.abort());
    let stopHeartbeat = () => {};
    try {
      stopHeartbeat = startEventStream(req, reply, res, this.heartbeatMs);
      await write(res, aborter.signal);
    } catch (err) {
      req.log.warn({ err, ...log }, 'event stream failed');
      if (!res.destroyed) res.write(sseFrame({ event: 'error', data: { message: 'event stream interrupted' } }));
    } finally {
      stopHeartbeat();
      aborter.abort();
      this.open.delete(aborter);
      this.slots.give(caller);
      if (!res.destroyed) res.end();
    }
  }
}
