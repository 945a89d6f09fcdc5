// Ensembles of trained models in the engine: files round-trip (members of different architectures,
// checked like any model file), the predictor's budget, and its combination against a naive one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BudgetError, createModelPredictor, createPredictor, ensembleBudgetViolations, loadMnist, loadStoredModel, ModelFormatError,
  resolveExperiment, saveStoredModel, splitData, train, DEFAULT_BUDGETS, type ModelEnsemble, type TrainedModel,
} from '../../src/engine/index.ts';

async function small(preset: string, seed: number): Promise<TrainedModel> {
  const mnist = await loadMnist({ dir: process.env.MNIST_DIR });
  const e = resolveExperiment({ preset, training: { epochs: 1, seed }, data: { trainSize: 1000, validationSize: 0, expand: false } });
  const r = await train(e, { data: splitData(mnist, e.data), threads: 1 });
  assert.equal(r.status, 'completed');
  return (r as { model: TrainedModel }).model;
}

test('an ensemble of different architectures: saved, loaded, predicted as the naive mean and vote', async () => {
  const a = await small('ch1-mlp30', 1);
  const b = await small('ch6-shallow', 2);
  const dir = await mkdtemp(join(tmpdir(), 'nndl-ens-'));
  try {
    for (const combine of ['mean', 'vote'] as const) {
      const e: ModelEnsemble = { format: 'nndl-ensemble', version: 1, combine, members: [{ modelId: 'ma', model: a }, { modelId: 'mb', model: b }], testAccuracy: 0.5, testCost: 1, confusion: [] };
      await saveStoredModel(join(dir, combine), e);
      const loaded = (await loadStoredModel(join(dir, combine))) as ModelEnsemble;
      assert.equal(loaded.format, 'nndl-ensemble');
      assert.equal(loaded.combine, combine);
      assert.deepEqual(loaded.members.map((m) => m.modelId), ['ma', 'mb']);
      assert.deepEqual(Array.from(loaded.members[1]!.model.members[0]!.params), Array.from(b.members[0]!.params));
      const mnist = await loadMnist({ dir: process.env.MNIST_DIR });
      const input = Float32Array.from(mnist.test.images.subarray(0, 50 * 784), (v) => v / 255);
      const predictors = [createModelPredictor(loaded, { threads: 1 }), createPredictor(a), createPredictor(b)];
      const [got, pa, pb] = await Promise.all(predictors.map((p) => p.predict(input))) as [Float32Array, Float32Array, Float32Array];
      for (const p of predictors) p.dispose();
      for (let i = 0; i < 50; i++) {
        for (let d = 0; d < 10; d++) {
          const at = i * 10;
          const arg = (p: Float32Array) => { let m = 0; for (let j = 1; j < 10; j++) if (p[at + j]! > p[at + m]!) m = j; return m; };
          const want = combine === 'mean' ? (pa[at + d]! + pb[at + d]!) / 2 : ((arg(pa) === d ? 1 : 0) + (arg(pb) === d ? 1 : 0)) / 2;
          assert.ok(Math.abs(got[at + d]! - want) < 1e-6, `${combine} image ${i} digit ${d}: ${got[at + d]} vs ${want}`);
        }
      }
    }
    // a member directory that is not ours, or weights that do not match, are refused
    await writeFile(join(dir, 'mean', 'member-1', 'weights.bin'), Buffer.alloc(8));
    await assert.rejects(loadStoredModel(join(dir, 'mean')), ModelFormatError);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('budgets: all networks together, checked from the experiments; the predictor refuses scratch beyond its budget', async () => {
  const a = await small('ch1-mlp30', 3);
  const v = ensembleBudgetViolations([a.experiment, a.experiment, a.experiment], { ...DEFAULT_BUDGETS, MAX_JOB_PARAMS: 50_000 });
  assert.deepEqual(v.map((x) => [x.budget, x.value]), [['MAX_JOB_PARAMS', 3 * 23_860]]);
  assert.deepEqual(ensembleBudgetViolations([a.experiment, a.experiment], { ...DEFAULT_BUDGETS, MAX_JOB_PARAMS: 50_000 }), []);
  const e: ModelEnsemble = { format: 'nndl-ensemble', version: 1, combine: 'mean', members: [{ modelId: 'x', model: a }, { modelId: 'y', model: a }], testAccuracy: 0, testCost: 0, confusion: [] };
  assert.throws(() => createModelPredictor(e, { scratchBytes: 100 }), (err: unknown) => err instanceof BudgetError && err.violations[0]!.budget === 'PREDICT_SCRATCH_BYTES');
});
