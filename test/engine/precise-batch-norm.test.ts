// training.preciseBatchNorm: after each epoch, the batch-norm layers' running statistics are
// re-estimated over the first N training images (NativeNetwork.batchNormStatistics). Training never
// reads them, so the weights are bit-identical to a run without; the kept statistics are exactly
// those of the final weights over those images. The spec refuses it where it means nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  loadMnist, planNetwork, resolveExperiment, splitData, train, SpecError, type Experiment, type TrainedModel,
} from '../../src/engine/index.ts';
import { NativeNetwork } from '../../src/engine/native.ts';
import { estimateCost } from '../../src/engine/cost-estimate.ts';

const base = {
  network: {
    layers: [
      { type: 'conv', filters: 6, kernel: 5, activation: 'relu', batchNorm: true },
      { type: 'pool', kind: 'max' },
      { type: 'conv', filters: 8, kernel: 3, activation: 'relu', batchNorm: true },
      { type: 'dense', units: 10, activation: 'softmax' },
    ],
  },
  training: { epochs: 2, miniBatchSize: 10, eta: 0.05, seed: 3, threads: 2, keep: 'final' },
  data: { trainSize: 1000, validationSize: 300, expand: false, augment: { rotation: 10, translate: 1 } },
} as const;
const N = 400;

async function run(e: Experiment): Promise<TrainedModel> {
  const r = await train(e, { data: splitData(await loadMnist(), e.data) });
  assert.equal(r.status, 'completed');
  return (r as { model: TrainedModel }).model;
}

test('the weights train exactly as without it; the running statistics are the final weights\' over the first N images', async () => {
  const plain = await run(resolveExperiment(base));
  const precise = await run(resolveExperiment({ ...base, training: { ...base.training, preciseBatchNorm: N } }));
  const plan = planNetwork(precise.experiment.network);
  const statIndex = new Set<number>();
  for (const s of plan.segments) if (s.norm) for (let i = s.norm.offset + s.biasLength; i < s.norm.offset + s.norm.length; i++) statIndex.add(i);
  assert.equal(statIndex.size, 2 * (6 + 8));
  const p = plain.members[0]!.params, q = precise.members[0]!.params;
  let differ = 0;
  p.forEach((v, i) => {
    if (statIndex.has(i)) differ += v !== q[i] ? 1 : 0;
    else assert.equal(q[i], v, `param ${i}`);
  });
  assert.ok(differ > 0, 'the statistics were re-estimated');
  // the same re-estimate, made by hand on the run without
  const mnist = await loadMnist();
  const byHand = p.slice();
  const net = new NativeNetwork(plan.desc, byHand, null, 1);
  await net.batchNormStatistics(mnist.train.images.subarray(0, N * 784));
  net.dispose();
  assert.deepEqual(q, byHand);
  // validation sees them: the accuracies are measured through the new statistics
  assert.equal(precise.members[0]!.history.length, 2);
  assert.ok(precise.members[0]!.history.every((h) => h.validationAccuracy! > 0.5));
});

test('spec: only with a batch-norm layer, at most trainSize images; its passes are in the cost estimate', () => {
  const refused = (input: unknown, re: RegExp) => assert.throws(() => resolveExperiment(input), (e: unknown) =>
    e instanceof SpecError && e.issues.some((i) => i.path === 'training.preciseBatchNorm' && re.test(i.message)));
  refused({ preset: 'ch1-mlp30', training: { preciseBatchNorm: 100 } }, /no batchNorm layer/);
  refused({ ...base, training: { ...base.training, preciseBatchNorm: 1001 } }, /at most data.trainSize \(1000\)/);
  refused({ ...base, training: { ...base.training, preciseBatchNorm: -1 } }, /preciseBatchNorm/);
  const without = estimateCost(resolveExperiment(base));
  const withIt = estimateCost(resolveExperiment({ ...base, training: { ...base.training, preciseBatchNorm: N } }));
  // passes up to conv 1, then up to conv 2 (conv 1 again): 2·conv1 + conv2 multiply-adds per image
  const conv1 = 24 * 24 * 6 * 25, conv2 = 10 * 10 * 8 * 9 * 6;
  assert.equal(withIt.trainingMacs - without.trainingMacs, 2 * N * (2 * conv1 + conv2));
});
