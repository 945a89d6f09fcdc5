// Batch normalisation of conv layers (native/src/batch_norm.h): the gradient through the batch
// statistics against finite differences, the running statistics and inference against a naive
// float64 computation (z from the addon's direct-loop conv reference), on one thread and with a
// mini-batch split across two.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { NativeNetwork, reference, type ConvShape } from '../../src/engine/native.ts';
import { BATCH_NORM_EPS as EPS, BATCH_NORM_MOMENTUM as MOMENTUM, paramLayout, type NetworkDesc } from '../../src/engine/network-plan.ts';
import type { Activation } from '../../src/engine/spec.ts';
import { checkGradient, gradientCheck, initParams, inputSize, randomInput, rng } from './helpers.ts';

const bnNet = (act: Activation, second = true): NetworkDesc => ({
  inputShape: [9, 9, 2],
  layers: [
    { kind: 'conv', filters: 3, kernel: 3, activation: act, batchNorm: true },   // 7×7×3
    { kind: 'conv', filters: 4, kernel: 2, activation: act, batchNorm: second }, // 6×6×4
    { kind: 'pool', mode: 'max' },                                               // 3×3×4
    { kind: 'dense', outSize: 5, activation: 'tanh', dropout: 0.3 },
    { kind: 'dense', outSize: 3, activation: 'softmax' },
  ],
  cost: 'log-likelihood',
});

// Every parameter of a batch-norm layer moves every position of its channel (through the mean and
// variance), so a step of 1e-2 or even 1e-3 makes some unit cross a relu or max-pool kink: the
// steps here are 3e-4 (float32 noise is still well inside the tolerance).
const STEP = 3e-4;

describe('gradient through the batch statistics (finite differences)', () => {
  for (const act of ['relu', 'tanh', 'sigmoid', 'linear'] as const) {
    test(`${act}: W, β (the bias) and γ of both batch-norm layers`, () => {
      // (after a linear batch-norm layer, a second one takes any shift β of the first out again: its
      // gradient is zero, so the linear case normalises the first layer only)
      const r = checkGradient(bnNet(act, act !== 'linear'), 4, { eps: STEP, dropoutSeed: 3 });
      assert.ok(r.checked > 60);
    });
  }

  test('a batch-norm layer after a plain one, with L2 (weights only)', () => {
    const desc: NetworkDesc = {
      inputShape: [8, 8, 1],
      layers: [
        { kind: 'conv', filters: 3, kernel: 3, activation: 'relu' },
        { kind: 'conv', filters: 2, kernel: 3, activation: 'relu', batchNorm: true },
        { kind: 'dense', outSize: 4, activation: 'softmax' },
      ],
      cost: 'log-likelihood',
    };
    checkGradient(desc, 3, { eps: STEP, l2: 0.05 });
  });

  test('the running statistics get no gradient, and a zeroed γ gradient is caught', () => {
    const desc = bnNet('tanh');
    const layout = paramLayout(desc);
    const net = new NativeNetwork(desc, initParams(desc, 5), null, 1);
    const { grad } = net.gradient(randomInput(3, inputSize(desc), 6), new Uint8Array([0, 2, 1]), {});
    net.dispose();
    for (const s of layout.segments.filter((x) => x.norm)) {
      const f = s.biasLength;
      assert.ok(grad.subarray(s.norm!.offset, s.norm!.offset + f).some((g) => g !== 0), 'γ has a gradient');
      assert.ok(grad.subarray(s.norm!.offset + f, s.norm!.offset + 3 * f).every((g) => g === 0), 'running statistics: none');
    }
    const r = gradientCheck(desc, 3, {
      eps: STEP,
      tamper: (g, l) => { const s = l.segments[0]!; g.fill(0, s.norm!.offset, s.norm!.offset + s.biasLength); },
    });
    assert.ok(r.failures.some((x) => x.layer === 0 && x.block === 'γ'));
    assert.ok(r.failures.every((x) => x.layer === 0 && x.block === 'γ'));
  });
});

/** A one-conv-layer batch-norm network, its layout, and a naive float64 model of it. */
function setup(inputShape: [number, number, number], filters: number, kernel: number) {
  const desc: NetworkDesc = {
    inputShape,
    layers: [
      { kind: 'conv', filters, kernel, activation: 'relu', batchNorm: true },
      { kind: 'dense', outSize: 4, activation: 'softmax' },
    ],
    cost: 'log-likelihood',
  };
  const layout = paramLayout(desc);
  const [conv, dense] = layout.segments as [typeof layout.segments[0], typeof layout.segments[0]];
  const shape: ConvShape = { H: inputShape[0], W: inputShape[1], C: inputShape[2], F: filters, K: kernel };
  const P = (shape.H - kernel + 1) * (shape.W - kernel + 1);
  /** z = W∗x for `rows` examples (no bias: under batch norm the bias is the shift β). */
  const z = (params: Float32Array, x: Float32Array, rows: number) =>
    reference.convForward(shape, x, params.slice(conv.weightOffset, conv.weightOffset + conv.weightLength), new Float32Array(filters), rows);
  /** Per-channel mean and biased variance of z over rows·P positions, in float64. */
  const stats = (zs: Float32Array) => {
    const n = zs.length / filters;
    const mean = new Float64Array(filters), v = new Float64Array(filters);
    for (let i = 0; i < zs.length; i++) mean[i % filters]! += zs[i]! / n;
    for (let i = 0; i < zs.length; i++) v[i % filters]! += (zs[i]! - mean[i % filters]!) ** 2 / n;
    return { mean, v };
  };
  /** The inference output: softmax(Wd · relu(γ(z − μ)/√(σ² + ε) + β) + bd), with the running μ, σ². */
  const infer = (params: Float32Array, x: Float32Array, rows: number) => {
    const zs = z(params, x, rows);
    const nb = conv.norm!.offset;
    const h = Float64Array.from(zs, (zi, i) => {
      const c = i % filters;
      const y = params[nb + c]! * (zi - params[nb + filters + c]!) / Math.sqrt(params[nb + 2 * filters + c]! + EPS) + params[conv.biasOffset + c]!;
      return Math.max(0, y);
    });
    const inSize = P * filters, out: number[] = [];
    for (let r = 0; r < rows; r++) {
      const a = [0, 1, 2, 3].map((o) => {
        let s = params[dense.biasOffset + o]!;
        for (let i = 0; i < inSize; i++) s += params[dense.weightOffset + o * inSize + i]! * h[r * inSize + i]!;
        return s;
      });
      const m = Math.max(...a), e = a.map((v) => Math.exp(v - m)), t = e.reduce((p, q) => p + q, 0);
      out.push(...e.map((v) => v / t));
    }
    return out;
  };
  return { desc, layout, conv, shape, z, stats, infer };
}

function images(n: number, size: number, seed: number): Uint8Array {
  const r = rng(seed);
  return new Uint8Array(n * size).map(() => Math.floor(r() * 256));
}

/** The running statistics expected after an epoch of `batches` (each a list of example indices), η = 0. */
function expectedRunning(s: ReturnType<typeof setup>, params: Float32Array, imgs: Uint8Array, batches: number[][], start: { mean: Float64Array; v: Float64Array }) {
  const size = s.shape.H * s.shape.W * s.shape.C;
  const mean = Float64Array.from(start.mean), v = Float64Array.from(start.v);
  batches.forEach((idx, b) => {
    const x = new Float32Array(idx.length * size);
    idx.forEach((e, r) => { for (let i = 0; i < size; i++) x[r * size + i] = Math.fround(imgs[e * size + i]! * Math.fround(1 / 255)); });
    const st = s.stats(s.z(params, x, idx.length));
    const w = Math.max(MOMENTUM, 1 / (b + 1));
    for (let c = 0; c < mean.length; c++) {
      mean[c] = (1 - w) * mean[c]! + w * st.mean[c]!;
      v[c] = (1 - w) * v[c]! + w * st.v[c]!;
    }
  });
  return { mean, v };
}

describe('running statistics and inference against a naive float64 model', () => {
  test('one thread: batch b blends in with weight max(0.01, 1/(b+1)); predict normalises by them', async () => {
    const s = setup([6, 6, 1], 3, 3);
    const params = initParams(s.desc, 11);
    const f = 3, nb = s.conv.norm!.offset;
    const start = { mean: Float64Array.from(params.subarray(nb + f, nb + 2 * f)), v: Float64Array.from(params.subarray(nb + 2 * f, nb + 3 * f)) };
    const imgs = images(12, 36, 12);
    const labels = new Uint8Array(12).map((_, i) => i % 4);
    const order = new Uint32Array([5, 0, 11, 3, 7, 1, 2, 9, 4, 10, 8, 6]);
    const before = params.slice();
    const net = new NativeNetwork(s.desc, params, null, 1);
    await net.trainEpoch({ images: imgs, labels, order, batchSize: 4, eta: 0 });
    const batches = [0, 1, 2].map((b) => Array.from(order.subarray(4 * b, 4 * b + 4)));
    const want = expectedRunning(s, before, imgs, batches, start);
    for (let c = 0; c < f; c++) {
      assert.ok(Math.abs(params[nb + f + c]! - want.mean[c]!) <= 1e-5 * (1 + Math.abs(want.mean[c]!)), `mean ${c}`);
      assert.ok(Math.abs(params[nb + 2 * f + c]! - want.v[c]!) <= 1e-5 * (1 + want.v[c]!), `variance ${c}`);
    }
    // η = 0: nothing else moved
    params.forEach((p, i) => { if (i < nb + f || i >= nb + 3 * f) assert.equal(p, before[i], `param ${i}`); });
    const x = randomInput(5, 36, 13);
    const got = await net.predict(x), ref = s.infer(params, x, 5);
    ref.forEach((r, i) => assert.ok(Math.abs(got[i]! - r) <= 1e-5, `output ${i}: ${got[i]} vs ${r}`));
    // inference is not training: the same five inputs through the batch statistics read differently
    net.dispose();
  });

  test('a mini-batch split across two threads: each slice normalised alone, the running statistics the whole batch\'s', async () => {
    const s = setup([28, 28, 1], 8, 5);
    const params = initParams(s.desc, 21);
    const net = new NativeNetwork(s.desc, params, null, 2);
    assert.equal(net.trainThreads(24), 2, 'the batch is split');
    const f = 8, nb = s.conv.norm!.offset;
    const start = { mean: Float64Array.from(params.subarray(nb + f, nb + 2 * f)), v: Float64Array.from(params.subarray(nb + 2 * f, nb + 3 * f)) };
    const imgs = images(48, 784, 22);
    const labels = new Uint8Array(48).map((_, i) => i % 4);
    const order = new Uint32Array(48).map((_, i) => (i * 7) % 48);
    const before = params.slice();
    await net.trainEpoch({ images: imgs, labels, order, batchSize: 24, eta: 0 });
    net.dispose();
    const want = expectedRunning(s, before, imgs, [Array.from(order.subarray(0, 24)), Array.from(order.subarray(24))], start);
    for (let c = 0; c < f; c++) {
      assert.ok(Math.abs(params[nb + f + c]! - want.mean[c]!) <= 1e-4 * (1 + Math.abs(want.mean[c]!)), `mean ${c}: ${params[nb + f + c]} vs ${want.mean[c]}`);
      assert.ok(Math.abs(params[nb + 2 * f + c]! - want.v[c]!) <= 1e-4 * (1 + want.v[c]!), `variance ${c}: ${params[nb + 2 * f + c]} vs ${want.v[c]}`);
    }
  });

  test('training learns γ and β, and two runs with the same seed and threads agree bit for bit', async () => {
    const s = setup([28, 28, 1], 8, 5);
    const imgs = images(96, 784, 31);
    const labels = new Uint8Array(96).map((_, i) => (imgs[i * 784 + 400]! > 127 ? 1 : 0) + 2 * (imgs[i * 784 + 200]! > 127 ? 1 : 0));
    const order = new Uint32Array(96).map((_, i) => i);
    const runs: Float32Array[] = [];
    for (let k = 0; k < 2; k++) {
      const params = initParams(s.desc, 41);
      const net = new NativeNetwork(s.desc, params, null, 2);
      for (let e = 0; e < 3; e++) await net.trainEpoch({ images: imgs, labels, order, batchSize: 24, eta: 0.05, dropoutSeed: 1 });
      net.dispose();
      runs.push(params);
    }
    assert.deepEqual(runs[0], runs[1]);
    const start = initParams(s.desc, 41), nb = s.conv.norm!.offset;
    assert.ok(runs[0]!.subarray(nb, nb + 8).some((g, c) => g !== start[nb + c]), 'γ moved');
    assert.ok(runs[0]!.subarray(s.conv.biasOffset, s.conv.biasOffset + 8).some((b, c) => b !== start[s.conv.biasOffset + c]), 'β moved');
  });
});

describe('precise statistics (batchNormStatistics) against a naive float64 model', () => {
  // Two stacked batch-norm layers: the second's statistics must be taken through the first's new ones.
  const desc: NetworkDesc = {
    inputShape: [8, 8, 1],
    layers: [
      { kind: 'conv', filters: 3, kernel: 3, activation: 'relu', batchNorm: true }, // 6×6×3
      { kind: 'conv', filters: 4, kernel: 2, activation: 'tanh', batchNorm: true }, // 5×5×4
      { kind: 'dense', outSize: 3, activation: 'softmax' },
    ],
    cost: 'log-likelihood',
  };
  const layout = paramLayout(desc);
  const [c1, c2] = layout.segments as [typeof layout.segments[0], typeof layout.segments[0]];
  const n = 150; // more than one inference chunk
  const imgs = images(n, 64, 51);
  // trained a little first, so that γ, β and the running statistics are not the identity
  async function trained(threads: number): Promise<Float32Array> {
    const params = initParams(desc, 52);
    const net = new NativeNetwork(desc, params, null, threads);
    await net.trainEpoch({ images: imgs, labels: new Uint8Array(n).map((_, i) => i % 3), order: new Uint32Array(n).map((_, i) => i), batchSize: 10, eta: 0.05 });
    net.dispose();
    return params;
  }
  /** Float64 mean and biased variance per channel; normalised activations out (float32, for the next conv). */
  function naiveLayer(params: Float32Array, seg: typeof c1, shape: ConvShape, x: Float32Array, act: (v: number) => number) {
    const F = shape.F;
    const zs = reference.convForward(shape, x, params.slice(seg.weightOffset, seg.weightOffset + seg.weightLength), new Float32Array(F), n);
    const cnt = zs.length / F;
    const mean = new Float64Array(F), v = new Float64Array(F);
    for (let i = 0; i < zs.length; i++) mean[i % F]! += zs[i]! / cnt;
    for (let i = 0; i < zs.length; i++) v[i % F]! += (zs[i]! - mean[i % F]!) ** 2 / cnt;
    const g = seg.norm!.offset;
    const out = Float32Array.from(zs, (z, i) => {
      const c = i % F;
      return act(params[g + c]! * (z - mean[c]!) / Math.sqrt(v[c]! + EPS) + params[seg.biasOffset + c]!);
    });
    return { mean, v, out };
  }

  for (const chunks of ['default', 'one-image'] as const) test(`each layer's running mean and variance become those of its z over the images, through the earlier layers' new ones (${chunks} inference chunks)`, async () => {
    const params = await trained(1);
    const before = params.slice();
    // one-image chunks: 150 chunks, more than the 64 whose sums are held at once
    const probe = new NativeNetwork(desc, params.slice(), null, 1);
    const bytesPerRow = probe.inference.bytesPerRow;
    probe.dispose();
    const net = new NativeNetwork(desc, params, null, 2, chunks === 'one-image' ? { inferenceScratchBytes: bytesPerRow } : {});
    if (chunks === 'one-image') assert.equal(net.inference.rows, 1);
    await net.batchNormStatistics(imgs);
    net.dispose();
    const x = Float32Array.from(imgs, (b) => Math.fround(b * Math.fround(1 / 255)));
    const l1 = naiveLayer(before, c1, { H: 8, W: 8, C: 1, F: 3, K: 3 }, x, (v) => Math.max(0, v));
    const l2 = naiveLayer(before, c2, { H: 6, W: 6, C: 3, F: 4, K: 2 }, l1.out, Math.tanh);
    for (const [seg, want] of [[c1, l1], [c2, l2]] as const) {
      const F = seg.biasLength, g = seg.norm!.offset;
      for (let c = 0; c < F; c++) {
        assert.ok(Math.abs(params[g + F + c]! - want.mean[c]!) <= 1e-5 * (1 + Math.abs(want.mean[c]!)), `mean ${c}: ${params[g + F + c]} vs ${want.mean[c]}`);
        assert.ok(Math.abs(params[g + 2 * F + c]! - want.v[c]!) <= 1e-5 * (1 + want.v[c]!), `variance ${c}: ${params[g + 2 * F + c]} vs ${want.v[c]}`);
        assert.notEqual(params[g + F + c], before[g + F + c], 'the running mean was replaced');
      }
    }
    // nothing but the running statistics moved
    const stats = (i: number) => [c1, c2].some((s) => i >= s.norm!.offset + s.biasLength && i < s.norm!.offset + 3 * s.biasLength);
    params.forEach((p, i) => { if (!stats(i)) assert.equal(p, before[i], `param ${i}`); });
  });

  test('the same figures bit for bit on one thread and on two; no images is a RangeError', async () => {
    const base = await trained(1);
    const runs = await Promise.all([1, 2].map(async (threads) => {
      const params = base.slice();
      const net = new NativeNetwork(desc, params, null, threads);
      await net.batchNormStatistics(imgs);
      net.dispose();
      return params;
    }));
    assert.deepEqual(runs[0], runs[1]);
    const net = new NativeNetwork(desc, base.slice(), null, 1);
    await assert.rejects(net.batchNormStatistics(new Uint8Array(0)), RangeError);
    await assert.rejects(net.batchNormStatistics(new Uint8Array(65)), /positive multiple of the input size 64/);
    net.dispose();
  });
});
