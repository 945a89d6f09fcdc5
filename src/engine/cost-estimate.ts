// What a job will cost, from its Experiment alone (before anything is allocated): parameters,
// multiply-adds per image, the native scratch it holds per engine thread, and the image-steps it
// trains. The scratch figures mirror what the addon allocates (native/src/network.cc ensure() and
// plan_inference(); keep them in step): test/engine/cost-estimate.test.ts checks them against the
// addon's own scratchBytes.
import { augmentMacsPerImage } from './augment.ts';
import { type NativeNetworkDesc, outputSizeOf, paramLayout, planNetwork } from './network-plan.ts';
import type { Experiment } from './spec.ts';

/** Examples per evaluate/predict chunk without a budget, at most (native kInferChunk). */
export const INFER_CHUNK = 64;
/** A chunk's largest im2col matrix, at most (native kInferColBytes): conv nets chunk fewer examples. */
export const INFER_COL_BYTES = 2 * 1024 * 1024;
/** The MNIST test set every job is evaluated on at the end. */
export const TEST_IMAGES = 10_000;
/** Training images per MNIST image when the data is expanded (the image and its 4 one-pixel shifts). */
export const EXPANSION_FACTOR = 5;

/** Per-example scratch of one native network, in bytes. */
export type NetworkScratch = {
  /** What forward needs for one example: its input, every layer's output, conv im2col rows. */
  inferenceBytesPerRow: number;
  /** Examples per evaluate/predict chunk without a budget (plan_inference): INFER_CHUNK, or fewer for a large im2col. */
  inferenceChunkRows: number;
  /** What training adds per example: its label, every layer's delta, dropout inputs and masks. */
  trainingBytesPerRow: number;
  /** Each training thread's gradient buffer (one float per parameter). */
  gradientBytes: number;
  /** Each training thread's batch-norm slice statistics (a mean and a variance per filter of each batch-norm layer). */
  normStatsBytes: number;
};

export type JobCost = {
  /** Parameters of one network (weights and biases). */
  params: number;
  /** Networks trained (an ensemble's size, else 1). */
  members: number;
  /** Forward multiply-adds of one image through one network (dense and conv layers). */
  macsPerImage: number;
  /** Training images per epoch (trainSize, × 5 when expanded). */
  trainingImages: number;
  /** members × epochs × trainingImages: images pushed through forward and backward. */
  imageSteps: number;
  /**
   * Arithmetic data.augment adds per training image (distorted on the fly, so imageSteps and memory
   * do not grow; a rough count, dominated by the elastic field's smoothing). 0 without augmentation.
   */
  augmentMacsPerImage: number;
  /** ≈ (3 × macsPerImage + augmentMacsPerImage) × imageSteps (the forward product, the two of backward, the distortion);
   *  4 × macsPerImage under trainingMetrics 'after-epoch' (a forward pass over the training set after each epoch). */
  trainingMacs: number;
  /**
   * The most native scratch the job holds on one engine thread at any moment: a whole mini-batch
   * (the worst split), the gradient buffer and the evaluation chunks (inferenceChunkRows); an ensemble's
   * test evaluation holds every member's chunks.
   */
  trainingScratchBytesPerThread: number;
  /** Scratch to predict one image with the trained model (every member, one thread). */
  inferenceScratchBytesPerImage: number;
  /** The trained model's weights, all members, as float32. */
  weightsBytes: number;
};

/** Forward multiply-adds of one image (pooling is not counted: no multiplications). */
export function macsPerImage(desc: NativeNetworkDesc): number {
  let macs = 0;
  for (const l of desc.layers) {
    if (l.kind === 'dense') macs += l.inSize * l.outSize;
    else if (l.kind === 'conv') macs += l.outShape[0] * l.outShape[1] * l.filters * l.kernel * l.kernel * l.inShape[2];
  }
  return macs;
}

/**
 * Multiply-adds per image of precise batch-norm statistics (training.preciseBatchNorm): one
 * inference pass up to each batch-norm layer in turn, so a layer's work counts once for every
 * batch-norm layer at or after it.
 */
export function batchNormStatisticsMacsPerImage(desc: NativeNetworkDesc): number {
  let upTo = 0;
  let macs = 0;
  for (const l of desc.layers) {
    if (l.kind === 'dense') upTo += l.inSize * l.outSize;
    else if (l.kind === 'conv') {
      upTo += l.outShape[0] * l.outShape[1] * l.filters * l.kernel * l.kernel * l.inShape[2];
      if (l.batchNorm) macs += upTo;
    }
  }
  return macs;
}

/** Per-example scratch of the native network for this description (mirrors ensure()). */
export function networkScratch(desc: NativeNetworkDesc): NetworkScratch {
  const [h, w, c] = desc.inputShape;
  let inferFloats = h * w * c; // x0: the converted input
  let trainFloats = 0;
  let maskBytes = 1; // the label
  let colBytes = 0; // the largest im2col matrix of one example
  let normStatsBytes = 0;
  for (const l of desc.layers) {
    const outSize = outputSizeOf(l);
    inferFloats += outSize; // out
    trainFloats += outSize; // delta
    if (l.kind === 'conv') {
      const kkc = l.kernel * l.kernel * l.inShape[2];
      inferFloats += l.outShape[0] * l.outShape[1] * kkc; // im2col rows
      colBytes = Math.max(colBytes, 4 * l.outShape[0] * l.outShape[1] * kkc);
      if (l.batchNorm) {
        trainFloats += outSize; // the normalised z
        normStatsBytes += 2 * 4 * l.filters;
      }
    } else if (l.kind === 'dense' && l.dropout > 0) {
      trainFloats += l.inSize; // the dropped-out input
      maskBytes += l.inSize; // its mask
    }
  }
  const gradientBytes = 4 * paramLayout(desc).paramCount;
  const inferenceChunkRows = colBytes ? Math.min(INFER_CHUNK, Math.max(1, Math.floor(INFER_COL_BYTES / colBytes))) : INFER_CHUNK;
  return { inferenceBytesPerRow: 4 * inferFloats, inferenceChunkRows, trainingBytesPerRow: 4 * trainFloats + maskBytes, gradientBytes, normStatsBytes };
}

/**
 * Scratch one thread of a native network holds after training on slices of `trainRows` examples
 * and evaluating in chunks of `evalRows` (0: never evaluated): the forward buffers for the larger
 * of the two, the backward buffers and the gradient for training.
 */
export function threadScratchBytes(s: NetworkScratch, trainRows: number, evalRows: number): number {
  const forwardRows = Math.max(trainRows, evalRows);
  return forwardRows * s.inferenceBytesPerRow + (trainRows > 0 ? trainRows * s.trainingBytesPerRow + s.gradientBytes + s.normStatsBytes : 0);
}

export function estimateCost(experiment: Experiment): JobCost {
  const plan = planNetwork(experiment.network);
  const s = networkScratch(plan.desc);
  const members = experiment.ensemble?.size ?? 1;
  const { trainSize, validationSize, expand } = experiment.data;
  const trainingImages = trainSize * (expand ? EXPANSION_FACTOR : 1);
  const imageSteps = members * experiment.training.epochs * trainingImages;
  const macs = macsPerImage(plan.desc);
  const augmentMacs = augmentMacsPerImage(experiment.data.augment, plan.desc.inputShape[0] * plan.desc.inputShape[1]);
  // Training: the whole mini-batch on one thread is the worst split; validation in chunks (at most 64 images).
  const training = threadScratchBytes(s, experiment.training.miniBatchSize, Math.min(s.inferenceChunkRows, validationSize));
  // The test evaluation opens every member at once (the training networks are gone by then).
  const test = members * threadScratchBytes(s, 0, Math.min(s.inferenceChunkRows, TEST_IMAGES));
  return {
    params: plan.paramCount,
    members,
    macsPerImage: macs,
    trainingImages,
    imageSteps,
    augmentMacsPerImage: augmentMacs,
    trainingMacs: ((experiment.training.trainingMetrics === 'after-epoch' ? 4 : 3) * macs + augmentMacs) * imageSteps
      // chapter 5's measure: forward and backward over biasGradientImages, at init and after each epoch
      + 3 * macs * members * (experiment.training.epochs + 1) * (experiment.training.biasGradientImages ?? 0)
      // precise batch norm: after each epoch, the passes over preciseBatchNorm images
      + batchNormStatisticsMacsPerImage(plan.desc) * members * experiment.training.epochs * (experiment.training.preciseBatchNorm ?? 0),
    trainingScratchBytesPerThread: Math.max(training, test),
    inferenceScratchBytesPerImage: members * s.inferenceBytesPerRow,
    weightsBytes: members * plan.paramCount * 4,
  };
}
