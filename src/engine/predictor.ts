// createPredictor: a trained model ready to answer. Each member is a native Network over its own
// copy of the weights; predict() runs them on the addon's threads and returns probabilities (see
// normaliseOutputs); an ensemble returns the mean of its members' probabilities, or their vote
// shares under ensemble.combine 'vote' (addMember: argmax = the plurality, ties to the smallest digit). The members'
// prediction scratch shares one budget (options.scratchBytes, PREDICT_SCRATCH_BYTES in the service):
// chunk sizes follow from it, and `bytes` counts it with the weights.
import { openNetwork } from './backend.ts';
import { BudgetError, DEFAULT_BUDGETS, formatBytes } from './budget.ts';
import { macsPerImage, networkScratch } from './cost-estimate.ts';
import { addMember, normaliseOutputs } from './evaluation.ts';
import { planNetwork } from './network-plan.ts';
import { combineOf, type EngineBackend } from './spec.ts';
import type { TrainedModel } from './training-types.ts';

export interface Predictor {
  /** n × 784 floats in [0, 1] -> n × 10 probabilities. */
  predict(input: Float32Array): Promise<Float32Array>;
  /** Memory held at most: the weights plus the native prediction scratch (its cap, all members). */
  readonly bytes: number;
  /** Frees the native scratch and threads now (after predictions in flight); later calls throw. */
  dispose(): void;
}

export type PredictorOptions = {
  threads?: number;
  /** Which engine runs the predictions (default native, whichever trained the model). */
  backend?: EngineBackend;
  /** Native scratch the model may hold to predict, all members and threads (default PREDICT_SCRATCH_BYTES's 64 MiB). */
  scratchBytes?: number;
};

/**
 * A batch this small (multiply-adds, all members) runs synchronously on the calling thread
 * (the addon's forward): well under 1 ms of arithmetic, cheaper than the thread-pool round trip
 * of predict(). A [784,30,10] MLP stays under it up to ~80 images (0.05 ms); conv nets go async beyond an image or two.
 */
export const SYNC_MAX_MACS = 2_000_000;

/** BudgetError (PREDICT_SCRATCH_BYTES) when one image needs more scratch than options.scratchBytes. */
export function createPredictor(model: TrainedModel, options: PredictorOptions = {}): Predictor {
  const plan = planNetwork(model.experiment.network);
  const threads = options.threads ?? 1;
  const backend = options.backend ?? 'native';
  const scratchBytes = options.scratchBytes ?? DEFAULT_BUDGETS.PREDICT_SCRATCH_BYTES;
  const members = model.members.length;
  // Checked before any native allocation (the addon would refuse too, with a plainer message).
  const perImage = members * networkScratch(plan.desc).inferenceBytesPerRow;
  if (backend === 'native' && perImage > scratchBytes) {
    throw new BudgetError([{
      budget: 'PREDICT_SCRATCH_BYTES', figure: 'inferenceScratchBytesPerImage', value: perImage, limit: scratchBytes,
      message: `this model needs ${formatBytes(perImage)} of scratch to predict one image, above PREDICT_SCRATCH_BYTES = ` +
        `${formatBytes(scratchBytes)}: it cannot be served here`,
    }]);
  }
  const inferenceScratchBytes = Math.floor(scratchBytes / members);
  const nets: ReturnType<typeof openNetwork>[] = [];
  try {
    for (const m of model.members) nets.push(openNetwork(plan.desc, m.params.slice(), null, threads, backend, { inferenceScratchBytes }));
  } catch (err) {
    for (const net of nets) net.dispose();
    throw err;
  }
  // tfjs's forward blocks on its worker thread: only the native one is worth running inline
  const syncMaxImages = backend === 'native' ? Math.floor(SYNC_MAX_MACS / (macsPerImage(plan.desc) * nets.length || 1)) : 0;
  const layers = model.experiment.network.layers;
  const last = layers[layers.length - 1]!;
  const softmax = last.type === 'dense' && last.activation === 'softmax';
  const combine = combineOf(model.experiment);
  const finish = (sum: Float32Array) => {
    for (let i = 0; i < sum.length; i++) sum[i]! /= nets.length;
    return sum;
  };
  let disposed = false;
  // The addon refuses a synchronous forward while an asynchronous predict runs on the same network
  // ("busy"): small batches go inline only when no asynchronous call is in flight.
  let asyncInFlight = 0;
  // The weights' copies plus each member's scratch cap (tfjs keeps its buffers in its worker: weights twice).
  const weights = nets.length * plan.paramCount * 4;
  const bytes = weights + nets.reduce((sum, net) => sum + (net.inference?.().maxBytes ?? plan.paramCount * 4), 0);
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
      if (n <= syncMaxImages && asyncInFlight === 0) {
        // no await between the members: nothing else can start on them meanwhile
        const sum = new Float32Array(n * 10);
        for (const net of nets) {
          const p = normaliseOutputs(net.forward(input), softmax);
          if (nets.length === 1) return p;
          addMember(sum, p, combine);
        }
        return finish(sum);
      }
      asyncInFlight++;
      try {
        if (nets.length === 1) return normaliseOutputs(await nets[0]!.predict(input), softmax);
        const sum = new Float32Array(n * 10);
        for (const net of nets) addMember(sum, normaliseOutputs(await net.predict(input), softmax), combine);
        return finish(sum);
      } finally {
        asyncInFlight--;
      }
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      for (const net of nets) net.dispose();
    },
  };
}
