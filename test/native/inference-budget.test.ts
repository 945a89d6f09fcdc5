// The native inference budget (options.inferenceScratchBytes: chunk rows and threads follow from
// it; one example over it is a RangeError) and dispose() (scratch freed and threads joined at once,
// after any job in flight; every later call throws).
import { readFileSync, existsSync } from 'node:fs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NativeNetwork } from '../../src/engine/native.ts';
import type { NetworkDesc } from '../../src/engine/network-plan.ts';
import { initParams, maxAbsDiff, randomInput, randomLabels } from './helpers.ts';

const conv: NetworkDesc = {
  inputShape: [28, 28, 1],
  layers: [
    { kind: 'conv', filters: 8, kernel: 5, activation: 'relu' },   // 24×24×8, im2col 576×25
    { kind: 'pool', mode: 'max' },                                 // 12×12×8
    { kind: 'dense', outSize: 30, activation: 'relu', dropout: 0.5 },
    { kind: 'dense', outSize: 10, activation: 'softmax' },
  ],
  cost: 'log-likelihood',
};
// x0 + outputs + im2col, in floats
const ROW_BYTES = 4 * (784 + 24 * 24 * 8 + 12 * 12 * 8 + 30 + 10 + 576 * 25);
// at most 64 examples a chunk, fewer when a chunk's largest im2col matrix would pass 2 MiB
// (kInferColBytes in native/src/network.cc): here 2 MiB / (576 × 25 floats) = 36
const CHUNK_ROWS = Math.min(64, Math.floor((2 * 1024 * 1024) / (4 * 576 * 25)));

test('without a budget: chunks of at most 64 examples (fewer for a large im2col) on every thread', () => {
  const net = new NativeNetwork(conv, initParams(conv, 1), null, 2);
  assert.equal(CHUNK_ROWS, 36);
  assert.deepEqual(net.inference, { bytesPerRow: ROW_BYTES, rows: CHUNK_ROWS, threads: 2, maxBytes: 2 * CHUNK_ROWS * ROW_BYTES });
  net.dispose();
});

test('a budget sets the chunk rows and threads, and predictions stay the same', async () => {
  const params = initParams(conv, 2);
  const input = randomInput(300, 784, 3);
  const free = new NativeNetwork(conv, params, null, 2);
  const expected = await free.predict(input);
  for (const [budget, rows, threads] of [[10 * ROW_BYTES, 5, 2], [ROW_BYTES + 1, 1, 1], [3 * ROW_BYTES, 1, 2], [1e12, CHUNK_ROWS, 2]] as const) {
    const net = new NativeNetwork(conv, params, null, 2, { inferenceScratchBytes: budget });
    const plan = net.inference;
    assert.deepEqual({ rows: plan.rows, threads: plan.threads }, { rows, threads }, `budget ${budget}`);
    assert.ok(plan.maxBytes <= budget);
    const out = await net.predict(input);
    // chunks of other sizes may take other GEMM paths: float rounding only
    assert.ok(maxAbsDiff(out, expected) < 1e-5, `budget ${budget}`);
    assert.ok(maxAbsDiff(net.forward(input.subarray(0, 7 * 784)), expected.subarray(0, 70)) < 1e-5);
    const images = new Uint8Array(300 * 784).map((_, i) => (i * 7) % 256);
    const e = await net.evaluate(images, randomLabels(300, 10, 4));
    assert.equal(e.confusion.reduce((a, b) => a + b, 0), 300);
    assert.ok(net.scratchBytes <= plan.maxBytes, `${net.scratchBytes} held, at most ${plan.maxBytes}`);
    assert.equal(net.scratchBytes, plan.threads * plan.rows * ROW_BYTES, 'each thread holds one chunk');
    net.dispose();
  }
  free.dispose();
});

test('one prediction holds one example\'s scratch, not a chunk\'s', () => {
  const net = new NativeNetwork(conv, initParams(conv, 5), null, 2);
  net.forward(randomInput(1, 784, 6));
  assert.equal(net.scratchBytes, ROW_BYTES);
  net.dispose();
});

test('an example over the budget is a RangeError at construction', () => {
  assert.throws(() => new NativeNetwork(conv, initParams(conv, 1), null, 1, { inferenceScratchBytes: ROW_BYTES - 1 }),
    (e: unknown) => e instanceof RangeError && /one example needs \d+ bytes of inference scratch, more than the budget/.test(e.message));
  assert.throws(() => new NativeNetwork(conv, initParams(conv, 1), null, 1, { inferenceScratchBytes: -5 }), RangeError);
  assert.throws(() => new NativeNetwork(conv, initParams(conv, 1), null, 1, { inferenceScratchBytes: 1.5 }), RangeError);
});

test('dispose frees the scratch at once; every later call throws; it is idempotent', async () => {
  const net = new NativeNetwork(conv, initParams(conv, 1), null, 2);
  const images = new Uint8Array(40 * 784).fill(9), labels = randomLabels(40, 10, 1);
  await net.trainEpoch({ images, labels, order: new Uint32Array(40).map((_, i) => i), batchSize: 10, eta: 0.1 });
  assert.ok(net.scratchBytes > 0);
  net.dispose();
  assert.equal(net.disposed, true);
  assert.equal(net.scratchBytes, 0);
  assert.equal(net.paramCount > 0, true, 'paramCount still answers');
  const gone = /the network was disposed/;
  assert.throws(() => net.forward(new Float32Array(784)), gone);
  assert.throws(() => net.gradient(new Float32Array(784), new Uint8Array(1)), gone);
  assert.throws(() => net.trainThreads(10), gone);
  assert.throws(() => net.inference, gone);
  await assert.rejects(net.predict(new Float32Array(784)), gone);
  await assert.rejects(net.evaluate(images, labels), gone);
  await assert.rejects(net.trainEpoch({ images, labels, order: new Uint32Array([0]), batchSize: 1, eta: 0.1 }), gone);
  net.dispose();
});

test('dispose while a prediction runs: it completes, then the network is freed', async () => {
  const params = initParams(conv, 7);
  const input = randomInput(2000, 784, 8);
  const expected = new NativeNetwork(conv, params, null, 1).forward(input.subarray(0, 784 * 10));
  const net = new NativeNetwork(conv, params, null, 2);
  const pending = net.predict(input);
  net.dispose();
  const out = await pending;
  assert.equal(out.length, 20_000);
  assert.ok(maxAbsDiff(out.subarray(0, 100), expected) < 1e-5);
  await assert.rejects(net.predict(input), /disposed/);
});

const threadCount = () => Number(/^Threads:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]);

test('dispose joins the network\'s threads', { skip: !existsSync('/proc/self/status') && 'needs /proc' }, async () => {
  // warm the libuv pool first, so it does not grow during the count
  const warm = new NativeNetwork(conv, initParams(conv, 1), null, 1);
  await Promise.all(Array.from({ length: 8 }, () => warm.predict(new Float32Array(784))));
  warm.dispose();
  const before = threadCount();
  const net = new NativeNetwork(conv, initParams(conv, 1), null, 4);
  assert.equal(threadCount(), before + 3, 'three workers besides the calling thread');
  net.dispose();
  assert.equal(threadCount(), before);
});
