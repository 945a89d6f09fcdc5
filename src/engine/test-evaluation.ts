// The final evaluation on the test set: accuracy, mean cost (+ the regularization term, as the
// book's total_cost) and the confusion matrix. A single network uses the addon's evaluate();
// an ensemble averages its members' output activations and scores the average.
import { openNetwork } from './backend.ts';
import { confusionRows, evaluateOutputs, toFloatImages } from './evaluation.ts';
import { regularizationCost, type NetworkPlan } from './network-plan.ts';
import type { Experiment } from './spec.ts';
import type { DataSplit } from './split.ts';

const CHUNK = 2000;

/** Sum of the members' n × 10 outputs divided by their number, in chunks to bound memory. */
export async function averageOutputs(
  nets: { predict(input: Float32Array): Promise<Float32Array> }[], images: Uint8Array, count: number,
): Promise<Float32Array> {
  const avg = new Float32Array(count * 10);
  for (let s = 0; s < count; s += CHUNK) {
    const e = Math.min(count, s + CHUNK);
    const input = toFloatImages(images.subarray(s * 784, e * 784));
    const sum = new Float64Array((e - s) * 10);
    for (const net of nets) {
      const out = await net.predict(input);
      for (let i = 0; i < sum.length; i++) sum[i]! += out[i]!;
    }
    for (let i = 0; i < sum.length; i++) avg[s * 10 + i] = sum[i]! / nets.length;
  }
  return avg;
}

export async function evaluateTest(
  exp: Experiment, plan: NetworkPlan, members: Float32Array[], data: DataSplit, threads: number,
): Promise<{ testAccuracy: number; testCost: number; confusion: number[][] }> {
  const test = data.test;
  if (test.count === 0) return { testAccuracy: 0, testCost: 0, confusion: confusionRows(new Uint32Array(100)) };
  const t = exp.training;
  const n = data.training.count;
  const reg = members.reduce((s, p) => s + regularizationCost(plan, p, t.regularization, t.lambda, n), 0) / members.length;
  const nets = members.map((p) => openNetwork(plan.desc, p.slice(), null, threads));
  try {
    const e = nets.length === 1
      ? await nets[0]!.evaluate(test.images, test.labels)
      : evaluateOutputs(exp.network.cost, await averageOutputs(nets, test.images, test.count), test.labels);
    return { testAccuracy: e.correct / test.count, testCost: e.costSum / test.count + reg, confusion: confusionRows(e.confusion) };
  } finally {
    for (const net of nets) net.dispose();
  }
}
