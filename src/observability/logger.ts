// Structured logs, one format in every process: pino JSON lines ({ level, time, pid, hostname,
// service, msg, ...fields }). The API logs through Fastify's pino (one request id per request,
// taken from an incoming x-request-id when it looks sane, else generated); workers through
// createLogger('worker'), and `npm start`'s supervisor (src/main.ts) through createLogger('supervisor').
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { hostname } from 'node:os';
import type { FastifyServerOptions } from 'fastify';
import { pino, type Logger, type LoggerOptions } from 'pino';
import type { Config } from '../config/env.ts';

export type Service = 'api' | 'worker' | 'supervisor';

/** The options every process's pino shares: its level and the fields each line starts with. */
function baseOptions(service: Service, level: Config['LOG_LEVEL']): LoggerOptions {
  return { level, base: { pid: process.pid, hostname: hostname(), service } };
}

export function createLogger(service: Service, config: Pick<Config, 'LOG_LEVEL'>): Logger {
  return pino(baseOptions(service, config.LOG_LEVEL));
}

/** A `log(msg, fields)` function over a pino logger, for modules that take one injected. */
export type LogFn = (msg: string, fields?: Record<string, unknown>) => void;
export const logFn = (logger: Logger): LogFn => (msg, fields) => logger.info(fields ?? {}, msg);

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export const REQUEST_ID_HEADER = 'x-request-id';

export function genReqId(req: IncomingMessage): string {
  const given = req.headers[REQUEST_ID_HEADER];
  return typeof given === 'string' && SANE_REQUEST_ID.test(given) ? given : randomUUID();
}

export function loggerOptions(config: Pick<Config, 'LOG_LEVEL'>): FastifyServerOptions {
  return {
    logger: {
      ...baseOptions('api', config.LOG_LEVEL),
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
