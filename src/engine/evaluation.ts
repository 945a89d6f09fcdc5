// Evaluation helpers in TypeScript: the book's costs on output activations, argmax, confusion
// matrices, output -> probabilities, and bytes -> floats. The native evaluate() covers a single
// network; these cover ensembles (averaged outputs) and the predictor.
import { COST_LOG_FLOOR, unreachable, type Combine, type Cost } from './spec.ts';

/** MNIST bytes (n × 784) -> floats in [0, 1], as the addon's predict() takes them. */
export function toFloatImages(images: Uint8Array): Float32Array {
  const out = new Float32Array(images.length);
  for (let i = 0; i < images.length; i++) out[i] = images[i]! / 255;
  return out;
}

/** Cost of one output vector (10 values at `at`) for label y, as the book defines it. */
export function exampleCost(cost: Cost, out: Float32Array, at: number, y: number): number {
  // the floor keeps 0·ln 0 finite (network2's np.nan_to_num), as every backend does
  const log = (x: number) => Math.log(Math.max(x, COST_LOG_FLOOR));
  let c = 0;
  switch (cost) {
    case 'quadratic':
      for (let j = 0; j < 10; j++) c += 0.5 * (out[at + j]! - (j === y ? 1 : 0)) ** 2;
      return c;
    case 'cross-entropy':
      for (let j = 0; j < 10; j++) c -= j === y ? log(out[at + j]!) : log(1 - out[at + j]!);
      return c;
    case 'log-likelihood':
      return -log(out[at + y]!);
    default:
      return unreachable(cost, 'cost');
  }
}

export function argmax10(out: Float32Array, at: number): number {
  let best = 0;
  for (let j = 1; j < 10; j++) if (out[at + j]! > out[at + best]!) best = j;
  return best;
}

export type Evaluation = { costSum: number; correct: number; confusion: Uint32Array };

/** Accuracy, summed cost and confusion ([actual*10+predicted]) of n × 10 outputs. */
export function evaluateOutputs(cost: Cost, outputs: Float32Array, labels: Uint8Array): Evaluation {
  const confusion = new Uint32Array(100);
  let costSum = 0;
  let correct = 0;
  for (let i = 0; i < labels.length; i++) {
    const p = argmax10(outputs, i * 10);
    const y = labels[i]!;
    confusion[y * 10 + p]!++;
    if (p === y) correct++;
    costSum += exampleCost(cost, outputs, i * 10, y);
  }
  return { costSum, correct, confusion };
}

export function confusionRows(flat: Uint32Array): number[][] {
  return Array.from({ length: 10 }, (_, r) => Array.from(flat.subarray(r * 10, r * 10 + 10)));
}

/**
 * Output activations -> probabilities summing to 1. Softmax outputs already are; sigmoid (or
 * other) outputs are clamped at 0 and normalised by their sum (uniform if all are 0), which keeps
 * their ranking. Works in place on n × 10.
 */
export function normaliseOutputs(out: Float32Array, softmax: boolean): Float32Array {
  if (softmax) return out;
  for (let at = 0; at < out.length; at += 10) {
    let s = 0;
    for (let j = 0; j < 10; j++) {
      const v = Math.max(0, out[at + j]!);
      out[at + j] = v;
      s += v;
    }
    for (let j = 0; j < 10; j++) out[at + j] = s > 0 ? out[at + j]! / s : 0.1;
  }
  return out;
}

/**
 * Adds one member's n × 10 probabilities to an ensemble's running sum: the probabilities themselves
 * ('mean'), or one vote for the member's predicted digit ('vote', conv.py's plurality vote). Dividing
 * the sum by the member count gives mean probabilities or vote shares; the ensemble's prediction is
 * their argmax, so a tied vote goes to the smallest of the tied digits (argmax10 keeps the first
 * maximum). conv.py leaves ties to Counter.most_common (Python 2 dict order): ours is documented instead.
 */
export function addMember(sum: Float32Array | Float64Array, p: Float32Array, combine: Combine): void {
  if (combine === 'mean') {
    for (let i = 0; i < sum.length; i++) sum[i]! += p[i]!;
    return;
  }
  for (let at = 0; at < sum.length; at += 10) sum[at + argmax10(p, at)]! += 1;
}
