// PREDICT_SCRATCH_BYTES through the real app: a model one image of which needs more scratch cannot
// be served (422 over_budget on /predict and /misclassified, the same bounds; the process stays up);
// within the budget it predicts, and the model cache counts its weights plus its scratch cap.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { fakeModel } from '../fixtures/fake-model.ts';
import { startTestApp, type TestApp } from '../fixtures/test-app.ts';

// one image through fakeModel's 784→10 layer: its input and output floats
const ROW = (784 + 10) * 4;
const pixels = Array.from({ length: 784 }, (_, i) => (i % 9) / 9);

describe('a model over PREDICT_SCRATCH_BYTES', () => {
  let t: TestApp;
  let id: string;
  before(async () => {
    t = await startTestApp('predict-budget-over', { PREDICT_SCRATCH_BYTES: String(ROW - 1) });
    id = (await t.saveModel(fakeModel())).id;
  });
  after(() => t.close());

  test('cannot be served: 422 over_budget naming the budget, the figure and the limit', async () => {
    for (const req of [
      () => request(t.server).post(`/v1/models/${id}/predict`).send({ pixels }),
      () => request(t.server).get(`/v1/models/${id}/misclassified`),
    ]) {
      const res = await req().expect(422);
      assert.equal(res.body.error.code, 'over_budget');
      assert.match(res.body.error.message, /cannot be served here/);
      assert.deepEqual(res.body.error.details.map((d: { budget: string; figure: string; value: number; limit: number }) =>
        [d.budget, d.figure, d.value, d.limit]), [['PREDICT_SCRATCH_BYTES', 'inferenceScratchBytesPerImage', ROW, ROW - 1]]);
    }
    await request(t.server).get('/healthz').expect(200);
  });
});

describe('a model within PREDICT_SCRATCH_BYTES', () => {
  let t: TestApp;
  let id: string;
  before(async () => {
    t = await startTestApp('predict-budget-within', { PREDICT_SCRATCH_BYTES: String(4 * ROW) });
    id = (await t.saveModel(fakeModel())).id;
  });
  after(() => t.close());

  test('predicts, and the cache counts its weights and its scratch cap', async () => {
    const instances = Array.from({ length: 30 }, () => pixels);
    const res = await request(t.server).post(`/v1/models/${id}/predict`).send({ instances }).expect(200);
    assert.equal(res.body.predictions.length, 30);
    const metrics = (await request(t.server).get('/metrics').expect(200)).text;
    const bytes = Number(/^nndl_model_cache\{what="bytes"\} (\d+)/m.exec(metrics)?.[1]);
    assert.equal(bytes, 7850 * 4 + 4 * ROW, metrics.split('\n').filter((l) => l.includes('cache')).join('\n'));
    const mis = await request(t.server).get(`/v1/models/${id}/misclassified?limit=3`).expect(200);
    assert.equal(mis.body.testSize, 10_000);
  });
});
