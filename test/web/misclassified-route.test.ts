// GET /v1/models/:id/misclassified (the job page's gallery) against the real app and a
// small real model: the count agrees with the model's confusion matrix, the examples are
// the first wrong test digits, and pixels and probabilities match a naive reference
// (the engine's predictor on the raw MNIST bytes; tolerance 1e-4, the route's rounding).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { createPredictor, type TrainedModel } from '../../src/engine/index.ts';
import { testDigits } from '../fixtures/mnist-digits.ts';
import { startTestApp, type TestApp } from '../fixtures/test-app.ts';
import { smallModel } from '../fixtures/trained-model.ts';

const TOLERANCE = 1e-4;

type Example = { index: number; label: number; predicted: number; confidence: number; probabilities: number[]; pixels: number[] };

describe('GET /v1/models/:id/misclassified', () => {
  let t: TestApp;
  let model: TrainedModel;
  let id: string;

  before(async () => {
    t = await startTestApp('misclassified');
    model = await smallModel();
    id = (await t.saveModel(model, { name: 'small' })).id;
    await t.aliases.set('default', id);
  });
  after(() => t?.close());

  test('the count matches the confusion matrix; the items are the first wrong test digits', async () => {
    const res = await request(t.server).get(`/v1/models/${id}/misclassified?limit=8`).expect(200);
    const offDiagonal = model.confusion.flatMap((row, a) => row.filter((_, p) => p !== a)).reduce((s, n) => s + n, 0);
    assert.equal(res.body.modelId, id);
    assert.equal(res.body.testSize, 10_000);
    assert.equal(res.body.misclassified, offDiagonal);
    const items: Example[] = res.body.items;
    assert.equal(items.length, 8);

    // naive reference: predict every test digit up to the last example, one by one
    const last = items.at(-1)!.index;
    const digits = testDigits(last + 1);
    const predictor = createPredictor(model, { threads: 1 });
    try {
      const wrong: { index: number; probs: Float32Array }[] = [];
      for (const d of digits) {
        const probs = await predictor.predict(Float32Array.from(d.pixels, (v) => v / 255));
        let digit = 0;
        for (let k = 1; k < 10; k++) if (probs[k]! > probs[digit]!) digit = k;
        if (digit !== d.label) wrong.push({ index: d.index, probs });
      }
      assert.deepEqual(items.map((x) => x.index), wrong.map((w) => w.index));
      for (const [i, x] of items.entries()) {
        const d = digits[x.index]!;
        assert.equal(x.label, d.label);
        assert.notEqual(x.predicted, x.label);
        assert.equal(x.probabilities.indexOf(Math.max(...x.probabilities)), x.predicted);
        assert.equal(x.confidence, x.probabilities[x.predicted]);
        assert.equal(x.pixels.length, 784);
        x.pixels.forEach((v, k) => assert.ok(Math.abs(v - d.pixels[k]! / 255) <= TOLERANCE, `pixel ${k} of ${x.index}`));
        x.probabilities.forEach((p, k) => assert.ok(Math.abs(p - wrong[i]!.probs[k]!) <= TOLERANCE, `p[${k}] of ${x.index}: ${p}`));
      }
    } finally {
      predictor.dispose();
    }
  });

  test('an alias works, the default limit is 24, a second call gives the same answer', async () => {
    const byAlias = await request(t.server).get('/v1/models/default/misclassified').expect(200);
    assert.equal(byAlias.body.modelId, id);
    assert.equal(byAlias.body.items.length, 24);
    const again = await request(t.server).get(`/v1/models/${id}/misclassified?limit=24`).expect(200);
    assert.deepEqual(again.body, byAlias.body);
  });

  test('bad input gets the JSON error shape', async () => {
    const missing = await request(t.server).get('/v1/models/no-such-model/misclassified').expect(404);
    assert.equal(missing.body.error.code, 'not_found');
    for (const limit of ['0', '101', 'abc', '2.5']) {
      const res = await request(t.server).get(`/v1/models/${id}/misclassified?limit=${limit}`).expect(400);
      assert.ok(res.body.error.message, `limit=${limit}`);
    }
  });

  test('without the MNIST test set: 503 with a clear message, not a crash', { skip: process.env.MNIST_MIRROR ? 'MNIST_MIRROR would download' : false }, async () => {
    const empty = await mkdtemp(join(tmpdir(), 'nndl-no-mnist-'));
    const other = await startTestApp('misclassified-nomnist', { MNIST_DIR: empty });
    try {
      const saved = await other.saveModel(model);
      const res = await request(other.server).get(`/v1/models/${saved.id}/misclassified`).expect(503);
      assert.match(res.body.error.message, /MNIST test set is unavailable/);
    } finally {
      await other.close();
      await rm(empty, { recursive: true, force: true });
    }
  });
});
