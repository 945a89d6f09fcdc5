// training.average (SWA): a member keeps the mean of its weights after each epoch from fromEpoch on.
// Checked against a naive float64 mean of the per-epoch weights, through an interrupt, the checkpoint
// format and a resume (bit-identical), and the spec's rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeCheckpoint, encodeCheckpoint, loadMnist, resolveExperiment, splitData, train, SpecError,
  SIGNAL_INTERRUPT, type Checkpoint, type Experiment, type TrainedModel,
} from '../../src/engine/index.ts';
import { addToAverage } from '../../src/engine/trainer.ts';

const base = resolveExperiment({
  network: { layers: [{ type: 'dense', units: 20, activation: 'sigmoid' }, { type: 'dense', units: 10, activation: 'softmax' }] },
  training: { epochs: 5, miniBatchSize: 10, eta: 0.5, seed: 7, threads: 1, average: { fromEpoch: 3 } },
  data: { trainSize: 1000, validationSize: 0, expand: false },
});

const same = (a: Float32Array, b: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

async function run(e: Experiment, opts: { onEpoch?: (ck: Checkpoint) => void; signal?: Int32Array; checkpoint?: Checkpoint } = {}) {
  return train(e, {
    data: splitData(await loadMnist(), e.data),
    ...(opts.onEpoch ? { onEpoch: (_m, ck) => opts.onEpoch!(ck) } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.checkpoint ? { checkpoint: opts.checkpoint } : {}),
  });
}

test('average keeps the mean of the weights after epochs fromEpoch..last; the last epoch\'s figure is kept too', async () => {
  const snapshots: Float32Array[] = [];
  const r = await run(base, { onEpoch: (ck) => snapshots.push(ck.params) });
  assert.equal(r.status, 'completed');
  const model = (r as { model: TrainedModel }).model;
  assert.equal(snapshots.length, 5);
  const kept = model.members[0]!.params;
  let worst = 0;
  for (let j = 0; j < kept.length; j++) {
    const naive = (snapshots[2]![j]! + snapshots[3]![j]! + snapshots[4]![j]!) / 3;
    worst = Math.max(worst, Math.abs(kept[j]! - naive));
  }
  assert.ok(worst < 1e-6, `the kept weights are the mean of epochs 3..5 (largest difference ${worst})`);
  assert.ok(!same(kept, snapshots[4]!), 'not the last epoch\'s weights');
  assert.deepEqual(model.keptEpochs, [5]);
  // the same training without averaging ends on the last weights: its test figure is the final one here
  const plain = await run({ ...base, training: { ...base.training, average: null } });
  const last = (plain as { model: TrainedModel }).model;
  assert.ok(same(last.members[0]!.params, snapshots[4]!));
  assert.equal(model.finalTestAccuracy, last.testAccuracy);
  assert.notEqual(model.testAccuracy, model.finalTestAccuracy);
});

test('the running mean survives an interrupt, the checkpoint format and a resume, bit for bit', async () => {
  const whole = await run(base);
  assert.equal(whole.status, 'completed');
  const signal = new Int32Array(new SharedArrayBuffer(4));
  const first = await run(base, {
    signal,
    onEpoch: (ck) => {
      if (ck.epoch === 4) Atomics.store(signal, 0, SIGNAL_INTERRUPT); // after two averaged epochs
    },
  });
  assert.equal(first.status, 'interrupted');
  const cut = (first as { checkpoint: Checkpoint }).checkpoint;
  assert.equal(cut.average?.epochs, 2);
  const decoded = decodeCheckpoint(encodeCheckpoint(cut));
  assert.equal(decoded.average?.epochs, 2);
  assert.ok(same(decoded.average!.params, cut.average!.params));
  const resumed = await run(base, { checkpoint: decoded });
  assert.equal(resumed.status, 'completed');
  const a = (whole as { model: TrainedModel }).model;
  const b = (resumed as { model: TrainedModel }).model;
  assert.ok(same(a.members[0]!.params, b.members[0]!.params), 'the same mean as the run that was never cut');
  assert.equal(a.testAccuracy, b.testAccuracy);
});

test('checkpoints without an average decode as before (none), and a bad one is refused', async () => {
  const signal = new Int32Array(new SharedArrayBuffer(4));
  const plain = { ...base, training: { ...base.training, average: null } };
  const r = await run(plain, { signal, onEpoch: () => Atomics.store(signal, 0, SIGNAL_INTERRUPT) });
  const ck = (r as { checkpoint: Checkpoint }).checkpoint;
  assert.equal(decodeCheckpoint(encodeCheckpoint(ck)).average, undefined, 'no average: none decoded');
  const bad = encodeCheckpoint({ ...ck, average: { epochs: 0, params: ck.params } });
  assert.throws(() => decodeCheckpoint(bad), /bad average/);
});

test('addToAverage: the incremental mean equals the naive one, across its yielding slices', async () => {
  const n = (1 << 20) + 5; // two slices
  const xs = [1, 2, 3, 4].map((k) => Float32Array.from({ length: n }, (_, j) => Math.sin(j * k) * k));
  let avg = null;
  for (const x of xs) avg = await addToAverage(avg, x);
  assert.equal(avg!.epochs, 4);
  for (const j of [0, 1, 12345, n - 1]) {
    const naive = xs.reduce((s, x) => s + x[j]!, 0) / 4;
    assert.ok(Math.abs(avg!.params[j]! - naive) < 1e-6);
  }
  assert.ok(!same(avg!.params, xs[0]!), 'the first epoch\'s weights are copied, not aliased');
});

test('spec: average needs keep "final" and a fromEpoch within the run', () => {
  const bad = (training: unknown, path: string, re: RegExp) => {
    assert.throws(() => resolveExperiment({ preset: 'ch1-mlp30', training }), (e: unknown) =>
      e instanceof SpecError && e.issues.some((i) => i.path === path && re.test(i.message)));
  };
  bad({ keep: 'best-validation', average: { fromEpoch: 2 } }, 'training.average', /keep must be "final"/);
  bad({ keep: 'final', epochs: 10, average: { fromEpoch: 11 } }, 'training.average.fromEpoch', /past the last epoch/);
  bad({ keep: 'final', average: { fromEpoch: 0 } }, 'training.average.fromEpoch', /at least 1/);
  bad({ keep: 'final', average: { from: 2 } }, 'training.average', /from|Unrecognized/i);
  const ok = resolveExperiment({ preset: 'ch1-mlp30', training: { keep: 'final', epochs: 10, average: { fromEpoch: 10 } } });
  assert.deepEqual(ok.training.average, { fromEpoch: 10 });
});
