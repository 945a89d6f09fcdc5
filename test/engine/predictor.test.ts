import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createPredictor, engineInfo, loadMnist, loadModel, resolveExperiment, saveModel, splitData, train, type TrainedModel,
} from '../../src/engine/index.ts';
import { toFloatImages } from '../../src/engine/evaluation.ts';

async function trained(input: object): Promise<TrainedModel> {
  const e = resolveExperiment(input);
  const r = await train(e, { data: splitData(await loadMnist(), e.data), threads: 2 });
  assert.equal(r.status, 'completed');
  return (r as { model: TrainedModel }).model;
}

test('engineInfo names the backend', () => {
  const i = engineInfo();
  assert.equal(i.backend, 'native');
  assert.ok(['openblas', 'portable'].includes(i.gemm));
  assert.ok(i.threads >= 1);
});

test('save/load round trip: the loaded model predicts exactly the same', async () => {
  const model = await trained({ preset: 'ch6-shallow', training: { epochs: 2, eta: 1.0 }, data: { trainSize: 2000, validationSize: 200 } });
  const m = await loadMnist();
  const x = toFloatImages(m.test.images.subarray(0, 100 * 784));
  const dir = await mkdtemp(join(tmpdir(), 'nndl-predict-'));
  try {
    await saveModel(dir, model);
    const back = await loadModel(dir);
    assert.deepEqual(back.experiment, model.experiment);
    assert.equal(back.testAccuracy, model.testAccuracy);
    const p1 = createPredictor(model);
    const p2 = createPredictor(back);
    const a = await p1.predict(x), b = await p2.predict(x);
    assert.deepEqual(a, b);
    assert.equal(a.length, 1000);
    for (let i = 0; i < 100; i++) {
      const s = a.subarray(i * 10, i * 10 + 10).reduce((t, v) => t + v, 0);
      assert.ok(Math.abs(s - 1) < 1e-5, 'probabilities sum to 1');
    }
    let right = 0;
    for (let i = 0; i < 100; i++) {
      const row = Array.from(a.subarray(i * 10, i * 10 + 10));
      if (row.indexOf(Math.max(...row)) === m.test.labels[i]) right++;
    }
    assert.ok(right >= 80, `${right}/100 right`);
    assert.ok(p1.bytes >= model.members[0]!.params.byteLength);
    await assert.rejects(p1.predict(new Float32Array(100)), /n × 784/);
    await assert.rejects(p1.predict(new Float32Array(784).fill(NaN)), /not a finite number/);
    p1.dispose();
    await assert.rejects(p1.predict(x), /disposed/);
    p2.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('an ensemble predicts the average of its members\' probabilities', async () => {
  const model = await trained({ preset: 'ch6-shallow', ensemble: { size: 2 }, training: { epochs: 1, eta: 1.0 },
    data: { trainSize: 1000, validationSize: 100 } });
  assert.equal(model.members.length, 2);
  const x = toFloatImages((await loadMnist()).test.images.subarray(0, 10 * 784));
  const ens = await createPredictor(model).predict(x);
  const outs = await Promise.all(model.members.map((m) => createPredictor({ ...model, members: [m] }).predict(x)));
  assert.notDeepEqual(outs[0], outs[1]);
  for (let i = 0; i < 100; i++) {
    assert.ok(Math.abs(ens[i]! - (outs[0]![i]! + outs[1]![i]!) / 2) < 1e-7);
  }
  assert.ok(model.testAccuracy > 0.5);
  // The reported test accuracy is that of the averaged probabilities.
  const m = await loadMnist();
  const all = await createPredictor(model, { threads: 2 }).predict(toFloatImages(m.test.images));
  let right = 0;
  for (let i = 0; i < 10000; i++) {
    const row = Array.from(all.subarray(i * 10, i * 10 + 10));
    if (row.indexOf(Math.max(...row)) === m.test.labels[i]) right++;
  }
  assert.equal(right / 10000, model.testAccuracy);
});

test('sigmoid outputs are normalised into probabilities', async () => {
  const model = await trained({ preset: 'ch1-mlp30', training: { epochs: 1, seed: 2 }, data: { trainSize: 1000, validationSize: 0 } });
  const x = toFloatImages((await loadMnist()).test.images.subarray(0, 10 * 784));
  const p = await createPredictor(model).predict(x);
  for (let i = 0; i < 10; i++) {
    const row = p.subarray(i * 10, i * 10 + 10);
    assert.ok(row.every((v) => v >= 0 && v <= 1));
    assert.ok(Math.abs(row.reduce((t, v) => t + v, 0) - 1) < 1e-5);
  }
  assert.equal(model.members[0]!.history[0]!.validationAccuracy, null, 'no validation data: null metrics');
});
