// The final evaluation on the test set: accuracy, mean cost (+ the regularization term, as the
// book's total_cost) and the confusion matrix. A single network uses the addon's evaluate();
// an ensemble combines its members as ensemble.combine says (mean probabilities or plurality vote).
import { openNetwork } from './backend.ts';
import { addMember, argmax10, confusionRows, evaluateOutputs, exampleCost, normaliseOutputs, toFloatImages } from './evaluation.ts';
import type { LabelledImages } from './mnist.ts';
import { planNetwork, regularizationCostAsync, regularizationN, type NetworkPlan } from './network-plan.ts';
import { combineOf, type Combine, type Cost, type EngineBackend, type Experiment } from './spec.ts';
import type { DataSplit } from './split.ts';
import type { TrainedModel } from './training-types.ts';

const CHUNK = 500; // images per predict call: bounds memory and each synchronous conversion

/**
 * An ensemble's output: the mean of its members' probabilities (normaliseOutputs of each member's
 * outputs) or their vote shares (addMember), computed in chunks to bound memory; also each
 * member's cost summed over the images.
 */
export async function ensembleOutputs(
  nets: { predict(input: Float32Array): Promise<Float32Array> }[], images: Uint8Array, labels: Uint8Array | null,
  count: number, cost: Cost, softmax: boolean, combine: Combine = 'mean',
): Promise<{ probabilities: Float32Array; memberCostSums: number[] }> {
  const probabilities = new Float32Array(count * 10);
  const memberCostSums = nets.map(() => 0);
  for (let s = 0; s < count; s += CHUNK) {
    const e = Math.min(count, s + CHUNK);
    const input = toFloatImages(images.subarray(s * 784, e * 784));
    const sum = new Float64Array((e - s) * 10);
    for (const [k, net] of nets.entries()) {
      const out = await net.predict(input);
      if (labels) for (let i = 0; i < e - s; i++) memberCostSums[k]! += exampleCost(cost, out, i * 10, labels[s + i]!);
      addMember(sum, normaliseOutputs(out, softmax), combine);
    }
    for (let i = 0; i < sum.length; i++) probabilities[s * 10 + i] = sum[i]! / nets.length;
  }
  return { probabilities, memberCostSums };
}

export async function evaluateTest(
  exp: Experiment, plan: NetworkPlan, members: Float32Array[], data: DataSplit, threads: number, backend: EngineBackend = 'native',
): Promise<{ testAccuracy: number; testCost: number; confusion: number[][] }> {
  const test = data.test;
  if (test.count === 0) return { testAccuracy: 0, testCost: 0, confusion: confusionRows(new Uint32Array(100)) };
  const t = exp.training;
  // the training set's n (as training), or the test set's under evaluationCostN 'evaluated' (network2's total_cost)
  const n = regularizationN(t, t.evaluationCostN === 'evaluated' ? test.count : data.training.count);
  let reg = 0;
  for (const p of members) reg += (await regularizationCostAsync(plan, p, t.regularization, t.lambda, n)) / members.length;
  const nets = members.map((p) => openNetwork(plan.desc, p.slice(), null, threads, backend));
  try {
    if (nets.length === 1) {
      const e = await nets[0]!.evaluate(test.images, test.labels);
      return { testAccuracy: e.correct / test.count, testCost: e.costSum / test.count + reg, confusion: confusionRows(e.confusion) };
    }
    // Ensemble: accuracy and confusion of the combined outputs; cost = the members' mean cost.
    const last = exp.network.layers[exp.network.layers.length - 1]!;
    const softmax = last.type === 'dense' && last.activation === 'softmax';
    const { probabilities, memberCostSums } = await ensembleOutputs(nets, test.images, test.labels, test.count, exp.network.cost, softmax, combineOf(exp));
    const e = evaluateOutputs(exp.network.cost, probabilities, test.labels);
    const meanCost = memberCostSums.reduce((a, b) => a + b, 0) / nets.length / test.count;
    return { testAccuracy: e.correct / test.count, testCost: meanCost + reg, confusion: confusionRows(e.confusion) };
  } finally {
    for (const net of nets) net.dispose();
  }
}

/**
 * The digit a model predicts for each image of a set, its members combined as ensemble.combine says:
 * conv.py's per-network test_predictions, which its plurality vote is taken over.
 */
export async function predictDigits(model: TrainedModel, set: LabelledImages, threads: number): Promise<Uint8Array> {
  const exp = model.experiment;
  const plan = planNetwork(exp.network);
  const last = exp.network.layers[exp.network.layers.length - 1]!;
  const softmax = last.type === 'dense' && last.activation === 'softmax';
  const nets = model.members.map((m) => openNetwork(plan.desc, m.params.slice(), null, threads));
  try {
    const { probabilities } = await ensembleOutputs(nets, set.images, null, set.count, exp.network.cost, softmax, combineOf(exp));
    const digits = new Uint8Array(set.count);
    for (let i = 0; i < set.count; i++) digits[i] = argmax10(probabilities, i * 10);
    return digits;
  } finally {
    for (const net of nets) net.dispose();
  }
}
