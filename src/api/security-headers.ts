// Security headers on every response (the API, the pages, /docs, errors and 404s alike) and CORS,
// off unless CORS_ORIGINS names the origins whose pages may call us.
import type { IncomingMessage, ServerResponse } from 'node:http';
import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';
import helmet, { type HelmetOptions } from 'helmet';
import { registerPublic } from '../auth/auth.plugin.ts';

/**
 * One CSP for everything: the pages and Swagger UI load only this origin's scripts; images may
 * be data:/blob: URLs (drawn digits, uploads); chart.js and Swagger UI size things with inline
 * styles. No upgrade-insecure-requests: the service is often reached over plain HTTP on a LAN.
 */
export const CSP_DIRECTIVES = {
  'default-src': ["'self'"],
  'img-src': ["'self'", 'data:', 'blob:'],
  'style-src': ["'self'", "'unsafe-inline'"],
  'script-src': ["'self'"],
  'connect-src': ["'self'"],
  'object-src': ["'none'"],
  'base-uri': ["'none'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
};

/** Headers a browser page may read from a cross-origin answer. */
const EXPOSED_HEADERS = ['x-request-id', 'location', 'retry-after', 'www-authenticate', 'content-disposition'];

const HELMET: HelmetOptions = {
  contentSecurityPolicy: { useDefaults: false, directives: CSP_DIRECTIVES },
  frameguard: { action: 'deny' },
  // a year, this host only: a TLS proxy in front makes it count; over plain HTTP browsers ignore it
  hsts: { maxAge: 31_536_000, includeSubDomains: false },
};

/**
 * The headers helmet sets with these options, worked out once. They are the same for every
 * request; @fastify/helmet built helmet's middleware (parsing the CSP) anew per request, about
 * a tenth of a predict request's CPU.
 */
export function securityHeaders(options: HelmetOptions = HELMET): Record<string, string> {
  const headers: Record<string, string> = {};
  const res = {
    setHeader: (name: string, value: unknown) => void (headers[name.toLowerCase()] = String(value)),
    removeHeader: (name: string) => void delete headers[name.toLowerCase()],
  };
  helmet(options)({} as IncomingMessage, res as unknown as ServerResponse, (err?: unknown) => {
    if (err) throw err;
  });
  return headers;
}

export async function registerSecurityHeaders(app: FastifyInstance, opts: { corsOrigins: readonly string[] }): Promise<void> {
  const headers = securityHeaders();
  app.addHook('onRequest', (_req, reply, done) => {
    reply.headers(headers);
    done();
  });
  if (opts.corsOrigins.length === 0) return; // no CORS headers at all: same-origin only
  // the preflight route @fastify/cors adds is public (browsers never send a key with a preflight)
  await registerPublic(app, cors, {
    origin: [...opts.corsOrigins],
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE'],
    allowedHeaders: ['authorization', 'content-type', 'last-event-id', 'x-request-id'],
    exposedHeaders: EXPOSED_HEADERS,
    credentials: false, // keys travel in a header, never in cookies
    maxAge: 600,
  });
}
