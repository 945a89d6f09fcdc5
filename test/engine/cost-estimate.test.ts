// The cost estimate is honest: its scratch figures equal what the addon really allocates
// (NativeNetwork.scratchBytes) when a few networks are trained, evaluated and asked to predict the
// way the trainer and the predictor do it. Tolerance: none on one thread (the addon allocates
// exactly these sizes); on two threads each thread holds at most the estimate (a whole mini-batch on
// one thread is the worst split). Also: parameters and multiply-adds against hand counts, and the
// figures of every preset within the default budgets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { listPresets, resolveExperiment, type Experiment } from '../../src/engine/index.ts';
import { estimateCost, INFER_CHUNK, INFER_COL_BYTES, networkScratch, threadScratchBytes } from '../../src/engine/cost-estimate.ts';
import { checkBudgets, DEFAULT_BUDGETS } from '../../src/engine/budget.ts';
import { NativeNetwork } from '../../src/engine/native.ts';
import { planNetwork } from '../../src/engine/network-plan.ts';

const convDropout = resolveExperiment({
  network: { layers: [
    { type: 'conv', filters: 6, kernel: 5, activation: 'relu' }, { type: 'pool', kind: 'max' },
    { type: 'conv', filters: 4, kernel: 3, activation: 'relu' }, { type: 'pool', kind: 'avg' },
    { type: 'dense', units: 40, activation: 'relu', dropout: 0.5 },
    { type: 'dense', units: 10, activation: 'softmax', dropout: 0.2 },
  ] },
  training: { miniBatchSize: 7 }, data: { trainSize: 60, validationSize: 30 },
});
const convBatchNorm = resolveExperiment({
  network: { layers: convDropout.network.layers.map((l) => (l.type === 'conv' ? { ...l, batchNorm: true } : l)) },
  training: { miniBatchSize: 7 }, data: { trainSize: 60, validationSize: 30 },
});
const mlp = resolveExperiment({ preset: 'ch1-mlp30', training: { miniBatchSize: 20 }, data: { trainSize: 100, validationSize: 200 } });
const ensemble = resolveExperiment({ ...convDropout, preset: undefined, ensemble: { size: 3 }, data: { trainSize: 60, validationSize: 0 } } as Experiment);

const bytes = (n: number, seed: number) => new Uint8Array(n * 784).map((_, i) => (i * seed) % 251);
const labels = (n: number) => new Uint8Array(n).map((_, i) => i % 10);

/** Runs a training network as the trainer does (an epoch, then validation); returns its scratch per thread. */
async function trainingScratch(e: Experiment, threads: number): Promise<number> {
  const plan = planNetwork(e.network);
  const params = new Float32Array(plan.paramCount).map((_, i) => Math.sin(i) * 0.05);
  const net = new NativeNetwork(plan.desc, params, null, threads);
  const n = e.data.trainSize;
  await net.trainEpoch({ images: bytes(n, 3), labels: labels(n), order: new Uint32Array(n).map((_, i) => i),
    batchSize: e.training.miniBatchSize, eta: 0.01, dropoutSeed: 1 });
  if (e.data.validationSize > 0) await net.evaluate(bytes(e.data.validationSize, 5), labels(e.data.validationSize));
  const held = net.scratchBytes;
  net.dispose();
  return held;
}

/** The test evaluation: every member's network predicting (ensembles) or evaluating chunks of the test set. */
async function testScratch(e: Experiment): Promise<number> {
  const plan = planNetwork(e.network);
  const members = e.ensemble?.size ?? 1;
  const nets = Array.from({ length: members }, () => new NativeNetwork(plan.desc, new Float32Array(plan.paramCount), null, 1));
  for (const net of nets) {
    if (members === 1) await net.evaluate(bytes(500, 7), labels(500));
    else await net.predict(new Float32Array(500 * 784).fill(0.5));
  }
  const held = nets.reduce((s, net) => s + net.scratchBytes, 0);
  for (const net of nets) net.dispose();
  return held;
}

for (const [name, e] of [['conv + dropout', convDropout], ['batch-norm conv', convBatchNorm], ['[784,30,10]', mlp], ['ensemble of 3', ensemble]] as const) {
  test(`${name}: the estimated training scratch per thread is what the addon holds`, async () => {
    const cost = estimateCost(e);
    const s = networkScratch(planNetwork(e.network).desc);
    // evaluation chunks: 64 examples, fewer when a conv layer's im2col would pass INFER_COL_BYTES
    const col = Math.max(0, ...planNetwork(e.network).desc.layers.map((l) => (l.kind === 'conv' ? 4 * l.outShape[0] * l.outShape[1] * l.kernel * l.kernel * l.inShape[2] : 0)));
    assert.equal(s.inferenceChunkRows, col ? Math.min(INFER_CHUNK, Math.floor(INFER_COL_BYTES / col)) : INFER_CHUNK);
    const train1 = await trainingScratch(e, 1);
    assert.equal(train1, threadScratchBytes(s, e.training.miniBatchSize, Math.min(s.inferenceChunkRows, e.data.validationSize)));
    const test1 = await testScratch(e);
    assert.equal(test1, (e.ensemble?.size ?? 1) * threadScratchBytes(s, 0, s.inferenceChunkRows));
    assert.equal(cost.trainingScratchBytesPerThread, Math.max(train1, test1), `estimate vs measured ${train1} / ${test1}`);
    const train2 = await trainingScratch(e, 2);
    assert.ok(train2 <= 2 * cost.trainingScratchBytesPerThread, `2 threads hold ${train2}, estimate ${cost.trainingScratchBytesPerThread} each`);
    // one image through the whole model
    const plan = planNetwork(e.network);
    const one = new NativeNetwork(plan.desc, new Float32Array(plan.paramCount), null, 2);
    one.forward(new Float32Array(784));
    assert.equal(one.scratchBytes * (e.ensemble?.size ?? 1), cost.inferenceScratchBytesPerImage);
    assert.equal(one.inference.bytesPerRow, s.inferenceBytesPerRow);
    one.dispose();
  });
}

test('parameters, multiply-adds and image-steps against hand counts', () => {
  const ch1 = estimateCost(listPresets().find((p) => p.name === 'ch1-mlp30')!.experiment);
  assert.equal(ch1.params, 784 * 30 + 30 + 30 * 10 + 10);
  assert.equal(ch1.macsPerImage, 784 * 30 + 30 * 10);
  assert.equal(ch1.imageSteps, 30 * 50_000);
  const ens = estimateCost(listPresets().find((p) => p.name === 'ch6-ensemble')!.experiment);
  // conv 20×5×5 on 28×28 → 24×24×20, pool, conv 40×5×5×20 → 8×8×40, pool, FC1000, FC1000, softmax 10
  assert.equal(ens.macsPerImage, 24 * 24 * 20 * 25 + 8 * 8 * 40 * 500 + 640 * 1000 + 1000 * 1000 + 1000 * 10);
  assert.equal(ens.params, 20 * 25 + 20 + 40 * 500 + 40 + 640 * 1000 + 1000 + 1000 * 1000 + 1000 + 1000 * 10 + 10);
  assert.equal(ens.imageSteps, 5 * 40 * 250_000);
  assert.equal(ens.members, 5);
  assert.equal(ens.weightsBytes, 5 * ens.params * 4);
});

test('every preset is within the default budgets', (t) => {
  for (const p of listPresets()) {
    const cost = estimateCost(p.experiment);
    assert.deepEqual(checkBudgets(cost, DEFAULT_BUDGETS), [], p.name);
    t.diagnostic(`${p.name}: ${JSON.stringify(cost)}`);
  }
});
