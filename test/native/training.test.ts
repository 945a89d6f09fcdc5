// Semantics of trainEpoch: the SGD/momentum step by hand, dropout masks and scaling, determinism
// across runs and thread counts, cancel at a batch boundary and resume.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { NativeNetwork } from '../../src/engine/native.ts';
import type { NetworkDesc } from '../../src/engine/network-plan.ts';
import { initParams, inputSize, maxAbs, maxAbsDiff, rng } from './helpers.ts';

const small: NetworkDesc = {
  inputShape: [5, 5, 1],
  layers: [
    { kind: 'dense', outSize: 6, activation: 'sigmoid' },
    { kind: 'dense', outSize: 3, activation: 'softmax' },
  ],
  cost: 'log-likelihood',
};

function byteImages(n: number, size: number, seed: number): Uint8Array {
  const r = rng(seed);
  return new Uint8Array(n * size).map(() => Math.floor(r() * 256));
}
// The addon converts bytes with x·(1/255) in float32.
const toFloat = (u8: Uint8Array) => Float32Array.from(u8, (v) => Math.fround(v * Math.fround(1 / 255)));

describe('the update', () => {
  test('momentum 0 is the book\'s step: w <- (1 − ηλ/n)w − (η/m)Σ∇, biases without decay', async () => {
    const m = 4, eta = 0.7, l2 = 0.05;
    const images = byteImages(m, 25, 1), labels = new Uint8Array([0, 1, 2, 1]);
    const params = initParams(small, 2);
    const start = params.slice();
    const { grad } = new NativeNetwork(small, start.slice(), null, 1).gradient(toFloat(images), labels); // mean, no reg
    const net = new NativeNetwork(small, params, null, 1);
    await net.trainEpoch({ images, labels, order: new Uint32Array([0, 1, 2, 3]), batchSize: m, eta, l2 });
    const nW1 = 6 * 25, b1 = nW1, W2 = b1 + 6, b2 = W2 + 18;
    for (let i = 0; i < params.length; i++) {
      const isWeight = i < b1 || (i >= W2 && i < b2);
      const expected = (isWeight ? 1 - eta * l2 : 1) * start[i]! - eta * grad[i]!;
      assert.ok(Math.abs(params[i]! - expected) <= 1e-6 * (1 + Math.abs(expected)), `param ${i}: ${params[i]} vs ${expected}`);
    }
  });

  // Two big layers in a row, so one of them also passes dx down (one thread: dx with the old W and the
  // step in one sweep over W); batch 10 as ch6-dropout's, with dropout on both inputs.
  for (const threads of [1, 2]) {
    test(`big dense layers with dx below them, stepped straight from dz and x (plain SGD, ${threads} thread(s))`, async () => {
      const big: NetworkDesc = { inputShape: [28, 28, 1], cost: 'log-likelihood', layers: [
        { kind: 'dense', outSize: 600, activation: 'relu', dropout: 0.2 },
        { kind: 'dense', outSize: 440, activation: 'relu', dropout: 0.5 },
        { kind: 'dense', outSize: 10, activation: 'softmax' }] };
      const m = 10, eta = 0.3, l2 = 0.01, seed = 9;
      const images = byteImages(m, 784, 11), labels = new Uint8Array(m).map((_, i) => (i * 3) % 10);
      const params = initParams(big, 7);
      const start = params.slice();
      const { grad } = new NativeNetwork(big, start.slice(), null, 1).gradient(toFloat(images), labels, { dropoutSeed: seed });
      const net = new NativeNetwork(big, params, null, threads);
      assert.equal(net.trainThreads(m), threads);
      await net.trainEpoch({ images, labels, order: new Uint32Array(m).map((_, i) => i), batchSize: m, eta, l2, dropoutSeed: seed });
      const W1 = 784 * 600, b1 = W1, W2 = b1 + 600, b2 = W2 + 600 * 440, W3 = b2 + 440; // W1, W2 past 2^18 floats
      let moved = 0;
      for (let i = 0; i < params.length; i++) {
        const isWeight = i < b1 || (i >= W2 && i < b2) || (i >= W3 && i < W3 + 4400);
        const expected = (isWeight ? 1 - eta * l2 : 1) * start[i]! - eta * grad[i]!;
        assert.ok(Math.abs(params[i]! - expected) <= 1e-6 * (1 + Math.abs(expected)), `param ${i}: ${params[i]} vs ${expected}`);
        if (i >= W2 && i < b2 && grad[i] !== 0) moved++;
      }
      assert.ok(moved > 1000, 'the second layer (the one with dx below it) got a gradient');
    });
  }

  for (const threads of [1, 2]) {
    test(`the same step for big dense layers stepped straight from dz and x (plain SGD, ${threads} thread(s))`, async () => {
      const big: NetworkDesc = { inputShape: [28, 28, 1], cost: 'cross-entropy', layers: [
        { kind: 'dense', outSize: 400, activation: 'sigmoid', dropout: 0.2 }, { kind: 'dense', outSize: 10, activation: 'sigmoid' }] };
      const m = 12, eta = 0.5, l2 = 0.02, seed = 5;
      const images = byteImages(m, 784, 8), labels = new Uint8Array(m).map((_, i) => (i * 7) % 10);
      const params = initParams(big, 3);
      const start = params.slice();
      const { grad } = new NativeNetwork(big, start.slice(), null, 1).gradient(toFloat(images), labels, { dropoutSeed: seed });
      const net = new NativeNetwork(big, params, null, threads);
      assert.equal(net.trainThreads(m), threads);
      const r = await net.trainEpoch({ images, labels, order: new Uint32Array(m).map((_, i) => i), batchSize: m, eta, l2, dropoutSeed: seed });
      const W1 = 784 * 400, W2 = W1 + 400; // W1 is past the fusion threshold (2^18 floats)
      for (let i = 0; i < params.length; i++) {
        const isWeight = i < W1 || (i >= W2 && i < W2 + 4000);
        const expected = (isWeight ? 1 - eta * l2 : 1) * start[i]! - eta * grad[i]!;
        assert.ok(Math.abs(params[i]! - expected) <= 1e-6 * (1 + Math.abs(expected)), `param ${i}: ${params[i]} vs ${expected}`);
      }
      let sq = 0;
      for (let i = 0; i < W1; i++) sq += grad[i]! ** 2;
      assert.ok(Math.abs(r.gradNormSum[0]! - Math.sqrt(sq)) <= 1e-4 * Math.sqrt(sq), `norm ${r.gradNormSum[0]} vs ${Math.sqrt(sq)}`);
    });
  }

  test('momentum: two steps by hand (v = μv − η∇C, w += v), regulariser included in ∇C', async () => {
    const m = 4, eta = 0.5, mu = 0.9, l2 = 0.01, l1 = 0.002;
    const images = byteImages(m, 25, 3), labels = new Uint8Array([2, 0, 1, 1]);
    const x = toFloat(images);
    const params = initParams(small, 4);
    const w = Float64Array.from(params);
    const v = new Float64Array(params.length);
    const probe = new Float32Array(params.length);
    const probeNet = new NativeNetwork(small, probe, null, 1);
    for (let step = 0; step < 2; step++) {
      probe.set(w);
      const { grad } = probeNet.gradient(x, labels, { l2, l1 }); // mean gradient incl. regulariser
      for (let i = 0; i < w.length; i++) {
        v[i] = mu * v[i]! - eta * grad[i]!;
        w[i]! += v[i]!;
      }
    }
    const velocity = new Float32Array(params.length);
    const net = new NativeNetwork(small, params, velocity, 1);
    // Two mini-batches over the same four examples.
    const r = await net.trainEpoch({ images, labels, order: new Uint32Array([0, 1, 2, 3, 0, 1, 2, 3]), batchSize: m, eta, momentum: mu, l2, l1 });
    assert.equal(r.batchesDone, 2);
    for (let i = 0; i < w.length; i++) {
      assert.ok(Math.abs(params[i]! - w[i]!) <= 2e-5 * (1 + Math.abs(w[i]!)), `w[${i}]: ${params[i]} vs ${w[i]}`);
      assert.ok(Math.abs(velocity[i]! - v[i]!) <= 2e-5 * (1 + Math.abs(v[i]!)), `v[${i}]: ${velocity[i]} vs ${v[i]}`);
    }
  });

  test('result sums: examples, cost measured before each update, per-layer gradient norms', async () => {
    const images = byteImages(10, 25, 5), labels = new Uint8Array(10).map((_, i) => i % 3);
    const params = initParams(small, 6);
    const probe = new NativeNetwork(small, params.slice(), null, 1);
    const first = probe.gradient(toFloat(images.subarray(0, 4 * 25)), labels.subarray(0, 4));
    const net = new NativeNetwork(small, params, null, 1);
    const r = await net.trainEpoch({ images, labels, order: new Uint32Array(10).map((_, i) => i), batchSize: 4, eta: 0.1 });
    assert.equal(r.batchesDone, 3); // 4 + 4 + 2 (a last partial batch)
    assert.equal(r.examples, 10);
    assert.equal(r.gradNormSum.length, 2);
    assert.ok(r.costSum > 0 && r.correct >= 0 && r.correct <= 10);
    // the first batch's weight-gradient norm is part of the sum
    let sq = 0;
    for (let i = 0; i < 150; i++) sq += first.grad[i]! ** 2;
    assert.ok(r.gradNormSum[0]! > Math.sqrt(sq) * 0.99);
  });
});

describe('dropout', () => {
  // One linear output unit with W = 1 reads the dropped-out input back through the gradient:
  // dC/dW[0][i] = (a − y)·x'_i and dC/db[0] = a − y, so x'_i = dW[0][i] / db[0].
  const K = 4000;
  const probeDesc = (p: number): NetworkDesc => ({
    inputShape: [1, 1, K],
    layers: [{ kind: 'dense', outSize: 2, activation: 'linear', dropout: p }],
    cost: 'quadratic',
  });
  function droppedInput(p: number, seed: number | undefined, x: Float32Array): Float32Array {
    const params = new Float32Array(2 * K + 2);
    params.fill(1e-3, 0, K);
    const net = new NativeNetwork(probeDesc(p), params, null, 1);
    const { grad } = net.gradient(x, new Uint8Array([1]), seed === undefined ? {} : { dropoutSeed: seed });
    const db = grad[2 * K]!;
    return Float32Array.from({ length: K }, (_, i) => grad[i]! / db);
  }
  const x = Float32Array.from({ length: K }, (_, i) => 0.25 + (i % 7) / 10);

  test('kept units are scaled by 1/(1−p), the kept fraction is about 1−p', () => {
    for (const p of [0.5, 0.2]) {
      const xd = droppedInput(p, 7, x);
      let kept = 0;
      for (let i = 0; i < K; i++) {
        if (xd[i] === 0) continue;
        kept++;
        assert.ok(Math.abs(xd[i]! - x[i]! / (1 - p)) <= 1e-4 * x[i]!, `unit ${i}: ${xd[i]} vs ${x[i]! / (1 - p)}`);
      }
      assert.ok(Math.abs(kept / K - (1 - p)) < 0.04, `kept fraction ${kept / K} for p=${p}`);
    }
  });

  test('masks are deterministic per seed and differ between seeds; no seed means no dropout', () => {
    assert.deepEqual(droppedInput(0.5, 11, x), droppedInput(0.5, 11, x));
    assert.ok(maxAbsDiff(droppedInput(0.5, 11, x), droppedInput(0.5, 12, x)) > 0.1);
    assert.ok(maxAbsDiff(droppedInput(0.5, undefined, x), x) < 1e-4);
  });

  test('p = 0 is the identity', () => {
    assert.ok(maxAbsDiff(droppedInput(0, 11, x), x) < 1e-4);
  });

  test('inference ignores dropout: forward/predict equal the same weights without dropout', async () => {
    const withDrop: NetworkDesc = { ...small, layers: [{ kind: 'dense', outSize: 6, activation: 'sigmoid', dropout: 0.5 }, { kind: 'dense', outSize: 3, activation: 'softmax', dropout: 0.5 }] };
    const params = initParams(small, 9);
    const input = toFloat(byteImages(300, 25, 10));
    const a = new NativeNetwork(withDrop, params, null, 2), b = new NativeNetwork(small, params, null, 2);
    assert.deepEqual(a.forward(input), b.forward(input));
    assert.deepEqual(await a.predict(input), b.forward(input));
    assert.ok(a.scratchBytes > 0 && a.scratchBytes < 10_000_000, `scratch ${a.scratchBytes}`);
  });
});

// Big enough (about 2 MFLOP per example) that trainEpoch really splits a batch of 10 across threads.
const conv: NetworkDesc = {
  inputShape: [28, 28, 1],
  layers: [
    { kind: 'conv', filters: 12, kernel: 5, activation: 'relu' },
    { kind: 'pool', mode: 'max' },
    { kind: 'dense', outSize: 160, activation: 'relu', dropout: 0.5 },
    { kind: 'dense', outSize: 10, activation: 'softmax', dropout: 0.2 },
  ],
  cost: 'log-likelihood',
};

// plain: SGD without momentum, so the big dense layer (1728×160) is stepped straight from dz and x.
async function run(threads: number, batches: number, opts: { startBatch?: number; params?: Float32Array; velocity?: Float32Array; cancelAt?: number; plain?: boolean } = {}) {
  const n = 400;
  const images = byteImages(n, 784, 21), labels = new Uint8Array(n).map((_, i) => (i * 7) % 10);
  const order = new Uint32Array(batches * 10).map((_, i) => (i * 37) % n);
  const params = opts.params ?? initParams(conv, 22);
  const velocity = opts.velocity ?? new Float32Array(params.length);
  const net = new NativeNetwork(conv, params, opts.plain ? null : velocity, threads);
  assert.equal(net.trainThreads(10), threads);
  const cancel = new Int32Array(new SharedArrayBuffer(4));
  const progress = new Int32Array(new SharedArrayBuffer(4));
  const job = net.trainEpoch({ images, labels, order, batchSize: 10, startBatch: opts.startBatch ?? 0, eta: 0.05, momentum: opts.plain ? 0 : 0.5, l2: 1e-4, dropoutSeed: 77, cancel, progress });
  if (opts.cancelAt !== undefined) {
    while (Atomics.load(progress, 0) < opts.cancelAt) await new Promise((r) => setImmediate(r));
    Atomics.store(cancel, 0, 1);
  }
  const result = await job;
  assert.equal(Atomics.load(progress, 0), result.batchesDone);
  return { params, velocity, result };
}

describe('determinism', () => {
  for (const plain of [false, true]) {
    const what = plain ? 'plain SGD' : 'momentum';
    test(`same seed and thread count give bit-identical weights (${what})`, async () => {
      for (const threads of [1, 2, 3]) {
        const a = await run(threads, 20, { plain }), b = await run(threads, 20, { plain });
        assert.deepEqual(Buffer.from(a.params.buffer), Buffer.from(b.params.buffer));
        assert.deepEqual(Buffer.from(a.velocity.buffer), Buffer.from(b.velocity.buffer));
      }
    });

    test(`1, 2 and 3 threads agree within float tolerance; dropout masks do not depend on threads (${what})`, async () => {
      const a = await run(1, 20, { plain });
      const moved = maxAbsDiff(a.params, initParams(conv, 22));
      assert.ok(moved > 1e-3);
      for (const threads of [2, 3]) {
        const b = await run(threads, 20, { plain });
        assert.ok(maxAbsDiff(a.params, b.params) <= 1e-4 * Math.max(1, maxAbs(a.params)), `diff ${maxAbsDiff(a.params, b.params)}`);
      }
    });
  }
});

test('a batch too small to be worth splitting trains on one thread (small MLPs)', () => {
  const net = new NativeNetwork(small, initParams(small, 1), null, 2);
  assert.equal(net.trainThreads(10), 1);
  assert.equal(net.threads, 2);
});

describe('cancel and resume', () => {
  test('a cancel flag already set trains nothing', async () => {
    const params = initParams(small, 1), before = params.slice();
    const net = new NativeNetwork(small, params, null, 1);
    const cancel = new Int32Array(new SharedArrayBuffer(4));
    cancel[0] = 1;
    const images = byteImages(20, 25, 1);
    const r = await net.trainEpoch({ images, labels: new Uint8Array(20), order: new Uint32Array(20), batchSize: 5, startBatch: 1, eta: 1, cancel });
    assert.deepEqual({ done: r.batchesDone, cancelled: r.cancelled, examples: r.examples }, { done: 1, cancelled: true, examples: 0 });
    assert.deepEqual(params, before);
  });

  test('cancel stops at a batch boundary; resuming from batchesDone gives the uninterrupted weights', async () => {
    for (const [threads, plain] of [[1, false], [2, false], [2, true]] as const) {
      const total = 40;
      const full = await run(threads, total, { plain });
      assert.equal(full.result.batchesDone, total);
      const cut = await run(threads, total, { cancelAt: 5, plain });
      assert.ok(cut.result.cancelled);
      assert.ok(cut.result.batchesDone >= 5 && cut.result.batchesDone < total, `stopped at ${cut.result.batchesDone}`);
      assert.equal(cut.result.examples, (cut.result.batchesDone) * 10);
      const rest = await run(threads, total, { startBatch: cut.result.batchesDone, params: cut.params, velocity: cut.velocity, plain });
      assert.equal(rest.result.batchesDone, total);
      assert.ok(!rest.result.cancelled);
      assert.deepEqual(Buffer.from(rest.params.buffer), Buffer.from(full.params.buffer));
    }
  });
});

test('a network learns MNIST-like separable data (sanity of the whole loop)', async () => {
  // two classes: bright top half vs bright bottom half
  const n = 200, size = inputSize(small);
  const images = new Uint8Array(n * size), labels = new Uint8Array(n);
  const r = rng(5);
  for (let i = 0; i < n; i++) {
    labels[i] = i % 2;
    for (let p = 0; p < size; p++) images[i * size + p] = ((p < 12) === (i % 2 === 0) ? 150 : 0) + Math.floor(r() * 100);
  }
  const net = new NativeNetwork(small, initParams(small, 3), null, 2);
  const order = new Uint32Array(n).map((_, i) => i);
  for (let e = 0; e < 5; e++) await net.trainEpoch({ images, labels, order, batchSize: 10, eta: 0.5 });
  const ev = await net.evaluate(images, labels);
  assert.ok(ev.correct / n > 0.95, `accuracy ${ev.correct / n}`);
  assert.equal(ev.confusion.length, 9);
  assert.equal(ev.confusion.reduce((a, b) => a + b, 0), n);
});
