// The tfjs backend end to end through the engine's public train(): in its worker thread (the
// event loop stays free), learning on an MNIST slice, cancel + resume from a checkpoint, the same
// result as native from the same start, and models predicting alike on either backend.
// Tolerances: accuracy bounds for learning; probabilities within 1e-4 across backends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createPredictor, loadMnist, resolveExperiment, splitData, train, SIGNAL_CANCEL, type TrainedModel,
} from '../../src/engine/index.ts';
import { openNetwork } from '../../src/engine/backend.ts';
import { toFloatImages } from '../../src/engine/evaluation.ts';
import { planNetwork } from '../../src/engine/network-plan.ts';
import { tfjsInfo } from '../../src/engine/tfjs/tfjs-handle.ts';

test('the tfjs worker loads a backend (wasm here) and reports it', async (t) => {
  const info = await tfjsInfo();
  t.diagnostic(`tfjs ${info.version} on ${info.backend}`);
  assert.ok(['tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu'].includes(info.backend));
});

test('gradient and forward through the worker equal the native ones', () => {
  const e = resolveExperiment({ network: { layers: [{ type: 'conv', filters: 2, kernel: 5, activation: 'relu' }, { type: 'pool', kind: 'max' }, { type: 'dense', units: 10, activation: 'softmax' }] } });
  const plan = planNetwork(e.network);
  const params = new Float32Array(plan.paramCount).map((_, i) => Math.sin(i) * 0.1);
  const input = new Float32Array(3 * 784).map((_, i) => (i % 5) / 5);
  const labels = new Uint8Array([1, 7, 3]);
  const a = openNetwork(plan.desc, params, null, 1, 'native');
  const b = openNetwork(plan.desc, params, null, 1, 'tfjs');
  const ga = a.gradient(input, labels), gb = b.gradient(input, labels);
  assert.ok(Math.abs(ga.cost - gb.cost) < 1e-4, `${ga.cost} vs ${gb.cost}`);
  const fa = a.forward(input), fb = b.forward(input);
  for (let i = 0; i < fa.length; i++) assert.ok(Math.abs(fa[i]! - fb[i]!) < 1e-5);
  assert.throws(() => b.gradient(input.subarray(1), labels), RangeError);
  b.dispose();
});

let tfjsModel: TrainedModel;
let nativeModel: TrainedModel;

test('a small tfjs run learns on an MNIST slice and matches native from the same seed', async (t) => {
  const mnist = await loadMnist();
  const exp = resolveExperiment({
    preset: 'ch3-mlp30-ce', training: { epochs: 2, miniBatchSize: 10, eta: 0.5, seed: 3, threads: 1, momentum: 0.2 },
    data: { trainSize: 5000, validationSize: 500 },
  });
  const data = splitData(mnist, exp.data);
  data.test = { images: data.test.images.subarray(0, 1000 * 784), labels: data.test.labels.subarray(0, 1000), count: 1000 };
  const started = performance.now();
  let ticks = 0;
  const timer = setInterval(() => ticks++, 10); // the event loop must keep turning during training
  const r = await train({ ...exp, backend: 'tfjs' }, { data });
  clearInterval(timer);
  const seconds = (performance.now() - started) / 1000;
  assert.equal(r.status, 'completed');
  if (r.status !== 'completed') return;
  tfjsModel = r.model;
  t.diagnostic(`tfjs: ${seconds.toFixed(1)} s, test accuracy ${r.model.testAccuracy}, ticks ${ticks}`);
  assert.equal(r.model.backend, 'tfjs');
  assert.ok(r.model.testAccuracy > 0.75, `tfjs test accuracy ${r.model.testAccuracy}`);
  assert.ok(ticks > seconds * 20, `event loop starved: ${ticks} ticks in ${seconds} s`);
  const h = r.model.members[0]!.history;
  assert.equal(h.length, 2);
  assert.equal(h[0]!.gradientNorms.length, 2);
  assert.ok(h[1]!.validationAccuracy! > 0.75, `validation accuracy ${h[1]!.validationAccuracy}`);

  const n = await train(exp, { data });
  assert.equal(n.status, 'completed');
  if (n.status !== 'completed') return;
  nativeModel = n.model;
  assert.equal(n.model.backend, 'native');
  // same seed, same shuffles: the two runs agree closely (float32 rounding differs)
  assert.ok(Math.abs(n.model.testAccuracy - r.model.testAccuracy) <= 0.01, `${n.model.testAccuracy} vs ${r.model.testAccuracy}`);
  const hn = n.model.members[0]!.history;
  for (let e = 0; e < 2; e++) {
    assert.ok(Math.abs(hn[e]!.trainingCost - h[e]!.trainingCost) < 0.01 * hn[e]!.trainingCost, `epoch ${e + 1} cost`);
  }
});

test('a model trained by either backend predicts the same on the other', async () => {
  assert.ok(tfjsModel && nativeModel, 'needs the training test');
  const mnist = await loadMnist();
  const input = toFloatImages(mnist.test.images.subarray(0, 200 * 784));
  for (const model of [tfjsModel, nativeModel]) {
    const a = createPredictor(model, { backend: 'native' });
    const b = createPredictor(model, { backend: 'tfjs' });
    const pa = await a.predict(input), pb = await b.predict(input);
    for (let i = 0; i < pa.length; i++) assert.ok(Math.abs(pa[i]! - pb[i]!) <= 1e-4, `${model.backend} model, value ${i}: ${pa[i]} vs ${pb[i]}`);
    a.dispose();
    b.dispose();
  }
});

test('batch normalisation is native only: training it on tfjs is refused, predicting it on tfjs runs natively', async () => {
  const e = resolveExperiment({
    network: { layers: [{ type: 'conv', filters: 3, kernel: 5, activation: 'relu', batchNorm: true }, { type: 'pool', kind: 'max' },
      { type: 'dense', units: 10, activation: 'softmax' }] },
    training: { epochs: 1, seed: 3 }, data: { trainSize: 500, validationSize: 0 },
  });
  const mnist = await loadMnist();
  const data = splitData(mnist, e.data);
  await assert.rejects(train(e, { data, threads: 1, backend: 'tfjs' }), /batch normalisation runs in the native engine/);
  const r = await train(e, { data, threads: 1 });
  assert.equal(r.status, 'completed');
  const model = (r as { model: TrainedModel }).model;
  const input = toFloatImages(mnist.test.images.subarray(0, 50 * 784));
  const a = createPredictor(model, { backend: 'native' }), b = createPredictor(model, { backend: 'tfjs' });
  assert.deepEqual(await b.predict(input), await a.predict(input));
  a.dispose();
  b.dispose();
});

// The cancel comes from the progress callback as soon as it sees epoch 2 under way (a batch done),
// and epoch 2 has 300 batches: the worker thread would have to run all of them before the main
// thread's next 1 ms progress poll for the cut to be missed (it was 89 batches after a 5 ms poll).
// Whatever batch the cut lands on, the resumed run must give the same weights.
test('tfjs training stops on cancel between mini-batches and resumes to the same weights', async () => {
  const mnist = await loadMnist();
  const BATCHES = 300;
  const exp = resolveExperiment({
    network: { layers: [{ type: 'dense', units: 20, activation: 'sigmoid' }, { type: 'dense', units: 10, activation: 'sigmoid' }] },
    training: { epochs: 2, miniBatchSize: 10, eta: 1, seed: 5 }, data: { trainSize: BATCHES * 10, validationSize: 100 }, backend: 'tfjs',
  });
  const data = splitData(mnist, exp.data);
  data.test = { images: data.test.images.subarray(0, 100 * 784), labels: data.test.labels.subarray(0, 100), count: 100 };
  const full = await train(exp, { data });
  assert.equal(full.status, 'completed');
  const signal = new Int32Array(new SharedArrayBuffer(4));
  const cut = await train(exp, {
    data, signal, progressIntervalMs: 1,
    onProgress: (p) => { if (p.epoch === 2 && p.batch >= 1) Atomics.store(signal, 0, SIGNAL_CANCEL); },
  });
  assert.equal(cut.status, 'cancelled', 'the cancel arrived after the last batch of epoch 2');
  if (cut.status !== 'cancelled' || full.status !== 'completed') return;
  assert.equal(cut.checkpoint.epoch, 1, 'cut inside epoch 2');
  assert.ok(cut.checkpoint.batch > 0 && cut.checkpoint.batch < BATCHES, `cut at batch ${cut.checkpoint.batch}`);
  const resumed = await train(exp, { data, checkpoint: cut.checkpoint });
  assert.equal(resumed.status, 'completed');
  if (resumed.status !== 'completed') return;
  // tfjs on wasm/cpu is deterministic for the same ops: resume gives the same weights
  const a = full.model.members[0]!.params, b = resumed.model.members[0]!.params;
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= 1e-6, `param ${i}`);
});
