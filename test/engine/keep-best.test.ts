// training.keep ('best-validation' = network3.py's report, 'final') and ensemble.combine ('vote' =
// conv.py's plurality, 'mean'): the kept weights are the best epoch's, the final figure is kept too,
// a resume keeps the best epoch, and the vote matches a naive count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createPredictor, decodeCheckpoint, encodeCheckpoint, loadMnist, resolveExperiment, splitData, train,
  SIGNAL_INTERRUPT, type Checkpoint, type Experiment, type TrainedModel,
} from '../../src/engine/index.ts';
import { addMember, argmax10, toFloatImages } from '../../src/engine/evaluation.ts';

// η = 8 on 1,000 images makes validation accuracy wander, so the best epoch is not the last
// (asserted below, so a change that hides the case fails loudly).
const base = resolveExperiment({
  network: { layers: [{ type: 'dense', units: 20, activation: 'sigmoid' }, { type: 'dense', units: 10, activation: 'sigmoid' }], cost: 'quadratic' },
  training: { epochs: 6, miniBatchSize: 10, eta: 8, seed: 4, threads: 1, keep: 'best-validation' },
  data: { trainSize: 1000, validationSize: 500, expand: false },
});
const withTraining = (e: Experiment, t: Partial<Experiment['training']>): Experiment => ({ ...e, training: { ...e.training, ...t } });

async function data(e: Experiment) {
  return splitData(await loadMnist(), e.data);
}

const same = (a: Float32Array, b: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/** The epoch network3.py reports: the last one reaching the best validation accuracy (its >=). */
function bestEpoch(history: TrainedModel['members'][0]['history']): number {
  let best = 0;
  history.forEach((m, i) => {
    if (m.validationAccuracy! >= history[best]!.validationAccuracy!) best = i;
  });
  return best + 1;
}

async function run(e: Experiment, onEpoch?: (ck: Checkpoint) => void): Promise<TrainedModel> {
  const r = await train(e, { data: await data(e), ...(onEpoch ? { onEpoch: (_m, ck) => onEpoch(ck) } : {}) });
  assert.equal(r.status, 'completed');
  return (r as { model: TrainedModel }).model;
}

test('keep best-validation holds the best epoch\'s weights, reports its test accuracy and the final one too', async (t) => {
  const snapshots: Float32Array[] = [];
  const best = await run(base, (ck) => snapshots.push(ck.params));
  const final = await run(withTraining(base, { keep: 'final' }));
  const h = best.members[0]!.history;
  const epoch = bestEpoch(h);
  t.diagnostic(`validation ${h.map((m) => m.validationAccuracy).join(' ')}; best epoch ${epoch}`);
  assert.ok(epoch < h.length, 'the case under test: the best epoch is not the last');
  assert.deepEqual(best.keptEpochs, [epoch]);
  assert.ok(same(best.members[0]!.params, snapshots[epoch - 1]!), 'the kept weights are those after the best epoch');
  // the same training: the final figures are the keep-final model's
  assert.ok(same(final.members[0]!.params, snapshots[h.length - 1]!));
  assert.deepEqual(final.keptEpochs, [h.length]);
  assert.equal(best.finalTestAccuracy, final.testAccuracy);
  assert.equal(best.finalTestCost, final.testCost);
  assert.equal(final.finalTestAccuracy, final.testAccuracy);
  // testAccuracy is that of the kept weights: count it with a predictor
  const mnist = await loadMnist();
  const p = createPredictor(best);
  const out = await p.predict(toFloatImages(mnist.test.images));
  p.dispose();
  let right = 0;
  for (let i = 0; i < mnist.test.count; i++) if (argmax10(out, i * 10) === mnist.test.labels[i]) right++;
  assert.equal(best.testAccuracy, right / mnist.test.count);
  assert.notEqual(best.testAccuracy, best.finalTestAccuracy);
});

test('without validation data, keep best-validation keeps the last epoch', async () => {
  const e = withTraining({ ...base, data: { ...base.data, validationSize: 0 } }, { epochs: 2 });
  const m = await run(e);
  assert.deepEqual(m.keptEpochs, [2]);
  assert.equal(m.finalTestAccuracy, m.testAccuracy);
});

test('the best epoch survives an interrupt, the checkpoint format and a resume', async () => {
  const whole = await run(base);
  const epoch = whole.keptEpochs![0]!;
  const signal = new Int32Array(new SharedArrayBuffer(4));
  // stop at the epoch boundary after the best one: the checkpoint holds weights that are not the best
  const first = await train(base, {
    data: await data(base), signal,
    onEpoch: (m) => { if (m.epoch === epoch + 1) Atomics.store(signal, 0, SIGNAL_INTERRUPT); },
  });
  assert.equal(first.status, 'interrupted');
  const ck = decodeCheckpoint(encodeCheckpoint((first as { checkpoint: Checkpoint }).checkpoint));
  assert.equal(ck.best?.epoch, epoch);
  assert.ok(same(ck.best!.params, whole.members[0]!.params));
  assert.ok(!same(ck.params, whole.members[0]!.params));
  const second = await train(base, { data: await data(base), checkpoint: ck });
  assert.equal(second.status, 'completed');
  const m = (second as { model: TrainedModel }).model;
  assert.deepEqual(m.keptEpochs, whole.keptEpochs);
  assert.ok(same(m.members[0]!.params, whole.members[0]!.params));
  assert.equal(m.testAccuracy, whole.testAccuracy);
  assert.equal(m.finalTestAccuracy, whole.finalTestAccuracy);
});

test('an ensemble resumed after its first member keeps that member\'s best and final weights', async () => {
  // the case needs member 0 to keep an earlier epoch than its last: the first seed that gives it (which one
  // depends on the kernels' rounding; none in 16 seeds fails the test)
  let e: Experiment | null = null;
  let whole: TrainedModel | null = null;
  for (let seed = 4; seed < 20 && !e; seed++) {
    const candidate: Experiment = { ...withTraining(base, { epochs: 4, seed }), ensemble: { size: 2, combine: 'mean' } };
    const model = await run(candidate);
    if (model.keptEpochs![0]! < 4) [e, whole] = [candidate, model];
  }
  assert.ok(e && whole, 'no seed in 4..19 makes member 0 keep an earlier epoch than its last');
  const signal = new Int32Array(new SharedArrayBuffer(4));
  const first = await train(e, {
    data: await data(e), signal,
    onEpoch: (m) => { if (m.member === 1 && m.epoch === 1) Atomics.store(signal, 0, SIGNAL_INTERRUPT); },
  });
  assert.equal(first.status, 'interrupted');
  const ck = decodeCheckpoint(encodeCheckpoint((first as { checkpoint: Checkpoint }).checkpoint));
  assert.equal(ck.completed.length, 1);
  assert.equal(ck.completed[0]!.keptEpoch, whole.keptEpochs![0]);
  assert.ok(ck.completed[0]!.finalParams, 'member 0 kept an earlier epoch: its final weights travel too');
  const second = await train(e, { data: await data(e), checkpoint: ck });
  const m = (second as { model: TrainedModel }).model;
  assert.deepEqual(m.keptEpochs, whole.keptEpochs);
  for (let i = 0; i < 2; i++) assert.ok(same(m.members[i]!.params, whole.members[i]!.params));
  assert.equal(m.testAccuracy, whole.testAccuracy);
  assert.equal(m.finalTestAccuracy, whole.finalTestAccuracy);
});

test('a checkpoint written before keep existed (no best fields) still decodes', () => {
  const e = withTraining(base, { keep: 'final' });
  const ck: Checkpoint = {
    format: 'nndl-checkpoint', version: 1, experiment: e, member: 0, epoch: 1, batch: 0,
    rng: { s: [1, 2, 3, 4] } as unknown as Checkpoint['rng'], schedule: { eta: 1, bestValidationAccuracy: -1, epochsSinceImprovement: 0, epochsSinceHalving: 0, stopped: false },
    partial: null, params: new Float32Array([1, 2, 3]), velocity: null, history: [],
    completed: [{ params: new Float32Array([4, 5, 6]), history: [] }], threads: 1, trainingSeconds: 0,
  };
  const b = encodeCheckpoint(ck);
  const h = b.readUInt32LE(12);
  const header = JSON.parse(b.subarray(16, 16 + h).toString('utf8'));
  delete header.best;
  delete header.completed[0].finalParamsLength;
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const fixed = Buffer.from(b.subarray(0, 16));
  fixed.writeUInt32LE(json.length, 12);
  const pad = Buffer.alloc((4 - ((16 + json.length) % 4)) % 4);
  const old = Buffer.concat([fixed, json, pad, b.subarray(16 + h + ((4 - ((16 + h) % 4)) % 4))]);
  const back = decodeCheckpoint(old);
  assert.equal(back.best, null);
  assert.deepEqual(Array.from(back.completed[0]!.params), [4, 5, 6]);
  assert.equal(back.completed[0]!.finalParams, undefined);
});

test('addMember: vote shares match a naive plurality count, ties to the smallest digit; mean adds', () => {
  const members = [
    [0.1, 0.7, 0.2, 0, 0, 0, 0, 0, 0, 0],   // 1
    [0.6, 0.1, 0.3, 0, 0, 0, 0, 0, 0, 0],   // 0
    [0.1, 0.2, 0.7, 0, 0, 0, 0, 0, 0, 0],   // 2
    [0.1, 0.2, 0.0, 0, 0, 0, 0, 0, 0, 0.7], // 9
  ].map((r) => Float32Array.from(r));
  // three-way tie 0/1/2 after three members; then 9 joins at one vote: the smallest tied digit wins
  const vote = new Float64Array(10);
  for (const p of members) addMember(vote, p, 'vote');
  assert.deepEqual(Array.from(vote), [1, 1, 1, 0, 0, 0, 0, 0, 0, 1]);
  assert.equal(argmax10(Float32Array.from(vote), 0), 0);
  const mean = new Float64Array(10);
  for (const p of members) addMember(mean, p, 'mean');
  assert.ok(Math.abs(mean[1]! - 1.2) < 1e-6);
  // a random case against a naive count
  const rows = 200, k = 5;
  const outs = Array.from({ length: k }, (_, j) => Float32Array.from({ length: rows * 10 }, (_v, i) => Math.abs(Math.sin(i * 7.1 + j * 3.3))));
  const sum = new Float32Array(rows * 10);
  for (const o of outs) addMember(sum, o, 'vote');
  for (let r = 0; r < rows; r++) {
    const counts = new Array(10).fill(0);
    for (const o of outs) {
      const row = Array.from(o.subarray(r * 10, r * 10 + 10));
      counts[row.indexOf(Math.max(...row))]++;
    }
    const max = Math.max(...counts);
    assert.equal(argmax10(sum, r * 10), counts.indexOf(max), `row ${r}`);
  }
});

test('combine vote: the ensemble\'s test accuracy and predictions are the members\' plurality', async () => {
  const e: Experiment = { ...withTraining(base, { epochs: 1, eta: 3, keep: 'final' }), ensemble: { size: 3, combine: 'vote' } };
  const model = await run(e);
  const mnist = await loadMnist();
  const x = toFloatImages(mnist.test.images);
  const singles = model.members.map((m) => createPredictor({ ...model, experiment: { ...model.experiment, ensemble: undefined }, members: [m] }));
  const outs = await Promise.all(singles.map((p) => p.predict(x)));
  for (const p of singles) p.dispose();
  const ensemble = createPredictor(model);
  const shares = await ensemble.predict(x);
  ensemble.dispose();
  let right = 0;
  for (let i = 0; i < mnist.test.count; i++) {
    const counts = new Array(10).fill(0);
    for (const o of outs) counts[argmax10(o, i * 10)]++;
    const plurality = counts.indexOf(Math.max(...counts));
    assert.equal(argmax10(shares, i * 10), plurality);
    for (let j = 0; j < 10; j++) assert.ok(Math.abs(shares[i * 10 + j]! - counts[j] / 3) < 1e-6);
    if (plurality === mnist.test.labels[i]) right++;
  }
  assert.equal(model.testAccuracy, right / mnist.test.count);
  // the same members averaged: a (generally) different figure, from the same training
  const mean = await run({ ...e, ensemble: { size: 3, combine: 'mean' } });
  assert.ok(same(mean.members[2]!.params, model.members[2]!.params));
});

test('resolveExperiment: keep and combine defaults, the presets\' choices, ensemble overrides merge', () => {
  const plain = resolveExperiment({ network: { layers: [{ type: 'dense', units: 10, activation: 'softmax' }] } });
  assert.equal(plain.training.keep, 'final');
  assert.equal(resolveExperiment({ preset: 'ch6-relu' }).training.keep, 'best-validation');
  const ens = resolveExperiment({ preset: 'ch6-ensemble' });
  assert.deepEqual(ens.ensemble, { size: 5, combine: 'vote' });
  assert.equal(ens.training.keep, 'final');
  assert.deepEqual(resolveExperiment({ preset: 'ch6-ensemble', ensemble: { size: 3 } }).ensemble, { size: 3, combine: 'vote' });
  assert.deepEqual(resolveExperiment({ preset: 'ch6-relu', ensemble: { size: 2 } }).ensemble, { size: 2, combine: 'mean' });
  assert.throws(() => resolveExperiment({ preset: 'ch6-relu', training: { keep: 'best' } }), /training\.keep/);
  assert.throws(() => resolveExperiment({ preset: 'ch6-relu', ensemble: { size: 2, combine: 'median' } }), /ensemble\.combine/);
});
