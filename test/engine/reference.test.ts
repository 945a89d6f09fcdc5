import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadMnist, planNetwork, resolveExperiment } from '../../src/engine/index.ts';
import { openNetwork } from '../../src/engine/backend.ts';
import { initParams } from '../../src/engine/init.ts';
import { ReferenceNetwork } from '../../src/engine/reference-network.ts';
import { Rng } from '../../src/engine/rng.ts';
import { toFloatImages } from '../../src/engine/evaluation.ts';

test('the reference network.py learns (sanity of the oracle itself)', async () => {
  const m = await loadMnist();
  const sizes = [784, 30, 10];
  const rng = Rng.fromSeed(3);
  const init = new Float32Array(ReferenceNetwork.paramCount(sizes)).map(() => rng.nextNormal());
  const ref = new ReferenceNetwork(sizes, init);
  ref.trainEpoch(m.train.images, m.train.labels, Rng.fromSeed(4).permutation(5000), 10, 3.0);
  const acc = ref.evaluate(m.train.images.subarray(50000 * 784), m.train.labels.subarray(50000), 500) / 500;
  assert.ok(acc > 0.6, `reference accuracy ${acc} after one epoch of 5,000 images`);
});

// The native engine's mini-batch SGD step must be network.py's: same weights after a few steps
// from the same start. Tolerance: float32 vs float64 over 5 steps, |Δ| ≤ 1e-4 + 1e-3·|w|.
test('native mini-batch steps match the reference network.py', async () => {
  const m = await loadMnist();
  const e = resolveExperiment({ preset: 'ch1-mlp30' });
  const plan = planNetwork(e.network);
  const params = initParams(plan, 'large', Rng.fromSeed(11));
  const ref = new ReferenceNetwork([784, 30, 10], params);
  const net = openNetwork(plan.desc, params, null, 2);
  const order = Rng.fromSeed(12).permutation(1000).subarray(0, 47); // 5 batches of 10, the last of 7
  const r = await net.trainEpoch({
    images: m.train.images, labels: m.train.labels, order, batchSize: 10, startBatch: 0,
    eta: 3.0, momentum: 0, l2: 0, l1: 0, dropoutSeed: 1,
  });
  assert.equal(r.batchesDone, 5);
  assert.equal(r.examples, 47);
  ref.trainEpoch(m.train.images, m.train.labels, order, 10, 3.0);
  const want = ref.toParams();
  let worst = 0;
  for (let i = 0; i < params.length; i++) {
    const d = Math.abs(params[i]! - want[i]!) / (1e-4 + 1e-3 * Math.abs(want[i]!));
    worst = Math.max(worst, d);
  }
  assert.ok(worst <= 1, `max scaled difference ${worst}`);
  // and the same outputs afterwards
  const x = toFloatImages(m.test.images.subarray(0, 20 * 784));
  const out = net.forward(x);
  for (let i = 0; i < 20; i++) {
    const f = new Float64Array(784).map((_, p) => x[i * 784 + p]!);
    const o = ref.feedforward(f);
    for (let j = 0; j < 10; j++) assert.ok(Math.abs(out[i * 10 + j]! - o[j]!) < 1e-4);
  }
});
