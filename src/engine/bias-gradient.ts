// Chapter 5's measure of the speed of learning: for each hidden layer l, ‖∂C/∂b^l‖ — the norm of
// the bias gradient averaged over the first N training images (the book's generate_gradient.py:
// 1,000 images, at initialisation and after each epoch). The addon's synchronous gradient() runs
// in chunks of one mini-batch (the scratch training already holds), yielding between chunks.
import type { NetworkHandle } from './backend.ts';
import type { LabelledImages } from './mnist.ts';
import type { NetworkPlan } from './network-plan.ts';
import { toFloatImages } from './evaluation.ts';

/** Per hidden parametric layer (every dense/conv layer but the output), in order. */
export async function biasGradientNorms(
  net: NetworkHandle, plan: NetworkPlan, data: LabelledImages, images: number, chunk: number,
): Promise<number[]> {
  const hidden = plan.segments.slice(0, -1);
  const count = Math.min(images, data.count);
  if (count < 1 || hidden.length === 0) return [];
  const size = plan.desc.inputShape[0] * plan.desc.inputShape[1] * plan.desc.inputShape[2];
  const sums = hidden.map((s) => new Float64Array(s.biasLength));
  for (let from = 0; from < count; from += chunk) {
    const to = Math.min(count, from + chunk);
    // dropout off, no regularization (biases carry none): the gradient of the plain cost
    const { grad } = net.gradient(toFloatImages(data.images.subarray(from * size, to * size)), data.labels.subarray(from, to));
    hidden.forEach((s, k) => {
      const sum = sums[k]!;
      for (let i = 0; i < s.biasLength; i++) sum[i]! += grad[s.biasOffset + i]! * (to - from); // gradient() is a mean
    });
    await new Promise((r) => setImmediate(r));
  }
  return sums.map((sum) => Math.sqrt(sum.reduce((a, v) => a + (v / count) ** 2, 0)));
}
