// data.augment in the spec (validation, defaults, merging onto a preset, its cost) and a training run
// with augmentation on a slice of MNIST: bit-identical for a seed, resumable mid-epoch bit for bit,
// and different from the same run without it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeCheckpoint, encodeCheckpoint, estimateCost, loadMnist, resolveExperiment, splitData, train, SpecError,
  SIGNAL_INTERRUPT, type Checkpoint, type Experiment, type TrainedModel,
} from '../../src/engine/index.ts';

function issuesOf(input: unknown) {
  try {
    resolveExperiment(input);
  } catch (err) {
    assert.ok(err instanceof SpecError, `expected SpecError, got ${err}`);
    return err.issues;
  }
  return assert.fail('expected the spec to be rejected');
}

test('data.augment: defaults, ranges, null, merging, tfjs', () => {
  const e = resolveExperiment({ preset: 'ch6-relu', data: { augment: { rotation: 10, elastic: { alpha: 34, sigma: 4 } } } });
  assert.deepEqual(e.data.augment, {
    probability: 1, rotation: 10, scale: 0, shear: 0, translate: 0, elastic: { alpha: 34, sigma: 4 }, thickness: 0, bookShifts: false,
  });
  assert.equal(e.data.trainSize, 50000); // the other data fields still come from the preset
  assert.equal(resolveExperiment({ preset: 'ch6-relu', data: { augment: null } }).data.augment, null);
  assert.equal(resolveExperiment({ preset: 'ch6-relu' }).data.augment, undefined);
  for (const [augment, path, re] of [
    [{ rotation: 91 }, 'data.augment.rotation', /between 0 and 90/],
    [{ scale: -0.1 }, 'data.augment.scale', /between 0 and 0.5/],
    [{ probability: 1.5 }, 'data.augment.probability', /between 0 and 1/],
    [{ elastic: { alpha: 34, sigma: 0 } }, 'data.augment.elastic.sigma', /between 1 and 10/],
    [{ elastic: { alpha: 34 } }, 'data.augment.elastic.sigma', /./],
    [{ bogus: 1 }, 'data.augment', /bogus|Unrecognized/i],
  ] as const) {
    const hit = issuesOf({ preset: 'ch6-relu', data: { augment } }).find((i) => i.path === path);
    assert.ok(hit, `no issue at ${path} for ${JSON.stringify(augment)}`);
    assert.match(hit.message, re);
  }
  const tfjs = issuesOf({ preset: 'ch6-relu', backend: 'tfjs', data: { augment: { rotation: 5 } } });
  assert.ok(tfjs.some((i) => i.path === 'data.augment' && /native/.test(i.message)));
});

test('the cost estimate counts the distortion per image, not as more images', () => {
  const plain = estimateCost(resolveExperiment({ preset: 'ch6-relu' }));
  const aug = estimateCost(resolveExperiment({ preset: 'ch6-relu', data: { augment: { rotation: 10, elastic: { alpha: 34, sigma: 4 } } } }));
  assert.equal(plain.augmentMacsPerImage, 0);
  assert.ok(aug.augmentMacsPerImage > 0 && aug.augmentMacsPerImage < aug.macsPerImage);
  assert.equal(aug.imageSteps, plain.imageSteps);
  assert.equal(aug.trainingScratchBytesPerThread, plain.trainingScratchBytesPerThread);
  assert.ok(aug.trainingMacs > plain.trainingMacs);
});

const experiment: Experiment = resolveExperiment({
  network: {
    layers: [
      { type: 'conv', filters: 6, kernel: 5, activation: 'relu' }, { type: 'pool', kind: 'max' },
      { type: 'dense', units: 10, activation: 'softmax' },
    ],
  },
  training: { epochs: 2, miniBatchSize: 10, eta: 0.05, seed: 4, threads: 1 },
  data: {
    trainSize: 1500, validationSize: 300, expand: false,
    augment: { probability: 0.9, rotation: 12, scale: 0.12, shear: 15, translate: 2, elastic: { alpha: 34, sigma: 4 }, thickness: 0.5 },
  },
});
const same = (a: Float32Array, b: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
const data = async (e: Experiment) => splitData(await loadMnist(), e.data);
async function run(e: Experiment): Promise<TrainedModel> {
  const r = await train(e, { data: await data(e) });
  assert.equal(r.status, 'completed');
  return (r as { model: TrainedModel }).model;
}

test('training with augmentation on a slice: learns, bit-identical for a seed, differs without it', async () => {
  const a = await run(experiment);
  const b = await run(experiment);
  assert.ok(same(a.members[0]!.params, b.members[0]!.params));
  assert.ok(a.testAccuracy > 0.5, `test accuracy ${a.testAccuracy}`);
  const plain = await run({ ...experiment, data: { ...experiment.data, augment: null } });
  assert.ok(!same(a.members[0]!.params, plain.members[0]!.params));
});

test('an interrupted augmented run resumes bit for bit (the epoch seed is in the checkpoint)', async () => {
  const whole = await run(experiment);
  const signal = new Int32Array(new SharedArrayBuffer(4));
  const first = await train(experiment, {
    data: await data(experiment), signal, progressIntervalMs: 1,
    onProgress: (p) => {
      if (p.epoch === 2 && p.batch > 0 && p.batch < p.batches) Atomics.store(signal, 0, SIGNAL_INTERRUPT);
    },
  });
  assert.equal(first.status, 'interrupted');
  const ck: Checkpoint = decodeCheckpoint(encodeCheckpoint((first as { checkpoint: Checkpoint }).checkpoint));
  const second = await train(experiment, { data: await data(experiment), checkpoint: ck });
  assert.equal(second.status, 'completed');
  assert.ok(same((second as { model: TrainedModel }).model.members[0]!.params, whole.members[0]!.params));
});

test('the beyond-book preset: more conv layers, dropout, affine augmentation; trains on a slice', async () => {
  const e = resolveExperiment({ preset: 'beyond-book', training: { epochs: 2, threads: 1 }, data: { trainSize: 2000, validationSize: 200 } });
  assert.deepEqual(e.network.layers.filter((l) => l.type === 'conv').map((l) => (l as { filters: number }).filters), [48, 48, 96, 96]);
  assert.ok(e.data.augment && e.data.augment.rotation > 0 && e.data.augment.elastic === null);
  assert.ok(e.network.layers.some((l) => l.type === 'dense' && (l.dropout ?? 0) > 0));
  const cost = estimateCost(resolveExperiment({ preset: 'beyond-book' }));
  assert.ok(cost.augmentMacsPerImage > 0 && cost.params < 2_000_000, `${cost.params} parameters`);
  const model = await run(e);
  assert.ok(model.testAccuracy > 0.3, `two epochs on 2,000 images: ${model.testAccuracy}`);
});
