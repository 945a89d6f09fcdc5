// network3.py's semantics as options, each against a naive reference: its init (fan-out, zero
// softmax), its L2 scaling (λ per mini-batch count), one training order, the training metrics
// measured after the epoch (network2's monitor_training_*), the evaluation cost's L2 term with the
// evaluated set's n (network2's total_cost), and network3's dropout through the trainer and predictor.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createPredictor, loadMnist, planNetwork, resolveExperiment, splitData, train, type Experiment, type TrainedModel,
} from '../../src/engine/index.ts';
import { openNetwork } from '../../src/engine/backend.ts';
import { exampleCost, argmax10, toFloatImages } from '../../src/engine/evaluation.ts';
import { initParams } from '../../src/engine/init.ts';
import { Rng } from '../../src/engine/rng.ts';
import { shuffleOnceSeed } from '../../src/engine/trainer.ts';

const mlp = resolveExperiment({
  network: { layers: [{ type: 'dense', units: 30, activation: 'sigmoid' }, { type: 'dense', units: 10, activation: 'softmax' }] },
  training: { epochs: 2, miniBatchSize: 10, eta: 0.5, lambda: 0.5, seed: 3, threads: 1 },
  data: { trainSize: 1000, validationSize: 300, expand: false },
});
const withTraining = (e: Experiment, t: Partial<Experiment['training']>): Experiment => ({ ...e, training: { ...e.training, ...t } });
const same = (a: Float32Array, b: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

async function run(e: Experiment): Promise<TrainedModel> {
  const r = await train(e, { data: splitData(await loadMnist(), e.data) });
  assert.equal(r.status, 'completed');
  return (r as { model: TrainedModel }).model;
}

const sumSquares = (model: TrainedModel, e: Experiment) => {
  let s = 0;
  for (const seg of planNetwork(e.network).segments) {
    for (let i = seg.weightOffset; i < seg.weightOffset + seg.weightLength; i++) s += model.members[0]!.params[i]! ** 2;
  }
  return s;
};

test('init network3: conv/FC weights N(0, 1/√n_out) (conv n_out = filters·k²/4 before a pool), biases N(0,1), softmax zero', () => {
  const e = resolveExperiment({ preset: 'ch6-relu' });
  assert.equal(e.network.init, 'network3');
  const plan = planNetwork(e.network);
  assert.deepEqual(plan.segments.map((s) => s.fanOut), [20 * 25 / 4, 40 * 25 / 4, 100, 10]);
  const params = initParams(plan, 'network3', Rng.fromSeed(7));
  // a naive reference: the same Rng stream, layer by layer, weights then biases
  const rng = Rng.fromSeed(7);
  const ref = new Float32Array(plan.paramCount);
  for (const s of plan.segments) {
    if (s.activation === 'softmax') continue;
    for (let i = 0; i < s.weightLength; i++) ref[s.weightOffset + i] = rng.nextNormal() / Math.sqrt(s.fanOut);
    for (let i = 0; i < s.biasLength; i++) ref[s.biasOffset + i] = rng.nextNormal();
  }
  assert.ok(same(params, ref));
  const std = (from: number, len: number) => Math.sqrt(Array.from(params.subarray(from, from + len)).reduce((a, v) => a + v * v, 0) / len);
  const fc = plan.segments[2]!;
  assert.ok(Math.abs(std(fc.weightOffset, fc.weightLength) - 0.1) < 0.002, 'FC 640→100: std 1/√100');
  const conv2 = plan.segments[1]!;
  assert.ok(Math.abs(std(conv2.weightOffset, conv2.weightLength) - 1 / Math.sqrt(250)) < 0.002);
  const out = plan.segments[3]!;
  assert.ok(params.subarray(out.weightOffset, out.biasOffset + out.biasLength).every((v) => v === 0), 'softmax weights and biases zero');
});

test('regularizationScale batches: λ per ⌊n/m⌋ mini-batches, i.e. the n-scaling with λ·n/⌊n/m⌋', async () => {
  // n = 1000, m = 10: 100 batches; λ = 0.05 per batch count ≡ λ = 0.5 per n (the same l2 = 5e-4 each step)
  const batches = await run(withTraining(mlp, { lambda: 0.05, regularizationScale: 'batches' }));
  const perN = await run(withTraining(mlp, { lambda: 0.5, regularizationScale: 'n' }));
  assert.ok(same(batches.members[0]!.params, perN.members[0]!.params));
  const h = batches.members[0]!.history, g = perN.members[0]!.history;
  for (let i = 0; i < 2; i++) assert.ok(Math.abs(h[i]!.trainingCost - g[i]!.trainingCost) < 1e-9);
  // and it is another training than λ = 0.05 per n
  const weaker = await run(withTraining(mlp, { lambda: 0.05 }));
  assert.ok(!same(weaker.members[0]!.params, perN.members[0]!.params));
});

test('order shuffle-once: the trainer equals a naive loop over one permutation', async () => {
  const e = withTraining(mlp, { epochs: 3, order: 'shuffle-once' });
  const model = await run(e);
  const data = splitData(await loadMnist(), e.data);
  const plan = planNetwork(e.network);
  const rng = Rng.fromSeed(e.training.seed);
  const params = initParams(plan, e.network.init, rng);
  const order = Rng.fromSeed(shuffleOnceSeed(e.training.seed, 0)).permutation(data.training.count);
  const net = openNetwork(plan.desc, params, null, 1);
  for (let epoch = 0; epoch < 3; epoch++) {
    await net.trainEpoch({
      images: data.training.images, labels: data.training.labels, order, batchSize: 10, startBatch: 0,
      eta: e.training.eta, momentum: 0, l2: e.training.lambda / 1000, l1: 0, dropoutSeed: rng.nextU32(),
    });
  }
  net.dispose();
  assert.ok(same(model.members[0]!.params, params));
  const reshuffled = await run(withTraining(e, { order: 'reshuffle' }));
  assert.ok(!same(reshuffled.members[0]!.params, params));
});

test('trainingMetrics after-epoch: training cost/accuracy of the final weights over the training set, dropout off', async () => {
  const e: Experiment = {
    ...withTraining(mlp, { epochs: 1, trainingMetrics: 'after-epoch' }),
    network: { ...mlp.network, layers: [{ type: 'dense', units: 30, activation: 'sigmoid', dropout: 0.3 }, { type: 'dense', units: 10, activation: 'softmax' }] },
  };
  const model = await run(e);
  const data = splitData(await loadMnist(), e.data);
  const p = createPredictor(model);
  const out = await p.predict(toFloatImages(data.training.images));
  p.dispose();
  let right = 0, cost = 0;
  for (let i = 0; i < data.training.count; i++) {
    if (argmax10(out, i * 10) === data.training.labels[i]) right++;
    cost += exampleCost('log-likelihood', out, i * 10, data.training.labels[i]!);
  }
  const h = model.members[0]!.history[0]!;
  assert.equal(h.trainingAccuracy, right / data.training.count);
  const reg = (0.5 / (2 * 1000)) * sumSquares(model, e);
  assert.ok(Math.abs(h.trainingCost - (cost / data.training.count + reg)) < 1e-5, `${h.trainingCost} vs ${cost / data.training.count + reg}`);
  const during = await run(withTraining(e, { trainingMetrics: 'during-epoch' }));
  assert.ok(same(during.members[0]!.params, model.members[0]!.params), 'the option changes the measure, not the training');
  assert.notEqual(during.members[0]!.history[0]!.trainingAccuracy, h.trainingAccuracy);
});

test('evaluationCostN evaluated: the validation and test costs\' L2 term uses the evaluated set\'s n', async () => {
  const e = withTraining(mlp, { epochs: 1 });
  const training = await run(e);
  const evaluated = await run(withTraining(e, { evaluationCostN: 'evaluated' }));
  assert.ok(same(training.members[0]!.params, evaluated.members[0]!.params));
  const sq = sumSquares(training, e);
  const a = training.members[0]!.history[0]!, b = evaluated.members[0]!.history[0]!;
  const expectValidation = (0.5 / 2) * sq * (1 / 300 - 1 / 1000);
  assert.ok(Math.abs(b.validationCost! - a.validationCost! - expectValidation) < 1e-6);
  assert.equal(b.trainingCost, a.trainingCost);
  const expectTest = (0.5 / 2) * sq * (1 / 10000 - 1 / 1000);
  assert.ok(Math.abs(evaluated.testCost - training.testCost - expectTest) < 1e-6);
});

test('dropoutStyle network3 through the trainer and the predictor: the desc carries it, predictions scale by (1−p)', async () => {
  const layers = [{ type: 'dense', units: 30, activation: 'relu', dropout: 0.5 }, { type: 'dense', units: 10, activation: 'softmax', dropout: 0.5 }] as const;
  const e: Experiment = { ...withTraining(mlp, { epochs: 1, eta: 0.1 }), network: { layers: [...layers], cost: 'log-likelihood', init: 'network3', dropoutStyle: 'network3' } };
  const plan = planNetwork(e.network);
  assert.deepEqual(plan.desc.layers.map((l) => (l.kind === 'dense' ? l.dropoutStyle : null)), ['network3', 'network3']);
  assert.equal(planNetwork({ ...e.network, dropoutStyle: 'inverted' }).desc.layers.some((l) => l.kind === 'dense' && l.dropoutStyle), false);
  const model = await run(e);
  assert.ok(model.testAccuracy > 0.2, `learns: ${model.testAccuracy}`);
  // the predictor's outputs are the network3 function: an inverted network over W × (1−p) gives the same
  const mnist = await loadMnist();
  const x = toFloatImages(mnist.test.images.subarray(0, 50 * 784));
  const p = createPredictor(model);
  const a = await p.predict(x);
  p.dispose();
  const scaled = model.members[0]!.params.slice();
  for (const s of plan.segments) for (let i = s.weightOffset; i < s.weightOffset + s.weightLength; i++) scaled[i] = Math.fround(scaled[i]! * 0.5);
  const q = createPredictor({ ...model, experiment: { ...e, network: { ...e.network, dropoutStyle: 'inverted' } }, members: [{ ...model.members[0]!, params: scaled }] });
  const b = await q.predict(x);
  q.dispose();
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) < 1e-5);
});

test('the ch6 presets train as network3 does, with the book\'s λ', () => {
  for (const name of ['ch6-shallow', 'ch6-conv1', 'ch6-conv2', 'ch6-relu', 'ch6-expanded', 'ch6-dropout', 'ch6-ensemble']) {
    const e = resolveExperiment({ preset: name });
    assert.equal(e.network.init, 'network3', name);
    assert.equal(e.network.dropoutStyle, 'network3', name);
    assert.equal(e.training.regularizationScale, 'batches', name);
    assert.equal(e.training.order, 'shuffle-once', name);
  }
  assert.equal(resolveExperiment({ preset: 'ch6-relu' }).training.lambda, 0.1);
  assert.equal(resolveExperiment({ preset: 'ch6-expanded' }).training.lambda, 0.1);
  assert.equal(resolveExperiment({ preset: 'ch6-dropout' }).training.lambda, 0);
  const plain = resolveExperiment({ network: { layers: [{ type: 'dense', units: 10, activation: 'softmax' }] } });
  assert.deepEqual(
    [plain.network.init, plain.network.dropoutStyle, plain.training.regularizationScale, plain.training.order, plain.training.trainingMetrics, plain.training.evaluationCostN],
    ['default', 'inverted', 'n', 'reshuffle', 'during-epoch', 'training'],
  );
});
