// Predicting with and building ensembles of trained models (model-ensemble.ts). Each member model
// gets its own Predictor (createPredictor: its networks, its architecture); the ensemble adds their
// n × 10 probabilities with addMember ('mean' or 'vote') and divides by the member count, exactly
// as a trained ensemble combines its networks. The members share the prediction scratch budget in
// proportion to what one image needs in each, so the whole ensemble holds at most scratchBytes.
import { BudgetError, checkBudgets, DEFAULT_BUDGETS, formatBytes, type BudgetViolation, type JobBudgets } from './budget.ts';
import { estimateCost } from './cost-estimate.ts';
import { addMember, argmax10, confusionRows, toFloatImages } from './evaluation.ts';
import { isModelEnsemble, type ModelEnsemble, type StoredModel } from './model-ensemble.ts';
import { createPredictor, type Predictor, type PredictorOptions } from './predictor.ts';
import type { Combine, Experiment } from './spec.ts';
import type { TrainedModel } from './training-types.ts';

/** Any stored model, trained or an ensemble of trained models, ready to answer. */
export function createModelPredictor(model: StoredModel, options: PredictorOptions = {}): Predictor {
  return isModelEnsemble(model) ? createEnsemblePredictor(model.members.map((m) => m.model), model.combine, options) : createPredictor(model, options);
}

/** What an ensemble of these members costs, per image and in all: every network of every member. */
export function ensembleCost(members: Experiment[]): { params: number; macsPerImage: number; inferenceScratchBytesPerImage: number; weightsBytes: number } {
  let params = 0, macsPerImage = 0, inferenceScratchBytesPerImage = 0, weightsBytes = 0;
  for (const e of members) {
    const c = estimateCost(e);
    params += c.members * c.params;
    macsPerImage += c.members * c.macsPerImage;
    inferenceScratchBytesPerImage += c.inferenceScratchBytesPerImage;
    weightsBytes += c.weightsBytes;
  }
  return { params, macsPerImage, inferenceScratchBytesPerImage, weightsBytes };
}

/**
 * The budgets an ensemble of these members exceeds (MAX_JOB_PARAMS: all its parameters;
 * MAX_JOB_MACS_PER_IMAGE: all its multiply-adds per image; PREDICT_SCRATCH_BYTES: its scratch for
 * one image), checked from the experiments alone, before any weights are loaded.
 */
export function ensembleBudgetViolations(members: Experiment[], budgets: JobBudgets): BudgetViolation[] {
  const c = ensembleCost(members);
  const cost = { ...estimateCost(members[0]!), ...c, imageSteps: 0, trainingScratchBytesPerThread: 0 };
  return checkBudgets(cost, budgets).map((v) => ({ ...v, message: `the ensemble's ${v.message}` }));
}

function createEnsemblePredictor(members: TrainedModel[], combine: Combine, options: PredictorOptions): Predictor {
  const scratchBytes = options.scratchBytes ?? DEFAULT_BUDGETS.PREDICT_SCRATCH_BYTES;
  const needs = members.map((m) => estimateCost(m.experiment).inferenceScratchBytesPerImage);
  const total = needs.reduce((a, b) => a + b, 0);
  if ((options.backend ?? 'native') === 'native' && total > scratchBytes) {
    throw new BudgetError([{
      budget: 'PREDICT_SCRATCH_BYTES', figure: 'inferenceScratchBytesPerImage', value: total, limit: scratchBytes,
      message: `this ensemble needs ${formatBytes(total)} of scratch to predict one image, above PREDICT_SCRATCH_BYTES = ` +
        `${formatBytes(scratchBytes)}: it cannot be served here`,
    }]);
  }
  // each member its need plus its share of the rest: the shares add up to at most scratchBytes
  const spare = Math.max(0, scratchBytes - total);
  const predictors: Predictor[] = [];
  try {
    members.forEach((m, k) => {
      const share = needs[k]! + Math.floor((spare * needs[k]!) / (total || 1));
      predictors.push(createPredictor(m, { ...options, scratchBytes: share }));
    });
  } catch (err) {
    for (const p of predictors) p.dispose();
    throw err;
  }
  let disposed = false;
  return {
    bytes: predictors.reduce((s, p) => s + p.bytes, 0),
    async predict(input: Float32Array): Promise<Float32Array> {
      if (disposed) throw new Error('predictor was disposed');
      const sum = new Float32Array((input.length / 784) * 10);
      for (const p of predictors) addMember(sum, await p.predict(input), combine);
      for (let i = 0; i < sum.length; i++) sum[i]! /= predictors.length;
      return sum;
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      for (const p of predictors) p.dispose();
    },
  };
}

const CHUNK = 500; // test images per predict call: bounds memory and each synchronous conversion

/**
 * An ensemble of these trained models, with its test accuracy and confusion matrix computed on
 * `test` (MNIST's 10,000 test images) by the very predictor that will serve it; its test cost is the
 * members' mean. BudgetError when it could not be served under options.scratchBytes.
 */
export async function buildModelEnsemble(
  members: { modelId: string; model: TrainedModel }[],
  combine: Combine,
  test: { images: Uint8Array; labels: Uint8Array; count: number },
  options: PredictorOptions = {},
): Promise<ModelEnsemble> {
  const predictor = createEnsemblePredictor(members.map((m) => m.model), combine, options);
  const confusion = new Uint32Array(100);
  let correct = 0;
  try {
    for (let s = 0; s < test.count; s += CHUNK) {
      const e = Math.min(test.count, s + CHUNK);
      const out = await predictor.predict(toFloatImages(test.images.subarray(s * 784, e * 784)));
      for (let i = 0; i < e - s; i++) {
        const y = test.labels[s + i]!;
        const p = argmax10(out, i * 10);
        confusion[y * 10 + p]!++;
        if (p === y) correct++;
      }
    }
  } finally {
    predictor.dispose();
  }
  return {
    format: 'nndl-ensemble',
    version: 1,
    combine,
    members,
    testAccuracy: test.count > 0 ? correct / test.count : 0,
    testCost: members.reduce((s, m) => s + m.model.testCost, 0) / members.length,
    confusion: confusionRows(confusion),
  };
}
