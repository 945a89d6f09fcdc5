// createPredictor: a trained model ready to answer. Each member is a native Network over its own
// copy of the weights; predict() runs them on the addon's threads and returns probabilities (see
// normaliseOutputs); an ensemble returns the mean of its members' probabilities.
import { openNetwork } from './backend.ts';
import { normaliseOutputs } from './evaluation.ts';
import { type NativeNetworkDesc, planNetwork } from './network-plan.ts';
import type { EngineBackend } from './spec.ts';
import type { TrainedModel } from './training-types.ts';

export interface Predictor {
  /** n × 784 floats in [0, 1] -> n × 10 probabilities. */
  predict(input: Float32Array): Promise<Float32Array>;
  /** Approximate memory held: weights plus the native network's own buffers (estimated). */
  readonly bytes: number;
  dispose(): void;
}

/**
 * A batch this small (multiply-adds, all members) runs synchronously on the calling thread
 * (the addon's forward): well under 1 ms of arithmetic, cheaper than the thread-pool round trip
 * of predict(). A [784,30,10] MLP stays under it up to ~80 images (0.05 ms); conv nets go async beyond an image or two.
 */
export const SYNC_MAX_MACS = 2_000_000;

/** Multiply-adds of one image through the network (dense and conv layers; pooling ignored). */
export function macsPerImage(desc: NativeNetworkDesc): number {
  let macs = 0;
  for (const l of desc.layers) {
    if (l.kind === 'dense') macs += (l.inSize ?? 0) * l.outSize;
    else if (l.kind === 'conv' && l.outShape && l.inShape) macs += l.outShape[0] * l.outShape[1] * l.filters * l.kernel * l.kernel * l.inShape[2];
  }
  return macs;
}

/** options.backend: which engine runs the predictions (default native, whichever trained the model). */
export function createPredictor(model: TrainedModel, options: { threads?: number; backend?: EngineBackend } = {}): Predictor {
  const plan = planNetwork(model.experiment.network);
  const threads = options.threads ?? 1;
  const backend = options.backend ?? 'native';
  const nets = model.members.map((m) => openNetwork(plan.desc, m.params.slice(), null, threads, backend));
  // tfjs's forward blocks on its worker thread: only the native one is worth running inline
  const syncMaxImages = backend === 'native' ? Math.floor(SYNC_MAX_MACS / (macsPerImage(plan.desc) * nets.length || 1)) : 0;
  const layers = model.experiment.network.layers;
  const last = layers[layers.length - 1]!;
  const softmax = last.type === 'dense' && last.activation === 'softmax';
  let disposed = false;
  // Activation buffers in the addon scale with the batch; count weights twice as a fair estimate.
  const bytes = nets.length * plan.paramCount * 4 * 2;
  return {
    bytes,
    async predict(input: Float32Array): Promise<Float32Array> {
      if (disposed) throw new Error('predictor was disposed');
      if (input.length === 0 || input.length % 784 !== 0) {
        throw new RangeError(`predict: input must be n × 784 floats, got ${input.length}`);
      }
      for (let i = 0; i < input.length; i++) {
        if (!Number.isFinite(input[i])) throw new RangeError(`predict: input value ${i} is not a finite number`);
      }
      const n = input.length / 784;
      const sync = n <= syncMaxImages;
      const run = (net: (typeof nets)[number]) => (sync ? net.forward(input) : net.predict(input));
      if (nets.length === 1) return normaliseOutputs(await run(nets[0]!), softmax);
      const sum = new Float32Array(n * 10);
      for (const net of nets) {
        const p = normaliseOutputs(await run(net), softmax);
        for (let i = 0; i < sum.length; i++) sum[i]! += p[i]! / nets.length;
      }
      return sum;
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      for (const net of nets) net.dispose();
    },
  };
}
