// Security headers on every response (API, pages, /docs, the document, errors, 404s, event
// streams), and CORS: off by default, an allow-list with CORS_ORIGINS, preflights public.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { bearer, KEYS, keysEnv } from '../fixtures/api-keys.ts';
import { startTestApp, type TestApp } from '../fixtures/test-app.ts';
import { smallJob } from '../queue/queue-helpers.ts';
import { rawText } from './jobs-helpers.ts';

const GOOD = 'https://pages.example.org';
const EVIL = 'https://evil.example.com';

function assertSecurityHeaders(res: request.Response, what: string) {
  const h = res.headers;
  assert.match(h['content-security-policy'] ?? '', /default-src 'self'/, `${what}: CSP`);
  assert.match(h['content-security-policy'] ?? '', /frame-ancestors 'none'/, `${what}: CSP frame-ancestors`);
  assert.ok(!/upgrade-insecure-requests/.test(h['content-security-policy'] ?? ''), `${what}: plain HTTP keeps working`);
  assert.equal(h['x-content-type-options'], 'nosniff', `${what}: nosniff`);
  assert.equal(h['x-frame-options'], 'DENY', `${what}: frame options`);
  assert.match(h['strict-transport-security'] ?? '', /max-age=\d+/, `${what}: HSTS`);
  assert.equal(h['referrer-policy'], 'no-referrer', `${what}: referrer policy`);
  assert.equal(h['cross-origin-opener-policy'], 'same-origin', `${what}: COOP`);
  assert.equal(h['x-powered-by'], undefined, `${what}: no x-powered-by`);
}

describe('security headers and CORS (default: no CORS)', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp('headers', keysEnv());
  });
  after(() => t?.close());

  test('on /docs, the document, pages, assets, API answers, errors of every kind and event streams', async () => {
    const cases: [string, () => request.Test, number][] = [
      ['/docs', () => request(t.server).get('/docs').redirects(1), 200],
      ['/docs asset', () => request(t.server).get('/docs/static/swagger-ui.css'), 200],
      ['/openapi.json', () => request(t.server).get('/openapi.json'), 200],
      ['a page', () => request(t.server).get('/models'), 200],
      ['a page script', () => request(t.server).get('/static/js/api.js'), 200],
      ['/healthz', () => request(t.server).get('/healthz'), 200],
      ['an API answer', () => request(t.server).get('/v1/models').set(bearer(KEYS.predict)), 200],
      ['401', () => request(t.server).get('/v1/models'), 401],
      ['403', () => request(t.server).delete('/v1/models/x').set(bearer(KEYS.predict)), 403],
      ['404 route', () => request(t.server).get('/no/such/route'), 404],
      ['422', () => request(t.server).post('/v1/jobs').set(bearer(KEYS.train)).send({ preset: 5 }), 422],
      ['415', () => request(t.server).post('/v1/jobs').set(bearer(KEYS.train)).set('content-type', 'text/plain').send('x'), 415],
      ['400 malformed JSON', () => request(t.server).post('/v1/jobs').set(bearer(KEYS.train)).set('content-type', 'application/json').send('{'), 400],
    ];
    for (const [what, send, status] of cases) {
      const res = await send();
      assert.equal(res.status, status, `${what}: ${JSON.stringify(res.body)}`);
      assertSecurityHeaders(res, what);
      if (status >= 400) assert.equal(typeof res.body.error?.code, 'string', `${what}: the one error shape`);
    }
    // an event stream writes its own head: the headers are kept there too
    const job = (await request(t.server).post('/v1/jobs').set(bearer(KEYS.train)).send(smallJob()).expect(202)).body;
    await request(t.server).post(`/v1/jobs/${job.id}/cancel`).set(bearer(KEYS.train)).expect(200);
    const stream = await request(t.server).get(`/v1/jobs/${job.id}/events`).set(bearer(KEYS.train)).buffer(true).parse(rawText).expect(200);
    assertSecurityHeaders(stream, 'event stream');
  });

  test('no CORS headers for any origin, and no preflight route', async () => {
    const res = await request(t.server).get('/v1/models').set('origin', GOOD).set(bearer(KEYS.predict)).expect(200);
    assert.equal(res.headers['access-control-allow-origin'], undefined);
    const pre = await request(t.server).options('/v1/models').set('origin', GOOD).set('access-control-request-method', 'GET');
    assert.equal(pre.headers['access-control-allow-origin'], undefined);
    assert.equal(pre.status, 404);
  });
});

describe('CORS_ORIGINS allow-list', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp('cors', keysEnv({ CORS_ORIGINS: `${GOOD}, http://localhost:5173` }));
  });
  after(() => t?.close());

  test('a listed origin gets CORS headers (errors included, with the auth header exposed); others none', async () => {
    const ok = await request(t.server).get('/v1/models').set('origin', GOOD).set(bearer(KEYS.predict)).expect(200);
    assert.equal(ok.headers['access-control-allow-origin'], GOOD);
    assert.equal(ok.headers['access-control-allow-credentials'], undefined, 'keys travel in a header, never cookies');
    const denied = await request(t.server).get('/v1/models').set('origin', GOOD).expect(401);
    assert.equal(denied.headers['access-control-allow-origin'], GOOD, 'the page can read the 401 and ask for a key');
    assert.match(denied.headers['access-control-expose-headers'] ?? '', /www-authenticate/);
    const evil = await request(t.server).get('/v1/models').set('origin', EVIL).set(bearer(KEYS.predict)).expect(200);
    assert.equal(evil.headers['access-control-allow-origin'], undefined);
  });

  test('preflights are answered without a key, for listed origins only', async () => {
    const pre = await request(t.server).options('/v1/jobs').set('origin', 'http://localhost:5173')
      .set('access-control-request-method', 'POST').set('access-control-request-headers', 'authorization, content-type');
    assert.equal(pre.status, 204);
    assert.equal(pre.headers['access-control-allow-origin'], 'http://localhost:5173');
    assert.match(pre.headers['access-control-allow-headers'] ?? '', /authorization/);
    assert.match(pre.headers['access-control-allow-methods'] ?? '', /POST/);
    const evil = await request(t.server).options('/v1/jobs').set('origin', EVIL).set('access-control-request-method', 'POST');
    assert.equal(evil.headers['access-control-allow-origin'], undefined);
  });
});
