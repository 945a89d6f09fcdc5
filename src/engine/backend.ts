// The slice of the native addon (through src/engine/native.ts, the one file that loads it) that the
// TypeScript engine uses, behind a small typed interface: open a Network over a parameter array.
import { availableParallelism } from 'node:os';
import * as native from './native.ts';
import { hasBatchNorm, type NativeNetworkDesc } from './network-plan.ts';
import type { EngineBackend } from './spec.ts';
import { openTfjsNetwork } from './tfjs/tfjs-handle.ts';

export type TrainEpochJob = {
  images: Uint8Array; labels: Uint8Array; order: Uint32Array; batchSize: number; startBatch: number;
  eta: number; momentum: number; l2: number; l1: number; dropoutSeed: number;
  /** Native only (the trainer refuses data.augment on tfjs). */
  augment?: native.NativeAugment;
  cancel?: Int32Array; progress?: Int32Array;
};
export type TrainEpochResult = {
  batchesDone: number; cancelled: boolean; examples: number; costSum: number; correct: number; gradNormSum: Float64Array;
};

export interface NetworkHandle {
  trainEpoch(job: TrainEpochJob): Promise<TrainEpochResult>;
  evaluate(images: Uint8Array, labels: Uint8Array): Promise<{ costSum: number; correct: number; confusion: Uint32Array }>;
  predict(input: Float32Array): Promise<Float32Array>;
  gradient(input: Float32Array, labels: Uint8Array, opts?: { l2?: number; l1?: number; dropoutSeed?: number }): { cost: number; grad: Float32Array };
  forward(input: Float32Array): Float32Array;
  dispose(): void;
  /** Native networks: how evaluate/predict chunk their input and the most scratch they hold. */
  inference?(): native.InferencePlan;
  /** Native networks: precise batch-norm statistics over these images (NativeNetwork.batchNormStatistics). */
  batchNormStatistics?(images: Uint8Array): Promise<void>;
}

export type NativeInfo = { gemm: 'openblas' | 'portable'; simd: string; maxThreads: number };

export function nativeInfo(): NativeInfo {
  const i = native.nativeInfo();
  return { gemm: i.gemm, simd: i.simd, maxThreads: i.maxThreads };
}

/**
 * options.inferenceScratchBytes bounds the native network's evaluate/predict scratch (all threads
 * together; native/README.md): chunk sizes follow from it; RangeError when one image needs more.
 */
export function openNetwork(
  desc: NativeNetworkDesc, params: Float32Array, velocity: Float32Array | null, threads: number, backend: EngineBackend = 'native',
  options: native.NetworkOptions = {},
): NetworkHandle {
  // tfjs: the same contract over TensorFlow.js ops in the process's tfjs worker thread (src/engine/tfjs).
  // It has no batch normalisation: such a network (which only the native engine trains) is evaluated
  // and served natively, whatever the default backend.
  if (backend === 'tfjs' && !hasBatchNorm(desc)) return openTfjsNetwork(desc, params, velocity);
  const net = new native.NativeNetwork(desc, params, velocity, threads, options);
  return {
    trainEpoch: (job) => net.trainEpoch(job),
    evaluate: (images, labels) => net.evaluate(images, labels),
    predict: (input) => net.predict(input),
    gradient: (input, labels, opts) => net.gradient(input, labels, opts),
    forward: (input) => net.forward(input),
    // Frees the scratch and joins the threads now (after any job in flight), not at garbage collection.
    dispose: () => net.dispose(),
    inference: () => net.inference,
    batchNormStatistics: (images) => net.batchNormStatistics(images),
  };
}

/** Threads a run uses unless told otherwise: the cores here, capped by what the addon supports. */
export function defaultThreads(): number {
  return Math.max(1, Math.min(availableParallelism(), nativeInfo().maxThreads));
}

export type EngineInfo = { backend: 'native'; gemm: 'openblas' | 'portable'; simd: string; threads: number };

/** engineInfo(): which arithmetic backs the engine here (for /readyz, metrics and benchmarks). */
export function engineInfo(): EngineInfo {
  const info = nativeInfo();
  return { backend: 'native', gemm: info.gemm, simd: info.simd, threads: defaultThreads() };
}
