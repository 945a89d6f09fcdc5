// Chapter 5's speed of learning: ‖∂C/∂b^l‖ of each hidden layer over the first N training images,
// against a naive float64 backprop and finite differences of the addon's cost; in the epoch metrics
// at initialisation and after each epoch, kept across a resume; and the book's figure at init.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeCheckpoint, encodeCheckpoint, loadMnist, planNetwork, resolveExperiment, splitData, train,
  SIGNAL_INTERRUPT, type Checkpoint, type Experiment, type TrainedModel,
} from '../../src/engine/index.ts';
import { openNetwork } from '../../src/engine/backend.ts';
import { biasGradientNorms } from '../../src/engine/bias-gradient.ts';
import { toFloatImages } from '../../src/engine/evaluation.ts';
import { initParams } from '../../src/engine/init.ts';
import { Rng } from '../../src/engine/rng.ts';

const sig = (z: number) => 1 / (1 + Math.exp(-z));

/** Naive float64 backprop of a sigmoid net with cross-entropy (δ_L = a − y): mean ∂C/∂b per layer. */
function naiveBiasGradients(sizes: number[], params: Float32Array, images: Uint8Array, labels: Uint8Array, count: number): number[][] {
  const W: number[][] = [], B: number[][] = [];
  let o = 0;
  for (let l = 1; l < sizes.length; l++) {
    W.push(Array.from(params.subarray(o, o + sizes[l]! * sizes[l - 1]!))); o += sizes[l]! * sizes[l - 1]!;
    B.push(Array.from(params.subarray(o, o + sizes[l]!))); o += sizes[l]!;
  }
  const sums = sizes.slice(1).map((n) => new Array(n).fill(0));
  for (let k = 0; k < count; k++) {
    const acts: number[][] = [Array.from(images.subarray(k * 784, (k + 1) * 784), (v) => Math.fround(v * Math.fround(1 / 255)))];
    for (let l = 0; l < W.length; l++) {
      const x = acts[l]!, n = sizes[l + 1]!, m = sizes[l]!;
      acts.push(Array.from({ length: n }, (_, j) => {
        let z = B[l]![j]!;
        for (let i = 0; i < m; i++) z += W[l]![j * m + i]! * x[i]!;
        return sig(z);
      }));
    }
    let delta = acts[W.length]!.map((a, j) => a - (j === labels[k] ? 1 : 0));
    for (let l = W.length - 1; l >= 0; l--) {
      delta.forEach((d, j) => { sums[l]![j] += d; });
      if (l === 0) break;
      const m = sizes[l]!, a = acts[l]!;
      delta = Array.from({ length: m }, (_, i) => {
        let s = 0;
        for (let j = 0; j < delta.length; j++) s += W[l]![j * m + i]! * delta[j]!;
        return s * a[i]! * (1 - a[i]!);
      });
    }
  }
  return sums.map((s) => s.map((v: number) => v / count));
}

const deep3 = resolveExperiment({ preset: 'ch5-deep3', training: { epochs: 2, threads: 1 }, data: { trainSize: 1000, validationSize: 200 } });

test('bias-gradient norms equal a naive backprop, and finite differences of the cost', async () => {
  const mnist = await loadMnist();
  const data = splitData(mnist, deep3.data);
  const plan = planNetwork(deep3.network);
  const params = initParams(plan, 'default', Rng.fromSeed(12345678));
  const net = openNetwork(plan.desc, params, null, 1);
  const count = 300;
  const norms = await biasGradientNorms(net, plan, data.training, count, 7); // a chunk that does not divide 300
  const naive = naiveBiasGradients([784, 30, 30, 30, 10], params, data.training.images, data.training.labels, count);
  const naiveNorms = naive.slice(0, 3).map((g) => Math.sqrt(g.reduce((a, v) => a + v * v, 0)));
  assert.equal(norms.length, 3, 'hidden layers only');
  norms.forEach((v, l) => assert.ok(Math.abs(v - naiveNorms[l]!) <= 1e-4 * naiveNorms[l]!, `layer ${l + 1}: ${v} vs ${naiveNorms[l]}`));
  // finite differences of the addon's mean cost over the same images, a few biases of each hidden layer
  const x = toFloatImages(data.training.images.subarray(0, count * 784)), y = data.training.labels.subarray(0, count);
  for (const [l, seg] of plan.segments.slice(0, 3).entries()) {
    for (const j of [0, 11, 29]) {
      const i = seg.biasOffset + j, b = params[i]!, eps = 1e-2;
      params[i] = b + eps; const up = net.gradient(x, y).cost;
      params[i] = b - eps; const down = net.gradient(x, y).cost;
      params[i] = b;
      const fd = (up - down) / (Math.fround(b + eps) - Math.fround(b - eps));
      assert.ok(Math.abs(fd - naive[l]![j]!) <= 2e-2 * Math.abs(naive[l]![j]!) + 2e-5, `layer ${l + 1} b${j}: fd ${fd} vs ${naive[l]![j]}`);
    }
  }
  net.dispose();
});

test('the epoch metrics carry the norms at init (epoch 1) and after each epoch; a resume keeps the initial ones', async () => {
  const whole = await (async () => {
    const r = await train(deep3, { data: splitData(await loadMnist(), deep3.data) });
    return (r as { model: TrainedModel }).model;
  })();
  const h = whole.members[0]!.history;
  assert.equal(h[0]!.initialBiasGradientNorms?.length, 3);
  assert.equal(h[1]!.initialBiasGradientNorms, undefined);
  for (const m of h) assert.equal(m.biasGradientNorms?.length, 3);
  // the book's picture: at init the earlier layers learn more slowly
  const init = h[0]!.initialBiasGradientNorms!;
  assert.ok(init[0]! < init[1]! && init[1]! < init[2]!, `${init}`);
  // interrupted inside epoch 1: the checkpoint carries the initial norms to the resumed run
  const signal = new Int32Array(new SharedArrayBuffer(4));
  const first = await train(deep3, {
    data: splitData(await loadMnist(), deep3.data), signal, progressIntervalMs: 1,
    onProgress: (p) => { if (p.batch > 0) Atomics.store(signal, 0, SIGNAL_INTERRUPT); },
  });
  if (first.status === 'completed') return; // too fast to cut on this machine: the resume half is not exercised
  const ck: Checkpoint = decodeCheckpoint(encodeCheckpoint((first as { checkpoint: Checkpoint }).checkpoint));
  if (ck.epoch === 0) assert.deepEqual(ck.initialBiasGradientNorms, init);
  const second = await train(deep3, { data: splitData(await loadMnist(), deep3.data), checkpoint: ck });
  const m = (second as { model: TrainedModel }).model;
  assert.deepEqual(m.members[0]!.history.map((e) => [e.initialBiasGradientNorms, e.biasGradientNorms]), h.map((e) => [e.initialBiasGradientNorms, e.biasGradientNorms]));
});

test('the book\'s figure at init for [784,30,30,30,10]: ≈ 0.012, 0.060, 0.283 (order of magnitude)', async (t) => {
  const data = splitData(await loadMnist(), deep3.data);
  const plan = planNetwork(deep3.network);
  const rows: number[][] = [];
  for (const seed of [1, 2, 3]) {
    const net = openNetwork(plan.desc, initParams(plan, 'default', Rng.fromSeed(seed)), null, 1);
    rows.push(await biasGradientNorms(net, plan, data.training, 1000, 10));
    net.dispose();
  }
  t.diagnostic(`seeds 1-3: ${rows.map((r) => r.map((v) => v.toFixed(3)).join(', ')).join(' | ')}`);
  const book = [0.012, 0.06, 0.283];
  for (const r of rows) r.forEach((v, l) => assert.ok(v > book[l]! / 5 && v < book[l]! * 5, `layer ${l + 1}: ${v} vs the book's ${book[l]}`));
});

test('biasGradientImages: bounds, default off', () => {
  assert.equal(resolveExperiment({ preset: 'ch1-mlp30' }).training.biasGradientImages, 0);
  assert.throws(() => resolveExperiment({ preset: 'ch5-deep2', training: { biasGradientImages: 10_001 } }), /biasGradientImages/);
  assert.throws(() => resolveExperiment({ preset: 'ch5-deep2', training: { biasGradientImages: -1 } }), /biasGradientImages/);
  const e: Experiment = resolveExperiment({ preset: 'ch5-deep4' });
  assert.deepEqual(e.network.layers.map((l) => (l.type === 'dense' ? [l.units, l.activation] : null)),
    [[30, 'sigmoid'], [30, 'sigmoid'], [30, 'sigmoid'], [30, 'sigmoid'], [10, 'sigmoid']]);
  const relu = resolveExperiment({ preset: 'ch5-deep4-relu' }).network.layers;
  assert.deepEqual(relu.map((l) => (l.type === 'dense' ? l.activation : null)), ['relu', 'relu', 'relu', 'relu', 'sigmoid']);
});
