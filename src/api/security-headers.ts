// Security headers on every response (@fastify/helmet: the API, the pages, /docs, errors and
// 404s alike) and CORS, off unless CORS_ORIGINS names the origins whose pages may call us.
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';
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

export async function registerSecurityHeaders(app: FastifyInstance, opts: { corsOrigins: readonly string[] }): Promise<void> {
  await app.register(helmet, {
    contentSecurityPolicy: { useDefaults: false, directives: CSP_DIRECTIVES },
    frameguard: { action: 'deny' },
    // a year, this host only: a TLS proxy in front makes it count; over plain HTTP browsers ignore it
    hsts: { maxAge: 31_536_000, includeSubDomains: false },
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
