// Who may do what, driven by the generated OpenAPI document itself: for every operation it
// lists, no key → 401, a key of each insufficient scope → 403, a key of each sufficient scope
// → neither; public operations answer without a key. An operation without a `security` rule
// fails here, and a route registered without one fails the boot (hidden routes included).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { buildApp } from '../../src/app.ts';
import { PUBLIC, requireScope } from '../../src/auth/route-security.ts';
import { SCOPES, type Scope } from '../../src/auth/scopes.ts';
import { loadConfig } from '../../src/config/env.ts';
import { bearer, KEYS, keysEnv } from '../fixtures/api-keys.ts';
import { REDIS_URL, tempDir, uniquePrefix } from '../fixtures/redis.ts';
import { startTestApp, type TestApp } from '../fixtures/test-app.ts';

type Operation = { security?: { bearer?: string[] }[]; responses: Record<string, unknown> };
type Doc = { paths: Record<string, Record<string, Operation>>; components: { securitySchemes?: Record<string, { type: string; scheme: string }> } };

const KEY_OF_SCOPE: Record<Scope, string> = { predict: KEYS.predict, train: KEYS.train, admin: KEYS.admin };

/** A concrete URL for a templated path: ids that exist nowhere, so no call changes anything. */
const concrete = (path: string) => path.replace(/\{[^}]+\}/g, 'no-such-thing-0');

/**
 * The Open Inference Protocol's routes (/v2) answer errors in its shape, `{ "error": "<message>" }`;
 * every other route in nndl's `{ "error": { code, message } }`.
 */
const errorMessage = (path: string, body: { error: unknown }): string => {
  if (!path.startsWith('/v2')) return (body.error as { message: string }).message;
  assert.equal(typeof body.error, 'string', `${path}: ${JSON.stringify(body)}`);
  return body.error as string;
};
const errorCode = (path: string, body: { error: unknown }): string => {
  if (!path.startsWith('/v2')) return (body.error as { code: string }).code;
  const message = errorMessage(path, body);
  return /lacks the scope/.test(message) ? 'forbidden' : /API key/.test(message) ? 'unauthorized' : message;
};

/** Would a key holding exactly `scope` satisfy the operation's rule (admin implies all)? */
const satisfies = (rule: { bearer?: string[] }[], scope: Scope) =>
  rule.some((alt) => (alt.bearer ?? []).every((s) => s === scope || scope === 'admin'));

describe('access rules, from the OpenAPI document', () => {
  let t: TestApp;
  let doc: Doc;
  before(async () => {
    t = await startTestApp('access', keysEnv());
    doc = (await request(t.server).get('/openapi.json').expect(200)).body as Doc;
  });
  after(() => t?.close());

  const call = (method: string, path: string, headers: Record<string, string> = {}) => {
    const r = request(t.server)[method as 'get'](concrete(path)).set(headers);
    return ['post', 'put', 'patch'].includes(method) ? r.send({}) : r;
  };

  test('the document declares the bearer scheme and a rule on every operation', () => {
    assert.deepEqual(doc.components.securitySchemes?.bearer && { ...doc.components.securitySchemes.bearer, description: undefined }, {
      type: 'http', scheme: 'bearer', description: undefined,
    });
    const ops = Object.entries(doc.paths).flatMap(([p, byMethod]) => Object.entries(byMethod).map(([m, op]) => ({ p, m, op })));
    assert.ok(ops.length >= 19, `${ops.length} operations`);
    // public by intent, and only these: a rule loosened by mistake shows up here
    const publicOps = ops.filter(({ op }) => op.security?.length === 0).map(({ p, m }) => `${m.toUpperCase()} ${p}`).sort();
    assert.deepEqual(publicOps, ['GET /healthz', 'GET /readyz', 'GET /v2/health/live', 'GET /v2/health/ready']);
    for (const { p, m, op } of ops) {
      assert.ok(Array.isArray(op.security), `${m.toUpperCase()} ${p} has no security rule in the document`);
      if (op.security.length > 0 && op.responses['200'] !== undefined && p !== '/metrics') {
        assert.ok(op.responses['401'] && op.responses['403'], `${m.toUpperCase()} ${p} documents 401 and 403`);
      }
    }
  });

  test('every operation: no key 401, wrong key 401, each insufficient scope 403, each sufficient scope neither', async () => {
    let checked = 0;
    for (const [path, byMethod] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(byMethod)) {
        const what = `${method.toUpperCase()} ${path}`;
        const rule = op.security!;
        if (rule.length === 0) {
          const res = await call(method, path);
          assert.ok(res.status >= 200 && res.status < 300, `${what} is public: ${res.status}`);
          continue;
        }
        const none = await call(method, path);
        assert.equal(none.status, 401, `${what} without a key`);
        assert.equal(errorCode(path, none.body), 'unauthorized', what);
        assert.match(none.headers['www-authenticate'] ?? '', /^Bearer realm=/, what);
        const wrong = await call(method, path, bearer(KEYS.admin.replace(/.$/, 'X')));
        assert.equal(wrong.status, 401, `${what} with a wrong key`);
        assert.match(errorMessage(path, wrong.body), /not valid/);
        for (const scope of SCOPES) {
          const res = await call(method, path, bearer(KEY_OF_SCOPE[scope]));
          if (satisfies(rule, scope)) {
            assert.ok(![401, 403].includes(res.status) && res.status < 500, `${what} with a ${scope} key: ${res.status} ${JSON.stringify(res.body)}`);
          } else {
            assert.equal(res.status, 403, `${what} with a ${scope} key`);
            assert.equal(errorCode(path, res.body), 'forbidden', what);
            assert.match(res.headers['www-authenticate'] ?? '', /error="insufficient_scope"/, what);
          }
        }
        checked++;
      }
    }
    assert.ok(checked >= 16, `${checked} protected operations checked`);
  });

  test('the pages, their assets, Swagger UI and the document itself are public', async () => {
    for (const url of ['/', '/jobs', '/jobs/some-id', '/models', '/static/js/api.js', '/static/css/style.css', '/static/vendor/chart.umd.min.js', '/docs', '/docs/json', '/openapi.json']) {
      const res = await request(t.server).get(url).redirects(1);
      assert.equal(res.status, 200, url);
    }
  });

  test('a rule is what the route says: a predict key cannot delete, change aliases or read /metrics', async () => {
    await request(t.server).delete('/v1/models/x').set(bearer(KEYS.predict)).expect(403);
    await request(t.server).put('/v1/aliases/default').set(bearer(KEYS.predict)).send({ modelId: 'x' }).expect(403);
    await request(t.server).get('/metrics').set(bearer(KEYS.train)).expect(403);
    await request(t.server).get('/metrics').set(bearer(KEYS.admin)).expect(200);
  });
});

describe('a route without a rule', () => {
  test('stops the boot, hidden or not, directly or inside a plugin; a bad rule too', async () => {
    const dir = await tempDir('norule');
    const app = await buildApp({
      config: loadConfig({ LOG_LEVEL: 'silent', REDIS_URL, QUEUE_PREFIX: uniquePrefix('norule'), DATA_DIR: dir.path }),
    });
    try {
      assert.throws(() => app.get('/v1/new-thing', async () => 'x'), /route GET \/v1\/new-thing declares no access rule/);
      assert.throws(() => app.get('/hidden', { schema: { hide: true } }, async () => 'x'), /route GET \/hidden declares no access rule/);
      assert.throws(() => app.get('/bad', { schema: { security: [{ bearer: ['root'] }] } }, async () => 'x'), /unknown or missing scopes/);
      assert.throws(() => app.get('/bad2', { schema: { security: [{ apiKey: [] }] } }, async () => 'x'), /must be \{ bearer: \[scopes\] \}/);
      // declared ones are accepted
      app.get('/fine', { schema: { security: PUBLIC } }, async () => 'x');
      app.get('/fine2', { schema: { security: requireScope('admin') } }, async () => 'x');
      void app.register(async (child) => {
        child.post('/v1/in-a-plugin', async () => 'x');
      });
      await assert.rejects(async () => app.ready(), /route POST \/v1\/in-a-plugin declares no access rule/);
    } finally {
      await app.close().catch(() => {});
      await dir.remove();
    }
  });
});
