// The only module that loads the native addon (build/Release/nndl.node). Typed wrapper over its
// API (see native/README.md); native errors are re-thrown as JS errors of the same class, created
// here so they carry a JS stack (the original is kept as `cause`).
import { createRequire } from 'node:module';
import type { Activation, Cost, PoolKind } from './spec.ts';
import type { NativeLayer, NetworkDesc, ParamSegment, Shape3 } from './network-plan.ts';
import { engineEnv } from '../config/engine-env.ts';

export type { Activation };
export type PoolMode = PoolKind;
export type CostName = Cost;

export interface TrainEpochOptions {
  images: Uint8Array;
  labels: Uint8Array;
  order: Uint32Array;
  batchSize: number;
  startBatch?: number;
  eta: number;
  momentum?: number;
  l2?: number;
  l1?: number;
  dropoutSeed?: number;
  /** On-the-fly distortions of the training images (native/src/augment.h); absent: none. */
  augment?: NativeAugment;
  cancel?: Int32Array;
  progress?: Int32Array;
}

/** The addon's augmentation settings: angles in degrees, distances in pixels; absent numbers are 0. */
export interface NativeAugment {
  seed: number;
  probability?: number;
  rotation?: number;
  scale?: number;
  shear?: number;
  translate?: number;
  elasticAlpha?: number;
  elasticSigma?: number;
  thickness?: number;
  bookShifts?: boolean;
}

export interface TrainEpochResult {
  batchesDone: number;
  cancelled: boolean;
  examples: number;
  costSum: number;
  correct: number;
  gradNormSum: Float64Array;
}

export interface EvaluateResult {
  costSum: number;
  correct: number;
  confusion: Uint32Array;
}

export interface GradientOptions {
  l2?: number;
  l1?: number;
  dropoutSeed?: number;
}

export interface NativeInfo {
  gemm: 'openblas' | 'portable';
  openblas: boolean;
  simd: string;
  maxThreads: number;
}

export interface ConvShape { H: number; W: number; C: number; F: number; K: number }
export interface PoolShape { H: number; W: number; C: number }
export interface DenseStepShape { rows: number; in: number; out: number; eta: number; l2: number }

export interface Kernels {
  gemm(transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number, A: Float32Array, lda: number,
    B: Float32Array, ldb: number, beta: number, C: Float32Array, ldc: number): void;
  convForward(shape: ConvShape, x: Float32Array, W: Float32Array, b: Float32Array, rows: number): Float32Array;
  convBackward(shape: ConvShape, x: Float32Array, W: Float32Array, dz: Float32Array, rows: number):
    { dW: Float32Array; db: Float32Array; dx: Float32Array };
  poolForward(mode: PoolMode, shape: PoolShape, x: Float32Array, rows: number): Float32Array;
  poolBackward(mode: PoolMode, shape: PoolShape, x: Float32Array, y: Float32Array, dy: Float32Array, rows: number): Float32Array;
  /**
   * One thread's fused dense backward + plain-SGD step (native/README.md): on a copy of W, the stepped
   * W = (1 − η·l2)·W − η/rows·dzᵀ·x, db = Σ dz, dx = dz·W (the old W; null unless withDx) and
   * sq = ‖dzᵀ·x/rows‖².
   */
  denseBackwardStep(shape: DenseStepShape, x: Float32Array, W: Float32Array, dz: Float32Array, withDx: boolean):
    { W: Float32Array; db: Float32Array; dx: Float32Array | null; sq: number };
  /** Fast kernels only: a distorted copy of rows H×W images, row r at epoch position posBase + r. */
  augment?(spec: NativeAugment, images: Float32Array, rows: number, H: number, W: number, posBase: number): Float32Array;
}

/** How evaluate/predict chunk their input (native/README.md): at most maxBytes of scratch. */
export interface InferencePlan {
  /** Scratch of one example: its input, every layer's output, conv im2col rows. */
  bytesPerRow: number;
  /** Examples per chunk (at most 64). */
  rows: number;
  /** Threads that take chunks. */
  threads: number;
  /** threads × rows × bytesPerRow: the most scratch inference holds. */
  maxBytes: number;
}

export interface NetworkOptions {
  /** Bytes of scratch evaluate/predict may hold, all threads together (0 or absent: no budget). */
  inferenceScratchBytes?: number;
}

interface RawNetwork {
  readonly paramCount: number;
  readonly threads: number;
  readonly scratchBytes: number;
  readonly inference: InferencePlan;
  readonly disposed: boolean;
  dispose(): void;
  trainThreads(batchSize: number): number;
  trainEpoch(o: TrainEpochOptions): Promise<TrainEpochResult>;
  evaluate(images: Uint8Array, labels: Uint8Array): Promise<EvaluateResult>;
  batchNormStatistics(images: Uint8Array): Promise<void>;
  predict(input: Float32Array): Promise<Float32Array>;
  gradient(input: Float32Array, labels: Uint8Array, opts?: GradientOptions): { cost: number; grad: Float32Array };
  forward(input: Float32Array): Float32Array;
}

/**
 * A description as the addon completes it (native/src/network_desc.cc): every layer's shapes, and a
 * parametric layer's offsets. network-plan.ts computes the same (test/native/layout.test.ts).
 */
export interface NativeDescription {
  inputShape: Shape3;
  paramCount: number;
  layers: ({ kind: NativeLayer['kind']; inShape: Shape3; outShape: Shape3; inSize: number; outSize: number }
    & Partial<Pick<ParamSegment, 'weightOffset' | 'weightLength' | 'biasOffset' | 'biasLength'>>
    & { normOffset?: number; normLength?: number })[];
}

/** The names the addon's tables know (native/src/vocabulary.h). */
export type NativeVocabulary = { costs: string[]; activations: string[]; poolModes: string[]; costLogFloor: number };

interface Addon {
  info(): NativeInfo;
  vocabulary(): NativeVocabulary;
  setGemm(impl: 'portable' | 'openblas'): string;
  describe(descJson: string): NativeDescription;
  Network: new (descJson: string, params: Float32Array, velocity: Float32Array | null, threads: number, options?: NetworkOptions) => RawNetwork;
  kernels: Kernels;
  reference: Kernels;
}

// NNDL_ADDON_PATH points at another build of the addon (e.g. a portable-ISA build under test).
const addonPath = engineEnv().NNDL_ADDON_PATH ?? '../../build/Release/nndl.node';
const addon = createRequire(import.meta.url)(addonPath) as Addon;

function rethrow(e: unknown): never {
  if (!(e instanceof Error)) throw e;
  const Ctor = e instanceof RangeError ? RangeError : e instanceof TypeError ? TypeError : Error;
  throw new Ctor(e.message, { cause: e });
}

function wrapSync<A extends unknown[], R>(fn: (...a: A) => R): (...a: A) => R {
  return (...args: A) => {
    try {
      return fn(...args);
    } catch (e) {
      return rethrow(e);
    }
  };
}

function wrapKernels(k: Kernels): Kernels {
  return {
    gemm: wrapSync(k.gemm),
    convForward: wrapSync(k.convForward),
    convBackward: wrapSync(k.convBackward),
    poolForward: wrapSync(k.poolForward),
    poolBackward: wrapSync(k.poolBackward),
    denseBackwardStep: wrapSync(k.denseBackwardStep),
    ...(k.augment ? { augment: wrapSync(k.augment) } : {}),
  };
}

/** Fast kernels and their naive references, for tests. */
export const kernels: Kernels = wrapKernels(addon.kernels);
export const reference: Kernels = wrapKernels(addon.reference);

export function nativeInfo(): NativeInfo {
  return addon.info();
}

export function nativeVocabulary(): NativeVocabulary {
  return addon.vocabulary();
}

/** The addon's own reading of a description (validated as the constructor does; throws the same errors). */
export function describeNative(desc: NetworkDesc): NativeDescription {
  return wrapSync(addon.describe)(JSON.stringify(desc));
}

/** Process-wide GEMM switch; throws RangeError for 'openblas' in a build without it. */
export function setGemm(impl: 'portable' | 'openblas'): void {
  wrapSync(addon.setGemm)(impl);
}

/**
 * A network whose parameters live in `params` (shared with the addon, never copied); `velocity`
 * (same length) is needed for momentum. Async methods run on the libuv pool; one job at a time
 * per network (later ones wait).
 */
export class NativeNetwork {
  readonly desc: NetworkDesc;
  readonly params: Float32Array;
  readonly velocity: Float32Array | null;
  private readonly raw: RawNetwork;

  constructor(desc: NetworkDesc, params: Float32Array, velocity: Float32Array | null, threads: number, options?: NetworkOptions) {
    this.desc = desc;
    this.params = params;
    this.velocity = velocity;
    try {
      this.raw = new addon.Network(JSON.stringify(desc), params, velocity, threads, options);
    } catch (e) {
      rethrow(e);
    }
  }

  /** How evaluate/predict chunk their input, and the most scratch they hold. */
  get inference(): InferencePlan {
    try {
      return this.raw.inference;
    } catch (e) {
      return rethrow(e);
    }
  }

  get disposed(): boolean {
    return this.raw.disposed;
  }

  /**
   * Frees the native scratch and joins the network's threads now rather than at garbage
   * collection. Jobs already queued or running finish first (the last one frees it); every later
   * call throws. Idempotent.
   */
  dispose(): void {
    this.raw.dispose();
  }

  get paramCount(): number {
    return this.raw.paramCount;
  }

  get threads(): number {
    return this.raw.threads;
  }

  /** Bytes of native scratch held now (it grows to the largest job seen; freed with the network). */
  get scratchBytes(): number {
    return this.raw.scratchBytes;
  }

  /**
   * Threads trainEpoch splits a mini-batch of this size across: the constructor's count, or 1
   * when a batch is too little work to share (small MLPs). Deterministic, like the weights.
   */
  trainThreads(batchSize: number): number {
    try {
      return this.raw.trainThreads(batchSize);
    } catch (e) {
      return rethrow(e);
    }
  }

  async trainEpoch(options: TrainEpochOptions): Promise<TrainEpochResult> {
    try {
      return await this.raw.trainEpoch(options);
    } catch (e) {
      return rethrow(e);
    }
  }

  async evaluate(images: Uint8Array, labels: Uint8Array): Promise<EvaluateResult> {
    try {
      return await this.raw.evaluate(images, labels);
    } catch (e) {
      return rethrow(e);
    }
  }

  /**
   * Precise batch-norm statistics: every batch-norm layer's running mean and variance (in params)
   * replaced by those of its z over `images` (n×784 bytes, n ≥ 1), layer by layer in inference mode.
   * Nothing else in params changes; the same figures on any thread count.
   */
  async batchNormStatistics(images: Uint8Array): Promise<void> {
    try {
      await this.raw.batchNormStatistics(images);
    } catch (e) {
      rethrow(e);
    }
  }

  async predict(input: Float32Array): Promise<Float32Array> {
    try {
      return await this.raw.predict(input);
    } catch (e) {
      return rethrow(e);
    }
  }

  /** Synchronous mean cost (+ regulariser) and its gradient, same layout as params. For tests. */
  gradient(input: Float32Array, labels: Uint8Array, opts?: GradientOptions): { cost: number; grad: Float32Array } {
    try {
      return this.raw.gradient(input, labels, opts);
    } catch (e) {
      return rethrow(e);
    }
  }

  /** Synchronous output activations, n × outputs. For tests. */
  forward(input: Float32Array): Float32Array {
    try {
      return this.raw.forward(input);
    } catch (e) {
      return rethrow(e);
    }
  }
}
