// The pages plugin over plain HTTP (no browser needed): pages and assets are served from
// the package with a strict CSP, chart.js comes from node_modules, nothing escapes the
// public directory, and none of it enters the API document.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { startTestApp, type TestApp } from '../fixtures/test-app.ts';

describe('web pages plugin', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp('web-pages');
  });
  after(() => t?.close());

  test('each page is HTML with a CSP that allows only this origin', async () => {
    for (const [path, title] of [['/', 'draw a digit'], ['/jobs', 'training jobs'], ['/jobs/some-job-id', 'job'], ['/models', 'models'], ['/sweeps', 'sweeps']] as const) {
      const res = await request(t.server).get(path).expect(200);
      assert.match(res.headers['content-type'] ?? '', /^text\/html/, path);
      assert.match(res.headers['content-security-policy'] ?? '', /default-src 'self'/, path);
      assert.match(res.headers['content-security-policy'] ?? '', /script-src 'self'(;|$)/, path);
      assert.match(res.text, new RegExp(`<title>nndl — ${title}</title>`), path);
      assert.match(res.text, /<meta name="viewport"/, path);
      // every script and stylesheet is local
      for (const [, src] of res.text.matchAll(/(?:src|href)="([^"]+)"/g)) assert.ok(src!.startsWith('/'), `${path}: ${src}`);
    }
  });

  test('every page is wrapped in the one layout: head, site header, navigation with its own link current', async () => {
    const current = { '/': '/', '/jobs': '/jobs', '/jobs/some-job-id': '/jobs', '/models': '/models', '/sweeps': '/sweeps' };
    for (const [path, link] of Object.entries(current)) {
      const res = await request(t.server).get(path).expect(200);
      const html = res.text;
      assert.match(html, /^<!doctype html>\n<html lang="en">/, path);
      assert.equal(html.match(/<head>/g)?.length, 1, path);
      assert.equal(html.match(/<main[\s>]/g)?.length, 1, path);
      assert.ok(html.indexOf('<title>') < html.indexOf('</head>'), `${path}: the title is in the head`);
      assert.ok(html.indexOf('</header>') < html.indexOf('<main'), `${path}: main follows the site header`);
      assert.match(html, /<link rel="stylesheet" href="\/static\/css\/style.css">/, path);
      const nav = html.slice(html.indexOf('<nav aria-label="Main">'), html.indexOf('</nav>'));
      assert.deepEqual([...nav.matchAll(/<a href="([^"]+)"/g)].map((m) => m[1]), ['/', '/jobs', '/sweeps', '/models', '/docs'], path);
      assert.deepEqual([...html.matchAll(/<a href="([^"]+)" aria-current="page">/g)].map((m) => m[1]), [link], path);
      assert.ok(!html.includes('<!-- page'), `${path}: no slot left in`);
      // revalidated by ETag, as the assets are
      assert.ok(res.headers.etag, path);
      await request(t.server).get(path).set('if-none-match', res.headers.etag!).expect(304);
    }
  });

  test('assets: the page scripts, the stylesheet and chart.js from node_modules', async () => {
    const js = await request(t.server).get('/static/js/predict-page.js').expect(200);
    assert.match(js.headers['content-type'] ?? '', /javascript/);
    assert.ok(js.headers.etag, 'revalidated by ETag');
    await request(t.server).get('/static/css/style.css').expect(200).expect('content-type', /text\/css/);
    const chart = await request(t.server).get('/static/vendor/chart.umd.min.js').expect(200);
    assert.match(chart.headers['content-type'] ?? '', /javascript/);
    assert.match(chart.text, /Chart/);
    assert.ok(chart.text.length > 100_000);
  });

  test('unknown assets and paths outside the public directory are 404s in the JSON error shape', async () => {
    for (const path of ['/static/nope.js', '/static/../pages.routes.ts', '/static/%2e%2e/pages.routes.ts', '/static/..%2f..%2fpackage.json']) {
      const res = await request(t.server).get(path);
      assert.ok(res.status === 404 || res.status === 403, `${path}: ${res.status}`);
      assert.ok(!res.text.includes('fastifyStatic'), path);
    }
    const res = await request(t.server).get('/static/nope.js').expect(404);
    assert.equal(res.body.error.code, 'not_found');
  });

  test('the API document leaves the pages out', async () => {
    const doc = (await request(t.server).get('/openapi.json').expect(200)).body;
    const paths = Object.keys(doc.paths);
    assert.ok(paths.includes('/v1/models/{id}/misclassified'));
    for (const p of paths) assert.ok(p.startsWith('/v1/') || p === '/v2' || p.startsWith('/v2/') || ['/healthz', '/readyz', '/metrics'].includes(p), p);
  });
});
