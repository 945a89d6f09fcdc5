import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  decodeCheckpoint, encodeCheckpoint, loadModel, planNetwork, resolveExperiment, saveModel, CheckpointError, ModelFormatError,
  type Checkpoint, type EpochMetrics, type TrainedModel,
} from '../../src/engine/index.ts';

const experiment = resolveExperiment({ preset: 'ch1-mlp30', training: { epochs: 3, momentum: 0.5 }, data: { trainSize: 100, validationSize: 10 } });
const plan = planNetwork(experiment.network);
const floats = (n: number, k: number) => new Float32Array(n).map((_, i) => Math.sin(i * k) * 1e3 + 1e-7 * i);
const metrics: EpochMetrics = {
  member: 0, epoch: 1, epochs: 3, trainingCost: 0.5, trainingAccuracy: 0.8, validationCost: 0.6, validationAccuracy: 0.7,
  eta: 3, seconds: 1.5, imagesPerSecond: 1000, gradientNorms: [0.1, 0.2],
};

test('a checkpoint encodes to a Buffer and decodes bit-exactly', () => {
  const c: Checkpoint = {
    format: 'nndl-checkpoint', version: 1, experiment, member: 1, epoch: 1, batch: 4, rng: [1, 2, 3, 0xffffffff],
    schedule: { eta: 1.5, bestValidationAccuracy: 0.7, epochsSinceImprovement: 0, epochsSinceHalving: 0, stopped: false },
    partial: { costSum: 1.25, correct: 30, examples: 40, gradNormSum: [1, 2], batches: 4, seconds: 0.1 },
    params: floats(plan.paramCount, 1), velocity: floats(plan.paramCount, 2), history: [metrics],
    best: { epoch: 1, validationAccuracy: 0.7, params: floats(plan.paramCount, 4) },
    completed: [
      { params: floats(plan.paramCount, 3), history: [metrics, metrics], keptEpoch: 1, finalParams: floats(plan.paramCount, 5) },
      { params: floats(plan.paramCount, 6), history: [metrics], keptEpoch: 1 },
    ],
    threads: 2, trainingSeconds: 12.5,
  };
  const b = encodeCheckpoint(c);
  assert.equal(b.subarray(0, 8).toString(), 'NNDLCKPT');
  const d = decodeCheckpoint(b);
  assert.deepEqual(d, c);
  assert.ok(Buffer.from(d.params.buffer).equals(Buffer.from(c.params.buffer)), 'bit-identical floats');
  assert.ok(Buffer.from(d.best!.params.buffer).equals(Buffer.from(c.best!.params.buffer)), 'the best epoch\'s weights too');
  const noVelocity = decodeCheckpoint(encodeCheckpoint({ ...c, velocity: null, best: null, completed: [] }));
  assert.equal(noVelocity.velocity, null);
  assert.equal(noVelocity.best, null);
  assert.throws(() => decodeCheckpoint(Buffer.from('hello world, not a checkpoint')), CheckpointError);
  assert.throws(() => decodeCheckpoint(b.subarray(0, b.length - 3)), /truncated|trailing/);
});

test('saveModel/loadModel round trip: model.json + weights.bin, checked on load', async () => {
  const model: TrainedModel = {
    format: 'nndl-model', version: 1, experiment,
    members: [{ params: floats(plan.paramCount, 5), history: [metrics] }, { params: floats(plan.paramCount, 6), history: [] }],
    testAccuracy: 0.95, testCost: 0.1, confusion: Array.from({ length: 10 }, (_, i) => Array.from({ length: 10 }, (_, j) => i * j)),
    backend: 'native', trainingSeconds: 3.5,
  };
  const dir = await mkdtemp(join(tmpdir(), 'nndl-model-'));
  try {
    await saveModel(dir, model);
    const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
    assert.equal(json.format, 'nndl-model');
    assert.equal(json.paramLayout.paramCount, plan.paramCount);
    assert.deepEqual(json.paramLayout.layers[0].weights, { offset: 0, length: 30 * 784, shape: [30, 784] });
    assert.equal((await readFile(join(dir, 'weights.bin'))).length, 2 * plan.paramCount * 4);
    const back = await loadModel(dir);
    assert.deepEqual(back, model);
    const w = await readFile(join(dir, 'weights.bin'));
    w[100]! ^= 1;
    await writeFile(join(dir, 'weights.bin'), w);
    await assert.rejects(loadModel(dir), (e: unknown) => e instanceof ModelFormatError && /checksum/.test(e.message));
    await writeFile(join(dir, 'weights.bin'), w.subarray(0, 12));
    await assert.rejects(loadModel(dir), /bytes, expected/);
    await assert.rejects(loadModel(join(dir, 'nope')), /cannot read/);
    await assert.rejects(saveModel(dir, { ...model, members: [{ params: new Float32Array(3), history: [] }] }), /parameters/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
