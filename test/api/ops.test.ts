// Operations routes, request ids, the error shape for unknown routes, and the OpenAPI
// document (valid 3.1, every route in it, identical to the checked-in file).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import request from 'supertest';
import { OPENAPI_PATH } from '../../src/api/openapi-document.ts';
import { startTestApp, type TestApp } from '../fixtures/test-app.ts';

let t: TestApp;
before(async () => {
  t = await startTestApp('ops');
});
after(() => t.close());

test('/healthz answers without I/O; request ids are echoed or generated', async () => {
  const res = await request(t.server).get('/healthz').set('x-request-id', 'trace-42');
  assert.equal(res.status, 200);
  assert.deepEqual(res.body, { status: 'ok' });
  assert.equal(res.headers['x-request-id'], 'trace-42');
  const gen = await request(t.server).get('/healthz').set('x-request-id', 'bad id with spaces');
  assert.match(String(gen.headers['x-request-id']), /^[0-9a-f-]{36}$/);
});

test('/readyz: ready with Redis up and a writable store', async () => {
  const res = await request(t.server).get('/readyz');
  assert.equal(res.status, 200);
  assert.deepEqual(res.body, {
    status: 'ready', checks: { redis: { ok: true }, store: { ok: true } },
    engine: { setting: 'auto', default: 'native', tfjs: null }, // auto without tfjs-node-gpu installed
  });
});

test('/readyz: 503 when the store is not writable', async () => {
  // a regular file where the data directory should be: nothing can be created under it
  const file = join(tmpdir(), `nndl-not-a-dir-${process.pid}`);
  await writeFile(file, 'x');
  const bad = await startTestApp('ops-store', { DATA_DIR: file });
  try {
    const res = await request(bad.server).get('/readyz');
    assert.equal(res.status, 503);
    assert.equal(res.body.status, 'unready');
    assert.equal(res.body.checks.redis.ok, true);
    assert.equal(res.body.checks.store.ok, false);
    assert.equal((await request(bad.server).get('/healthz')).status, 200);
  } finally {
    await bad.close();
    await rm(file, { force: true });
  }
});

test('/readyz: 503 when Redis is unreachable (and /healthz still answers)', async () => {
  const bad = await startTestApp('ops-redis', { REDIS_URL: 'redis://127.0.0.1:1' });
  try {
    const res = await request(bad.server).get('/readyz');
    assert.equal(res.status, 503);
    assert.equal(res.body.checks.redis.ok, false);
    assert.equal(typeof res.body.checks.redis.error, 'string');
    assert.equal((await request(bad.server).get('/healthz')).status, 200);
    // routes that need Redis say so with a 503 in the error shape, and nothing hangs
    for (const call of [
      () => request(bad.server).get('/v1/models'),
      () => request(bad.server).get('/v1/aliases'),
      () => request(bad.server).post('/v1/predict').send({ pixels: new Array(784).fill(0) }),
      () => request(bad.server).put('/v1/aliases/default').send({ modelId: 'm1' }),
    ]) {
      const r = await call();
      assert.equal(r.status, 503, r.text);
      assert.equal(r.body.error.code, 'unavailable');
    }
    // a bad request is still the client's mistake
    assert.equal((await request(bad.server).post('/v1/predict').send({ pixels: [2] })).status, 422);
  } finally {
    await bad.close();
  }
});

test('/metrics: Prometheus text with HTTP latency by route, jobs by state, engine images/s', async () => {
  await request(t.server).get('/v1/models');
  await request(t.server).get('/v1/nope');
  const res = await request(t.server).get('/metrics');
  assert.equal(res.status, 200);
  assert.match(String(res.headers['content-type']), /^text\/plain/);
  assert.match(res.text, /nndl_http_request_duration_seconds_bucket\{le="[^"]+",method="GET",route="\/v1\/models",status="200"\}/);
  assert.match(res.text, /nndl_http_request_duration_seconds_count\{method="GET",route="unmatched",status="404"\} 1/);
  for (const state of ['queued', 'running', 'completed', 'failed', 'cancelled']) {
    assert.match(res.text, new RegExp(`nndl_jobs\\{state="${state}"\\} 0`));
  }
  assert.match(res.text, /nndl_engine_images_per_second\{source="predict"\} 0/);
  assert.match(res.text, /nndl_engine_images_per_second\{source="training"\} 0/);
  assert.match(res.text, /# TYPE nndl_predict_batch_size histogram/);
  assert.match(res.text, /nndl_process_resident_memory_bytes/);
});

test('/v1/presets lists the book\'s experiments', async () => {
  const res = await request(t.server).get('/v1/presets');
  assert.equal(res.status, 200);
  const names = res.body.items.map((p: { name: string }) => p.name);
  for (const name of ['ch1-mlp30', 'ch3-mlp100-l2', 'ch6-conv1', 'ch6-dropout']) assert.ok(names.includes(name), name);
  const p = res.body.items.find((i: { name: string }) => i.name === 'ch1-mlp30');
  assert.ok(p.bookAccuracy > 0.9 && p.bookAccuracy < 1);
  assert.equal(typeof p.description, 'string');
  assert.equal(p.experiment.network.cost, 'quadratic');
  // each with its estimated cost (the figures the job budgets check)
  assert.deepEqual(p.cost, {
    params: 23_860, members: 1, macsPerImage: 23_820, trainingImages: 50_000, imageSteps: 1_500_000, trainingMacs: 107_190_000_000,
    trainingScratchBytesPerThread: 307_994, inferenceScratchBytesPerImage: 3_296, weightsBytes: 95_440, augmentMacsPerImage: 0,
  });
  const ensemble = res.body.items.find((i: { name: string }) => i.name === 'ch6-ensemble');
  assert.equal(ensemble.cost.imageSteps, 50_000_000);
  // what each book figure is to its preset: a run reproduced, a contrast the book never ran, the best to beat
  const role = (name: string) => res.body.items.find((i: { name: string }) => i.name === name).bookRole;
  assert.deepEqual(['ch6-relu', 'ch5-deep3', 'ch5-deep3-relu', 'beyond-book'].map(role), ['reproduce', 'reproduce', 'contrast', 'beat']);
});

const ROUTES: [string, string][] = [
  ['get', '/healthz'], ['get', '/readyz'], ['get', '/metrics'], ['get', '/v1/presets'],
  ['get', '/v1/models'], ['get', '/v1/models/{id}'], ['delete', '/v1/models/{id}'],
  ['get', '/v1/aliases'], ['put', '/v1/aliases/{name}'], ['delete', '/v1/aliases/{name}'],
  ['post', '/v1/models/{id}/predict'], ['post', '/v1/predict'],
  ['post', '/v1/jobs'], ['get', '/v1/jobs'], ['get', '/v1/jobs/{id}'], ['post', '/v1/jobs/{id}/cancel'], ['get', '/v1/jobs/{id}/events'],
];

test('OpenAPI: a valid 3.1 document with every route, each one served by the app', async () => {
  const res = await request(t.server).get('/openapi.json');
  assert.equal(res.status, 200);
  const doc = res.body;
  assert.match(doc.openapi, /^3\.1\.\d+$/);
  const result = await new Validator().validate(doc);
  assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2)?.slice(0, 2000));
  for (const [method, path] of ROUTES) assert.ok(doc.paths[path]?.[method], `${method.toUpperCase()} ${path} documented`);
  for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
    for (const method of Object.keys(ops)) {
      const url = path.replace(/\{(\w+)\}/g, ':$1');
      assert.ok(t.app.hasRoute({ method: method.toUpperCase() as 'GET', url }), `${method} ${path} is a route`);
    }
  }
  const predict = doc.paths['/v1/predict'].post;
  // the contract's forms (application/octet-stream, always read as image bytes, documented since the input registry)
  assert.deepEqual(Object.keys(predict.requestBody.content).sort(), ['application/json', 'application/octet-stream', 'image/jpeg', 'image/png', 'multipart/form-data']);
  assert.ok(predict.responses['422'] && predict.responses['404'] && predict.responses['413'] && predict.responses['415']);
});

test('OpenAPI: the checked-in openapi/openapi.json is not stale (npm run openapi regenerates it)', async () => {
  const { generateOpenApiDocument } = await import('../../src/api/openapi-document.ts');
  const checkedIn = await readFile(OPENAPI_PATH, 'utf8');
  assert.equal(await generateOpenApiDocument(), checkedIn, `${OPENAPI_PATH} is stale: run npm run openapi`);
});

test('Swagger UI at /docs', async () => {
  const res = await request(t.server).get('/docs/').redirects(2);
  assert.equal(res.status, 200);
  assert.match(String(res.headers['content-type']), /text\/html/);
  assert.match(res.text, /swagger/i);
});
