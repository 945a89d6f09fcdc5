// One vocabulary across the languages: the addon's tables (native/src/vocabulary.h) name exactly
// the costs, activations and pool modes of src/engine/spec.ts, in the same order, with the same log
// floor; and every cost/output-activation pair that spec allows gives the same per-example cost in
// the addon (network.gradient), in TypeScript (evaluation.exampleCost) and in TensorFlow.js
// (tfjs-ops exampleCosts), saturated outputs included (where the one floor decides the value).
// A cost added to one table and not another fails here (or does not compile: the switches are exhaustive).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exampleCost } from '../../src/engine/evaluation.ts';
import { NativeNetwork, nativeVocabulary } from '../../src/engine/native.ts';
import { planNetwork } from '../../src/engine/network-plan.ts';
import { Rng } from '../../src/engine/rng.ts';
import { COST_LOG_FLOOR, COST_OUTPUT_ACTIVATIONS, COSTS, OUTPUT_ACTIVATIONS, POOL_KINDS, type Activation, type Cost } from '../../src/engine/spec.ts';
import { loadTf } from '../../src/engine/tfjs/tfjs-loader.ts';
import { exampleCosts } from '../../src/engine/tfjs/tfjs-ops.ts';

test('the addon names the same costs, activations and pool modes as spec.ts, with the same log floor', () => {
  const v = nativeVocabulary();
  assert.deepEqual(v.costs, [...COSTS]);
  assert.deepEqual(v.activations, [...OUTPUT_ACTIVATIONS]);
  assert.deepEqual(v.poolModes, [...POOL_KINDS]);
  assert.equal(v.costLogFloor, COST_LOG_FLOOR);
  for (const cost of COSTS) assert.ok(COST_OUTPUT_ACTIVATIONS[cost].length > 0, `${cost} allows some output activation`);
});

const ROWS = 8;

/** A [784 -> 10] network with weights of the given scale, its outputs for ROWS random images, and the addon's mean cost. */
function outputsAndNativeCost(cost: Cost, activation: Activation, scale: number) {
  const plan = planNetwork({ layers: [{ type: 'dense', units: 10, activation }], cost, init: 'default' });
  const rng = Rng.fromSeed(7);
  const params = new Float32Array(plan.paramCount).map(() => (rng.nextFloat() - 0.5) * scale);
  const input = new Float32Array(ROWS * 784).map(() => rng.nextFloat());
  const labels = new Uint8Array(ROWS).map((_, i) => i % 10);
  const net = new NativeNetwork(plan.desc, params, null, 1);
  try {
    const outputs = net.forward(input);
    const nativeMean = net.gradient(input, labels).cost;
    // pre-activations, for tfjs (it computes the simplified pairs from z)
    const z = new NativeNetwork(planNetwork({ layers: [{ type: 'dense', units: 10, activation: 'linear' }], cost: 'quadratic', init: 'default' }).desc, params, null, 1);
    const zs = z.forward(input);
    z.dispose();
    return { outputs, zs, labels, nativeMean };
  } finally {
    net.dispose();
  }
}

for (const cost of COSTS) {
  for (const activation of COST_OUTPUT_ACTIVATIONS[cost]) {
    test(`${cost} on ${activation}: addon, TypeScript and tfjs give the same cost, saturated outputs included`, async () => {
      const { tf } = await loadTf();
      for (const scale of [0.05, 40]) {
        const { outputs, zs, labels, nativeMean } = outputsAndNativeCost(cost, activation, scale);
        let ts = 0;
        for (let r = 0; r < ROWS; r++) ts += exampleCost(cost, outputs, r * 10, labels[r]!);
        ts /= ROWS;
        assert.ok(Math.abs(ts - nativeMean) <= 1e-4 * Math.max(1, Math.abs(nativeMean)), `scale ${scale}: TypeScript ${ts} vs addon ${nativeMean}`);
        if (scale > 1) continue; // tfjs computes sigmoid+cross-entropy and softmax+log-likelihood from z, unclamped: exact where the others floor
        const y = tf.oneHot(tf.tensor1d(labels, 'int32'), 10).toFloat();
        const per = exampleCosts(tf, cost, activation, tf.tensor2d(zs, [ROWS, 10]), tf.tensor2d(outputs, [ROWS, 10]), y);
        const tfjs = (await per.mean().data())[0]!;
        assert.ok(Math.abs(tfjs - nativeMean) <= 1e-4 * Math.max(1, Math.abs(nativeMean)), `tfjs ${tfjs} vs addon ${nativeMean}`);
      }
    });
  }
}
