// The predict queue is bounded (PREDICT_QUEUE_MAX instances across all models): beyond it a
// request is shed with 503 + Retry-After instead of the queue growing; and a request whose client
// has gone stops decoding. Real app, real HTTP, a real model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import request from 'supertest';
import { photoLike, testDigits, toUnitPixels } from '../fixtures/mnist-digits.ts';
import { startTestApp, type TestApp } from '../fixtures/test-app.ts';
import { smallModel } from '../fixtures/trained-model.ts';

const digits = testDigits(16);

async function withModel(t: TestApp): Promise<string> {
  const id = (await t.saveModel(await smallModel())).id;
  await t.aliases.set('default', id);
  return id;
}

async function metric(t: TestApp, line: RegExp): Promise<number> {
  const text = (await request(t.server).get('/metrics')).text;
  const m = text.split('\n').find((l) => line.test(l));
  return m ? Number(m.split(" ").at(-1)) : 0;
}

async function until(what: () => Promise<boolean>): Promise<void> {
  while (!(await what())) await new Promise((r) => setTimeout(r, 20));
}

test('a full predict queue sheds load: 503 overloaded + Retry-After, and serves again once drained', async () => {
  // The batcher holds what it has until 16 instances wait (or 10 minutes pass): request A's 10
  // instances stay queued, deterministically, until request C brings the batch to 16.
  const t = await startTestApp('predict-queue', {
    PREDICT_QUEUE_MAX: '16', MAX_INSTANCES: '16', PREDICT_MAX_BATCH: '16', PREDICT_MAX_WAIT_MS: '600000',
  });
  try {
    await withModel(t);
    const body = (n: number, from = 0) => ({ instances: digits.slice(from, from + n).map(toUnitPixels) });
    const a = request(t.server).post('/v1/predict').send(body(10)).then((r) => r);
    await until(async () => (await metric(t, /^nndl_predict_queue\{what="pending"\}/)) === 10);

    const b = await request(t.server).post('/v1/predict').send(body(10));
    assert.equal(b.status, 503, b.text);
    assert.equal(b.body.error.code, 'overloaded');
    assert.match(b.body.error.message, /queue is full/);
    assert.deepEqual(b.body.error.details, { pending: 10, max: 16, requested: 10 });
    assert.match(String(b.headers['retry-after']), /^[1-9]\d*$/);
    assert.equal(await metric(t, /^nndl_predict_queue\{what="pending"\}/), 10, 'the refused request added nothing');
    assert.equal(await metric(t, /^nndl_predict_shed_total/), 1);

    // 6 more fit exactly: the batch of 16 runs, both answers are right
    const c = await request(t.server).post('/v1/predict').send(body(6, 10));
    assert.equal(c.status, 200, c.text);
    const aRes = await a;
    assert.equal(aRes.status, 200, aRes.text);
    const got = [...aRes.body.predictions, ...c.body.predictions].map((p: { digit: number }) => p.digit);
    const right = got.filter((d, i) => d === digits[i]!.label).length;
    assert.ok(right >= 13, `${right}/16 right`);
    assert.equal(await metric(t, /^nndl_predict_queue\{what="pending"\}/), 0);
  } finally {
    await t.close();
  }
});

test('a request whose client has gone stops decoding (and releases its place in the queue)', async () => {
  const t = await startTestApp('predict-gone');
  try {
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const port = (t.app.server.address() as { port: number }).port;
    await withModel(t);
    // 256 photo-like JPEGs (~4 MB of base64): each one a sharp decode + resize, seconds in all
    const photo = (await photoLike(digits[0]!, { scale: 16, noise: 2 })).toString('base64');
    const body = JSON.stringify({ instances: Array.from({ length: 256 }, () => ({ b64: photo })) });
    const req = httpRequest({
      host: '127.0.0.1', port, method: 'POST', path: '/v1/predict',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    });
    req.on('error', () => {});
    req.end(body);
    // admitted = counted and decoding started; then the client goes away
    await until(async () => (await metric(t, /^nndl_predict_queue\{what="pending"\}/)) === 256);
    req.destroy();
    await until(async () => (await metric(t, /^nndl_predict_queue\{what="pending"\}/)) === 0);
    assert.equal(await metric(t, /^nndl_predict_abandoned_total\{stage="decode"\}/), 1);
    assert.equal(await metric(t, /^nndl_predictions_total/), 0, 'nothing reached the engine');
  } finally {
    await t.close();
  }
});
