import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeCheckpoint, encodeCheckpoint, loadMnist, resolveExperiment, splitData, train,
  SIGNAL_CANCEL, SIGNAL_INTERRUPT, type Checkpoint, type Experiment, type TrainedModel, type TrainProgress,
} from '../../src/engine/index.ts';

// A small network that exercises everything a checkpoint must carry: momentum velocity, L2,
// dropout (masks from the per-epoch seed) and the shuffle of a partly trained epoch.
const experiment = resolveExperiment({
  network: {
    layers: [
      { type: 'dense', units: 40, activation: 'relu', dropout: 0.2 },
      { type: 'dense', units: 10, activation: 'softmax', dropout: 0.2 },
    ],
  },
  training: { epochs: 3, miniBatchSize: 10, eta: 0.05, lambda: 1, momentum: 0.5, seed: 21, threads: 2,
    schedule: { type: 'halve-on-plateau', patience: 1 } },
  data: { trainSize: 20000, validationSize: 500, expand: false },
});

async function data(e: Experiment = experiment) {
  return splitData(await loadMnist(), e.data);
}

const same = (a: Float32Array, b: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

async function uninterrupted(e: Experiment): Promise<TrainedModel> {
  const r = await train(e, { data: await data(e) });
  assert.equal(r.status, 'completed');
  return (r as { model: TrainedModel }).model;
}

/**
 * Trains, interrupting as soon as a progress poll (every millisecond) sees the addon inside the
 * epoch that `when` picks, then resumes from the encoded and decoded checkpoint.
 */
async function interruptedThenResumed(e: Experiment, when: (p: TrainProgress) => boolean) {
  const signal = new Int32Array(new SharedArrayBuffer(4));
  const first = await train(e, {
    data: await data(e), signal, progressIntervalMs: 1,
    onProgress: (p) => {
      if (p.batch > 0 && p.batch < p.batches && when(p)) Atomics.store(signal, 0, SIGNAL_INTERRUPT);
    },
  });
  assert.equal(first.status, 'interrupted');
  const ck: Checkpoint = decodeCheckpoint(encodeCheckpoint((first as { checkpoint: Checkpoint }).checkpoint));
  const second = await train(e, { data: await data(e), checkpoint: ck });
  assert.equal(second.status, 'completed');
  return { checkpoint: ck, model: (second as { model: TrainedModel }).model };
}

test('same seed and threads give bit-identical weights; another seed does not', async () => {
  const a = await uninterrupted(experiment);
  const b = await uninterrupted(experiment);
  assert.ok(same(a.members[0]!.params, b.members[0]!.params));
  assert.equal(a.testAccuracy, b.testAccuracy);
  const c = await uninterrupted({ ...experiment, training: { ...experiment.training, seed: 22 } });
  assert.ok(!same(a.members[0]!.params, c.members[0]!.params));
  const h = a.members[0]!.history;
  assert.equal(h.length, 3);
  for (const m of h) {
    assert.ok(m.trainingAccuracy > 0.3 && m.trainingAccuracy <= 1);
    assert.ok(m.validationAccuracy! > 0.5);
    assert.equal(m.gradientNorms.length, 2);
    assert.ok(m.gradientNorms.every((g) => g > 0 && Number.isFinite(g)));
    assert.ok(m.imagesPerSecond > 0 && m.seconds > 0);
  }
});

test('interrupt mid-epoch -> checkpoint -> resume gives the uninterrupted weights bit for bit', async (t) => {
  const whole = await uninterrupted(experiment);
  const { checkpoint, model } = await interruptedThenResumed(experiment, (p) => p.epoch === 2);
  assert.equal(checkpoint.epoch, 1, 'interrupted during the second epoch');
  assert.ok(checkpoint.batch > 0, 'inside the epoch');
  t.diagnostic(`interrupted at epoch ${checkpoint.epoch} batch ${checkpoint.batch}`);
  assert.ok(checkpoint.velocity, 'momentum velocity is in the checkpoint');
  assert.ok(same(model.members[0]!.params, whole.members[0]!.params), `resumed from batch ${checkpoint.batch} differs`);
  // Same metrics; the training cost sum of the cut epoch is added in two parts (≤ 1e-12 relative).
  assert.deepEqual(model.members[0]!.history.map((m) => [m.trainingAccuracy, m.validationAccuracy, m.validationCost, m.eta]),
    whole.members[0]!.history.map((m) => [m.trainingAccuracy, m.validationAccuracy, m.validationCost, m.eta]));
  model.members[0]!.history.forEach((m, i) => {
    const w = whole.members[0]!.history[i]!.trainingCost;
    assert.ok(Math.abs(m.trainingCost - w) <= 1e-12 * w, `training cost ${m.trainingCost} vs ${w}`);
  });
  assert.equal(model.testAccuracy, whole.testAccuracy);
});

test('cancel stops at a mini-batch boundary with status cancelled', async () => {
  const signal = new Int32Array(new SharedArrayBuffer(4));
  setTimeout(() => Atomics.store(signal, 0, SIGNAL_CANCEL), 20);
  const r = await train({ ...experiment, training: { ...experiment.training, epochs: 50 } }, { data: await data(), signal });
  assert.equal(r.status, 'cancelled');
  const ck = (r as { checkpoint: Checkpoint }).checkpoint;
  assert.ok(ck.epoch < 50);
  assert.ok(ck.batch >= 0 && ck.batch < 2000);
});

test('an ensemble resumes inside its second member and trains members with seeds seed+i', async (t) => {
  const e: Experiment = { ...experiment, training: { ...experiment.training, epochs: 2 }, ensemble: { size: 2 } };
  const whole = await uninterrupted(e);
  assert.equal(whole.members.length, 2);
  assert.ok(!same(whole.members[0]!.params, whole.members[1]!.params));
  const single = await uninterrupted({ ...e, ensemble: undefined, training: { ...e.training, seed: e.training.seed + 1 } });
  assert.ok(same(single.members[0]!.params, whole.members[1]!.params), 'member 1 = a single run with seed+1');
  const { checkpoint, model } = await interruptedThenResumed(e, (p) => p.member === 1 && p.epoch === 2);
  assert.equal(checkpoint.member, 1);
  t.diagnostic(`ensemble interrupted at member 1 epoch ${checkpoint.epoch} batch ${checkpoint.batch}`);
  assert.equal(checkpoint.completed.length, 1);
  for (let i = 0; i < 2; i++) assert.ok(same(model.members[i]!.params, whole.members[i]!.params), `member ${i}`);
  assert.equal(model.testAccuracy, whole.testAccuracy);
  assert.ok(model.testAccuracy > 0.8);
});

test('a conv net with dropout and momentum resumes bit-identically too', async () => {
  const conv = resolveExperiment({
    network: {
      layers: [
        { type: 'conv', filters: 6, kernel: 5, activation: 'relu' },
        { type: 'pool', kind: 'max' },
        { type: 'dense', units: 30, activation: 'relu', dropout: 0.3 },
        { type: 'dense', units: 10, activation: 'softmax', dropout: 0.3 },
      ],
    },
    training: { epochs: 2, miniBatchSize: 10, eta: 0.05, lambda: 0.1, momentum: 0.9, seed: 5, threads: 2 },
    data: { trainSize: 1500, validationSize: 200, expand: false },
  });
  const whole = await uninterrupted(conv);
  const { checkpoint, model } = await interruptedThenResumed(conv, (p) => p.epoch === 2);
  assert.equal(checkpoint.epoch, 1);
  assert.ok(checkpoint.batch > 0);
  assert.ok(same(model.members[0]!.params, whole.members[0]!.params), `resumed from batch ${checkpoint.batch} differs`);
});

test('a batch-norm conv net (its mini-batches split across two threads) resumes bit-identically, running statistics included', async () => {
  const bn = resolveExperiment({
    network: {
      layers: [
        { type: 'conv', filters: 8, kernel: 5, activation: 'relu', batchNorm: true },
        { type: 'pool', kind: 'max' },
        { type: 'dense', units: 10, activation: 'softmax' },
      ],
    },
    training: { epochs: 2, miniBatchSize: 24, eta: 0.05, momentum: 0.9, seed: 6, threads: 2 },
    data: { trainSize: 1500, validationSize: 200, expand: false },
  });
  const whole = await uninterrupted(bn);
  const { checkpoint, model } = await interruptedThenResumed(bn, (p) => p.epoch === 2);
  assert.equal(checkpoint.epoch, 1);
  assert.ok(checkpoint.batch > 0);
  assert.ok(same(model.members[0]!.params, whole.members[0]!.params), `resumed from batch ${checkpoint.batch} differs`);
  assert.ok(whole.members[0]!.history.at(-1)!.validationAccuracy! > 0.5, 'validated through the running statistics');
});

test('with precise batch-norm statistics after each epoch, a resumed run is bit-identical too', async () => {
  const bn = resolveExperiment({
    network: {
      layers: [
        { type: 'conv', filters: 6, kernel: 5, activation: 'relu', batchNorm: true },
        { type: 'pool', kind: 'max' },
        { type: 'dense', units: 10, activation: 'softmax' },
      ],
    },
    training: { epochs: 2, miniBatchSize: 10, eta: 0.05, seed: 8, threads: 2, preciseBatchNorm: 500 },
    data: { trainSize: 1200, validationSize: 200, expand: false },
  });
  const whole = await uninterrupted(bn);
  const { checkpoint, model } = await interruptedThenResumed(bn, (p) => p.epoch === 2);
  assert.equal(checkpoint.epoch, 1);
  assert.ok(same(model.members[0]!.params, whole.members[0]!.params), `resumed from batch ${checkpoint.batch} differs`);
});
