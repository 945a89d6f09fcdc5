// The tfjs backend against the native addon: same spec, same initial weights, same mini-batch ->
// same outputs, cost and gradients, on small networks of every layer kind, activation, pool mode,
// cost and regularizer, and the same weights after a few training steps (momentum, dropout).
// Runs TfjsNetwork in this thread on wasm (NNDL_TFJS_BACKEND=cpu to check cpu).
// Tolerance: float32 on both sides, different summation orders: |Δ| ≤ 2e-4 + 2e-3·|value|
// (outputs, cost), gradients scaled by the largest gradient of their layer (|Δ| ≤ 1e-3·max|g|+1e-6).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openNetwork } from '../../src/engine/backend.ts';
import { initParams } from '../../src/engine/init.ts';
import { planNetwork, type NetworkPlan } from '../../src/engine/network-plan.ts';
import { Rng } from '../../src/engine/rng.ts';
import type { LayerSpec, NetworkSpec } from '../../src/engine/spec.ts';
import { loadTf } from '../../src/engine/tfjs/tfjs-loader.ts';
import { TfjsNetwork } from '../../src/engine/tfjs/tfjs-network.ts';

function batch(n: number, seed: number) {
  const rng = Rng.fromSeed(seed);
  const input = new Float32Array(n * 784).map(() => (rng.nextFloat() < 0.6 ? 0 : rng.nextFloat()));
  const labels = new Uint8Array(n).map(() => rng.nextBelow(10));
  return { input, labels };
}

function closeAll(what: string, got: Float32Array, want: Float32Array, abs = 2e-4, rel = 2e-3) {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i]! - want[i]!);
    assert.ok(d <= abs + rel * Math.abs(want[i]!), `${what}[${i}]: tfjs ${got[i]} native ${want[i]}`);
  }
}

function closeGrad(what: string, plan: NetworkPlan, got: Float32Array, want: Float32Array) {
  for (const s of plan.segments) {
    for (const [off, len] of [[s.weightOffset, s.weightLength], [s.biasOffset, s.biasLength]] as const) {
      let max = 0;
      for (let i = off; i < off + len; i++) max = Math.max(max, Math.abs(want[i]!));
      for (let i = off; i < off + len; i++) {
        const d = Math.abs(got[i]! - want[i]!);
        assert.ok(d <= 1e-3 * max + 1e-6, `${what} layer ${s.layer} grad[${i - off}]: tfjs ${got[i]} native ${want[i]} (max ${max})`);
      }
    }
  }
}

const dense = (units: number, activation: 'sigmoid' | 'tanh' | 'relu' | 'linear' | 'softmax', dropout?: number): LayerSpec =>
  ({ type: 'dense', units, activation, ...(dropout ? { dropout } : {}) });

const CASES: { name: string; network: NetworkSpec; l2?: number; l1?: number; dropoutSeed?: number }[] = [
  { name: 'sigmoid quadratic', network: { layers: [dense(12, 'sigmoid'), dense(10, 'sigmoid')], cost: 'quadratic', init: 'large' } },
  { name: 'tanh cross-entropy L2', network: { layers: [dense(12, 'tanh'), dense(10, 'sigmoid')], cost: 'cross-entropy', init: 'default' }, l2: 0.01 },
  { name: 'relu softmax log-likelihood L1', network: { layers: [dense(12, 'relu'), dense(10, 'softmax')], cost: 'log-likelihood', init: 'default' }, l1: 0.01 },
  { name: 'linear softmax cross-entropy', network: { layers: [dense(8, 'linear'), dense(10, 'softmax')], cost: 'cross-entropy', init: 'default' } },
  { name: 'softmax quadratic', network: { layers: [dense(9, 'sigmoid'), dense(10, 'softmax')], cost: 'quadratic', init: 'large' } },
  { name: 'dropout', network: { layers: [dense(16, 'relu'), dense(10, 'softmax', 0.5)], cost: 'log-likelihood', init: 'default' }, dropoutSeed: 99 },
  ...(['max', 'l2', 'avg'] as const).map((kind) => ({
    name: `conv + ${kind} pool`,
    network: {
      layers: [{ type: 'conv', filters: 3, kernel: 5, activation: 'tanh' }, { type: 'pool', kind }, dense(6, 'sigmoid'), dense(10, 'softmax')],
      cost: 'log-likelihood', init: 'default',
    } as NetworkSpec,
    l2: 0.001,
  })),
  {
    name: 'two conv-pool relu',
    network: {
      layers: [{ type: 'conv', filters: 2, kernel: 5, activation: 'relu' }, { type: 'pool', kind: 'max' },
        { type: 'conv', filters: 3, kernel: 3, activation: 'sigmoid' }, { type: 'pool', kind: 'avg' }, dense(10, 'sigmoid')],
      cost: 'cross-entropy', init: 'default',
    },
  },
];

for (const c of CASES) {
  test(`tfjs matches native: ${c.name} (outputs, cost, gradient)`, async () => {
    const { tf } = await loadTf();
    const plan = planNetwork(c.network);
    const params = initParams(plan, c.network.init, Rng.fromSeed(7));
    // softmax outputs start at zero under 'default': perturb so the gradient check sees every path
    for (let i = 0; i < params.length; i++) if (params[i] === 0) params[i] = 0.01 * ((i % 7) - 3.5);
    const native = openNetwork(plan.desc, params.slice(), null, 1);
    const tfn = new TfjsNetwork(tf, plan.desc, params.slice(), null);
    try {
      const { input, labels } = batch(6, 5);
      closeAll('outputs', tfn.forward(input), native.forward(input));
      const opts = { l2: c.l2, l1: c.l1, dropoutSeed: c.dropoutSeed };
      const g = native.gradient(input, labels, opts);
      const t = tfn.gradient(input, labels, opts);
      assert.ok(Math.abs(t.cost - g.cost) <= 2e-4 + 2e-3 * Math.abs(g.cost), `cost: tfjs ${t.cost} native ${g.cost}`);
      closeGrad(c.name, plan, t.grad, g.grad);
    } finally {
      tfn.dispose();
    }
  });
}

test('tfjs matches native: a few training steps with momentum, L2 and dropout give the same weights', async () => {
  const { tf } = await loadTf();
  const network: NetworkSpec = {
    layers: [{ type: 'conv', filters: 2, kernel: 5, activation: 'relu' }, { type: 'pool', kind: 'max' }, dense(20, 'relu'), dense(10, 'softmax', 0.3)],
    cost: 'log-likelihood', init: 'default',
  };
  const plan = planNetwork(network);
  const p0 = initParams(plan, 'default', Rng.fromSeed(3));
  const n = 40;
  const rng = Rng.fromSeed(8);
  const images = new Uint8Array(n * 784).map(() => (rng.nextFloat() < 0.7 ? 0 : rng.nextBelow(256)));
  const labels = new Uint8Array(n).map(() => rng.nextBelow(10));
  const order = Rng.fromSeed(4).permutation(n);
  const job = { images, labels, order, batchSize: 8, startBatch: 0, eta: 0.1, momentum: 0.5, l2: 0.002, l1: 0, dropoutSeed: 17 };
  const pn = p0.slice(), vn = new Float32Array(p0.length);
  const pt = p0.slice(), vt = new Float32Array(p0.length);
  const native = openNetwork(plan.desc, pn, vn, 1);
  const tfn = new TfjsNetwork(tf, plan.desc, pt, vt);
  const rn = await native.trainEpoch(job);
  const rt = tfn.trainEpoch(job);
  tfn.getParams(pt, vt);
  tfn.dispose();
  assert.equal(rt.batchesDone, rn.batchesDone);
  assert.equal(rt.examples, rn.examples);
  assert.equal(rt.correct, rn.correct);
  assert.ok(Math.abs(rt.costSum - rn.costSum) <= 1e-3 * Math.abs(rn.costSum), `costSum ${rt.costSum} vs ${rn.costSum}`);
  for (let i = 0; i < rn.gradNormSum.length; i++) {
    assert.ok(Math.abs(rt.gradNormSum[i]! - rn.gradNormSum[i]!) <= 1e-3 * rn.gradNormSum[i]! + 1e-6, `gradNorm ${i}`);
  }
  closeAll('params after 5 steps', pt, pn, 1e-4, 1e-3);
  closeAll('velocity after 5 steps', vt, vn, 1e-4, 1e-3);
});

test('tfjs network: no tensors leak across train/evaluate/forward/gradient, none left after dispose', async () => {
  const { tf } = await loadTf();
  const plan = planNetwork({
    layers: [{ type: 'conv', filters: 2, kernel: 5, activation: 'relu' }, { type: 'pool', kind: 'l2' }, dense(10, 'relu', 0.5), dense(10, 'softmax')],
    cost: 'log-likelihood', init: 'default',
  });
  const start = tf.memory().numTensors;
  const net = new TfjsNetwork(tf, plan.desc, new Float32Array(plan.paramCount).map((_, i) => Math.sin(i) * 0.1), null);
  const images = new Uint8Array(30 * 784).map((_, i) => i % 255), labels = new Uint8Array(30).map((_, i) => i % 10);
  const job = { images, labels, order: Uint32Array.from({ length: 30 }, (_, i) => i), batchSize: 10, startBatch: 0, eta: 0.1, momentum: 0.5, l2: 0.01, l1: 0.01, dropoutSeed: 3 };
  const round = () => {
    net.trainEpoch(job);
    net.evaluate(images, labels);
    net.forward(new Float32Array(784));
    net.gradient(new Float32Array(784), new Uint8Array([1]), { l2: 0.1, l1: 0.1 });
  };
  round();
  const held = tf.memory().numTensors;
  round();
  round();
  assert.equal(tf.memory().numTensors, held);
  net.dispose();
  assert.equal(tf.memory().numTensors, start);
});
