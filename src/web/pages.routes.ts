// The web pages: plain HTML + ES modules from src/web/public, chart.js's prebuilt UMD file
// from node_modules. Each page (src/web/pages/*.html) is its own head elements (<title>, its
// scripts) followed by its <main>; layout.html, the one copy of what every page shares (the
// head, the site header and its navigation), wraps it as it is served, with the widgets the pages
// share expanded (page-widgets.ts). Nothing is built and nothing is fetched from outside at run time;
// the pages talk to the same REST API as every other client. The pages and their assets are
// public (the pages ask for a key when the API answers 401); their CSP is the app's own
// (src/api/security-headers.ts).
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { registerPublic } from '../auth/auth.plugin.ts';
import { PUBLIC } from '../auth/route-security.ts';
import { expandWidgets } from './page-widgets.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
export const PUBLIC_DIR = join(HERE, 'public');
const PAGES_DIR = join(HERE, 'pages');
const LAYOUT = join(HERE, 'layout.html');
// require resolves chart.js to dist/chart.cjs; the prebuilt UMD file sits beside it
const CHART_JS = join(dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.min.js');

/** Where the files of PUBLIC_DIR are served. */
export const STATIC_PREFIX = '/static/';

/** URL → the page's file and the navigation link marked as the current page. */
const PAGES: Record<string, { file: string; nav: string }> = {
  '/': { file: 'index.html', nav: '/' },
  '/jobs': { file: 'jobs.html', nav: '/jobs' },
  '/jobs/:id': { file: 'job.html', nav: '/jobs' },
  '/models': { file: 'models.html', nav: '/models' },
  '/sweeps': { file: 'sweeps.html', nav: '/sweeps' },
};

const HEAD_SLOT = '  <!-- page head -->\n';
const MAIN_SLOT = '  <!-- page main -->\n';

/** The page wrapped in the layout: its head elements into <head>, its <main> after the site header. */
export function composePage(layout: string, source: string, nav: string, file = 'page'): string {
  const page = expandWidgets(source, file);
  const at = page.search(/^<main[\s>]/m);
  const link = `<a href="${nav}">`;
  if (at < 0) throw new Error(`${file}: no <main> at the start of a line`);
  if (!layout.includes(HEAD_SLOT) || !layout.includes(MAIN_SLOT) || !layout.includes(link)) throw new Error(`layout.html: no slots or no link ${link}`);
  const indent = (text: string) => text.replace(/^(?=.)/gm, '  ');
  return layout
    .replace(HEAD_SLOT, () => indent(page.slice(0, at)))
    .replace(MAIN_SLOT, () => indent(page.slice(at)))
    .replace(link, `<a href="${nav}" aria-current="page">`);
}

async function renderPage(file: string, nav: string): Promise<string> {
  const [layout, page] = await Promise.all([readFile(LAYOUT, 'utf8'), readFile(join(PAGES_DIR, file), 'utf8')]);
  return composePage(layout, page, nav, file);
}

export default async function pagesRoutes(fastify: FastifyInstance): Promise<void> {
  await registerPublic(fastify, fastifyStatic, {
    root: PUBLIC_DIR,
    prefix: STATIC_PREFIX,
    index: false,
    schemaHide: true, // assets are not part of the API document
    cacheControl: true,
    maxAge: 0, // revalidate (ETag): pages and scripts change together
  });

  // composed at boot once, so a broken page or layout is found then; per request after that
  // (read afresh, as the static assets are: pages and scripts change together), revalidated by ETag
  for (const { file, nav } of Object.values(PAGES)) await renderPage(file, nav);
  const page = (file: string, nav: string) => async (req: FastifyRequest, reply: FastifyReply) => {
    const html = await renderPage(file, nav);
    const etag = `"${createHash('sha1').update(html).digest('base64url')}"`;
    reply.header('cache-control', 'no-cache').header('etag', etag);
    if (req.headers['if-none-match'] === etag) return reply.code(304).send();
    return reply.type('text/html; charset=utf-8').send(html);
  };
  for (const [url, { file, nav }] of Object.entries(PAGES)) fastify.get(url, { schema: { hide: true, security: PUBLIC } }, page(file, nav));

  // read once: a missing chart.js is a broken install, better found at boot than per request
  const chart = await readFile(CHART_JS);
  fastify.get(`${STATIC_PREFIX}vendor/chart.umd.min.js`, { schema: { hide: true, security: PUBLIC } }, async (_req, reply) =>
    reply.header('cache-control', 'public, max-age=86400').type('text/javascript; charset=utf-8').send(chart),
  );
}
