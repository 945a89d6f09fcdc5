// Learning on real MNIST slices (MNIST_DIR): each network family beats a stated accuracy bound on
// held-out images within a few seconds. Also checks paramLayout against the addon's layout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { NativeNetwork } from '../../src/engine/native.ts';
import { paramLayout, type NetworkDesc } from '../../src/engine/network-plan.ts';
import { initParams } from './helpers.ts';

function idx(file: string): Uint8Array {
  const dir = process.env.MNIST_DIR ?? join(process.cwd(), '..', 'shared', 'mnist');
  const buf = gunzipSync(readFileSync(join(dir, file)));
  const header = 4 + 4 * buf[3]!;
  return new Uint8Array(buf.buffer, buf.byteOffset + header, buf.length - header);
}
const images = idx('train-images-idx3-ubyte.gz');
const labels = idx('train-labels-idx1-ubyte.gz');
const slice = (from: number, n: number) => ({ x: images.subarray(from * 784, (from + n) * 784), y: labels.subarray(from, from + n) });

async function trainAndScore(desc: NetworkDesc, n: number, epochs: number, eta: number, l2 = 0, threads = 2, scale = 1): Promise<number> {
  const train = slice(0, n), held = slice(50000, 2000);
  const net = new NativeNetwork(desc, initParams(desc, 42, scale, 1), null, threads);
  const order = new Uint32Array(n).map((_, i) => i);
  for (let e = 0; e < epochs; e++) {
    for (let i = n - 1; i > 0; i--) { const j = (i * 7919 + e * 104729) % (i + 1); [order[i], order[j]] = [order[j]!, order[i]!]; }
    await net.trainEpoch({ images: train.x, labels: train.y, order, batchSize: 10, eta, l2, dropoutSeed: e });
  }
  const r = await net.evaluate(held.x, held.y);
  return r.correct / 2000;
}

test('[784,30,10] sigmoid + quadratic (ch1) > 88% after 3 epochs on 10,000 images', async () => {
  const acc = await trainAndScore({ inputShape: [28, 28, 1], cost: 'quadratic', layers: [
    { kind: 'dense', outSize: 30, activation: 'sigmoid' }, { kind: 'dense', outSize: 10, activation: 'sigmoid' }] }, 10000, 3, 3.0, 0, 1);
  assert.ok(acc > 0.88, `accuracy ${acc}`);
});

test('[784,100,10] cross-entropy + L2 (ch3) > 90% after 3 epochs on 10,000 images', async () => {
  const acc = await trainAndScore({ inputShape: [28, 28, 1], cost: 'cross-entropy', layers: [
    { kind: 'dense', outSize: 100, activation: 'sigmoid' }, { kind: 'dense', outSize: 10, activation: 'sigmoid' }] }, 10000, 3, 0.5, 5 / 10000, 1);
  assert.ok(acc > 0.9, `accuracy ${acc}`);
});

test('conv + max pool + ReLU + softmax/log-likelihood > 90% after 2 epochs on 5,000 images', async () => {
  const desc: NetworkDesc = { inputShape: [28, 28, 1], cost: 'log-likelihood', layers: [
    { kind: 'conv', filters: 20, kernel: 5, activation: 'relu' }, { kind: 'pool', mode: 'max' },
    { kind: 'dense', outSize: 100, activation: 'relu', dropout: 0.2 }, { kind: 'dense', outSize: 10, activation: 'softmax' }] };
  const acc = await trainAndScore(desc, 5000, 2, 0.05, 0.1 / 5000, 2);
  assert.ok(acc > 0.9, `accuracy ${acc}`);
});

test('paramLayout matches the addon (count, order, shapes)', () => {
  const desc: NetworkDesc = { inputShape: [28, 28, 1], cost: 'log-likelihood', layers: [
    { kind: 'conv', filters: 20, kernel: 5, activation: 'relu' }, { kind: 'pool', mode: 'max' },
    { kind: 'conv', filters: 40, kernel: 5, activation: 'relu' }, { kind: 'pool', mode: 'l2' },
    { kind: 'dense', outSize: 100, activation: 'relu' }, { kind: 'dense', outSize: 10, activation: 'softmax' }] };
  const layout = paramLayout(desc);
  const net = new NativeNetwork(desc, new Float32Array(layout.paramCount), null, 1);
  assert.equal(net.paramCount, layout.paramCount);
  assert.deepEqual(layout.segments.map((l) => [l.layer, l.weightOffset, l.weightShape, l.biasOffset]), [
    [0, 0, [20, 5, 5, 1], 500],
    [2, 520, [40, 5, 5, 20], 520 + 20000],
    [4, 20560, [100, 640], 20560 + 64000],
    [5, 84660, [10, 100], 85660],
  ]);
  assert.equal(layout.paramCount, 85670);
  // a bias shows up where the layout says: with all weights zero, the output layer's gradient
  // is non-zero only in its bias block
  const params = new Float32Array(layout.paramCount);
  const { grad } = net.gradient(new Float32Array(784), new Uint8Array([3]));
  const last = layout.segments[3]!;
  for (let i = last.weightOffset; i < last.weightOffset + last.weightLength; i++) assert.equal(grad[i], 0);
  assert.ok(Math.abs(grad[last.biasOffset + 3]! + 0.9) < 1e-6); // softmax(0) − onehot = 0.1 − 1
  assert.equal(params.length, layout.paramCount);
});
