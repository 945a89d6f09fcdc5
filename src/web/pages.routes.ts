// The web pages: plain HTML + ES modules from src/web/public, chart.js's prebuilt UMD file
// from node_modules. Nothing is built and nothing is fetched from outside at run time;
// the pages talk to the same REST API as every other client. The pages and their assets are
// public (the pages ask for a key when the API answers 401); their CSP is the app's own
// (src/api/security-headers.ts).
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { registerPublic } from '../auth/auth.plugin.ts';
import { PUBLIC } from '../auth/route-security.ts';

export const PUBLIC_DIR = join(dirname(fileURLToPath(import.meta.url)), 'public');
// require resolves chart.js to dist/chart.cjs; the prebuilt UMD file sits beside it
const CHART_JS = join(dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.min.js');

/** Where the files of PUBLIC_DIR are served. */
export const STATIC_PREFIX = '/static/';

const PAGES: Record<string, string> = {
  '/': 'index.html',
  '/jobs': 'jobs.html',
  '/jobs/:id': 'job.html',
  '/models': 'models.html',
  '/sweeps': 'sweeps.html',
};

export default async function pagesRoutes(fastify: FastifyInstance): Promise<void> {
  await registerPublic(fastify, fastifyStatic, {
    root: PUBLIC_DIR,
    prefix: STATIC_PREFIX,
    index: false,
    schemaHide: true, // assets are not part of the API document
    cacheControl: true,
    maxAge: 0, // revalidate (ETag): pages and scripts change together
  });

  const page = (file: string) => async (_req: unknown, reply: FastifyReply) =>
    reply.header('cache-control', 'no-cache').type('text/html; charset=utf-8').sendFile(file);
  for (const [url, file] of Object.entries(PAGES)) fastify.get(url, { schema: { hide: true, security: PUBLIC } }, page(file));

  // read once: a missing chart.js is a broken install, better found at boot than per request
  const chart = await readFile(CHART_JS);
  fastify.get(`${STATIC_PREFIX}vendor/chart.umd.min.js`, { schema: { hide: true, security: PUBLIC } }, async (_req, reply) =>
    reply.header('cache-control', 'public, max-age=86400').type('text/javascript; charset=utf-8').send(chart),
  );
}
