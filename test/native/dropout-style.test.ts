// network3.py's dropout style against inverted dropout. network3 drops a dense layer's inputs
// without scaling in training and multiplies W·x by (1−p) at inference; inverted dropout scales the
// kept inputs by 1/(1−p) and leaves inference alone. With W' = (1−p)·W the two compute the same
// functions, but an SGD step on W moves W' by (1−p)² times the inverted step: that is what the
// style changes, and what these tests pin down (plus finite differences for both paths).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NativeNetwork } from '../../src/engine/native.ts';
import { paramLayout, type NetworkDesc } from '../../src/engine/network-plan.ts';
import { checkGradient, initParams, randomInput, randomLabels, maxAbsDiff } from './helpers.ts';

const P = 0.4;
const desc = (style: 'inverted' | 'network3'): NetworkDesc => ({
  inputShape: [6, 6, 1],
  layers: [
    { kind: 'dense', outSize: 12, activation: 'relu' },
    { kind: 'dense', outSize: 9, activation: 'sigmoid', dropout: P, dropoutStyle: style },
    { kind: 'dense', outSize: 4, activation: 'softmax', dropout: P, dropoutStyle: style },
  ],
  cost: 'log-likelihood',
});

/** The inverted network's parameters equivalent to network3 parameters p: dropout-fed W × (1−p). */
function toInverted(p: Float32Array): Float32Array {
  const q = p.slice();
  const layout = paramLayout(desc('network3'));
  for (const l of layout.segments.slice(1)) {
    for (let i = 0; i < l.weightLength; i++) q[l.weightOffset + i] = Math.fround(p[l.weightOffset + i]! * (1 - P));
  }
  return q;
}

test('network3 style: finite differences with a dropout mask (training) and without (the (1−p) inference path)', () => {
  checkGradient(desc('network3'), 5, { dropoutSeed: 17, eps: 1e-3 });
  checkGradient(desc('network3'), 5, { eps: 1e-3 });
});

test('the same function: network3 with W equals inverted with (1−p)·W, at inference and under one mask', () => {
  const p3 = initParams(desc('network3'), 3);
  const n3 = new NativeNetwork(desc('network3'), p3, null, 1);
  const inv = new NativeNetwork(desc('inverted'), toInverted(p3), null, 1);
  const x = randomInput(8, 36, 4), y = randomLabels(8, 4, 5);
  assert.ok(maxAbsDiff(n3.forward(x), inv.forward(x)) < 1e-6);
  // training mode: the same masks (same seed) and the same cost
  const a = n3.gradient(x, y, { dropoutSeed: 9 }), b = inv.gradient(x, y, { dropoutSeed: 9 });
  assert.ok(Math.abs(a.cost - b.cost) < 1e-6, `${a.cost} vs ${b.cost}`);
  // and the styles differ: the same parameters give other outputs
  const other = new NativeNetwork(desc('inverted'), p3.slice(), null, 1);
  assert.ok(maxAbsDiff(n3.forward(x), other.forward(x)) > 1e-3);
  for (const n of [n3, inv, other]) n.dispose();
});

test('one SGD step: dropout-fed weights move (1−p)² as far in the inverted parametrisation; the rest alike', async () => {
  const p3 = initParams(desc('network3'), 7);
  const pInv = toInverted(p3);
  const before3 = p3.slice(), beforeInv = pInv.slice();
  const n3 = new NativeNetwork(desc('network3'), p3, null, 1);
  const inv = new NativeNetwork(desc('inverted'), pInv, null, 1);
  const images = new Uint8Array(10 * 36).map((_, i) => (i * 37) % 256);
  const labels = randomLabels(10, 4, 8);
  const job = { images, labels, order: Uint32Array.from({ length: 10 }, (_, i) => i), batchSize: 10, eta: 0.5, dropoutSeed: 11 };
  await n3.trainEpoch(job);
  await inv.trainEpoch(job);
  const layout = paramLayout(desc('network3'));
  for (const [k, l] of layout.segments.entries()) {
    const fed = k > 0; // layers 1 and 2 have dropout on their input
    for (let i = 0; i < l.weightLength; i++) {
      const j = l.weightOffset + i;
      const step3 = (p3[j]! - before3[j]!) * (fed ? 1 - P : 1); // in the inverted parametrisation
      const stepInv = pInv[j]! - beforeInv[j]!;
      const expected = stepInv * (fed ? (1 - P) ** 2 : 1);
      assert.ok(Math.abs(step3 - expected) <= 1e-6 + 1e-3 * Math.abs(expected), `layer ${k} W[${i}]: ${step3} vs ${expected}`);
    }
    for (let i = 0; i < l.biasLength; i++) {
      const j = l.biasOffset + i;
      const d3 = p3[j]! - before3[j]!, dInv = pInv[j]! - beforeInv[j]!;
      assert.ok(Math.abs(d3 - dInv) <= 1e-6 + 1e-3 * Math.abs(dInv), `layer ${k} b[${i}]: ${d3} vs ${dInv}`);
    }
  }
  assert.ok(maxAbsDiff(p3, before3) > 1e-3, 'the step moved the weights');
  n3.dispose();
  inv.dispose();
});

test('dropoutStyle must be inverted or network3', () => {
  const d = desc('network3');
  (d.layers[1] as { dropoutStyle: string }).dropoutStyle = 'gaussian';
  assert.throws(() => new NativeNetwork(d, initParams(desc('network3'), 1), null, 1), /dropoutStyle must be one of inverted, network3/);
});
