// Structured logs (pino through Fastify): JSON lines, one request id per request,
// taken from an incoming x-request-id when it looks sane, else generated.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyServerOptions } from 'fastify';
import type { Config } from '../config/env.ts';

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export const REQUEST_ID_HEADER = 'x-request-id';

export function genReqId(req: IncomingMessage): string {
  const given = req.headers[REQUEST_ID_HEADER];
  return typeof given === 'string' && SANE_REQUEST_ID.test(given) ? given : randomUUID();
}

export function loggerOptions(config: Pick<Config, 'LOG_LEVEL'>): FastifyServerOptions {
  return {
    logger: {
      level: config.LOG_LEVEL,
      // bodies and secrets never reach the log
      redact: ['req.headers.authorization', 'req.headers.cookie'],
      serializers: {
        req: (req: { method: string; url: string; headers: Record<string, unknown>; ip?: string }) => ({
          method: req.method,
          url: req.url,
          contentType: req.headers['content-type'],
          contentLength: req.headers['content-length'],
          ip: req.ip,
        }),
      },
    },
    // we validate the header ourselves in genReqId
    requestIdHeader: false,
    genReqId,
  };
}
