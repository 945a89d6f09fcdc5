// The shapes the trainer produces and consumes: per-epoch metrics, checkpoints, trained models,
// and the slice of the native Network the TypeScript side relies on (native/README.md).
import type { EngineBackend, Experiment } from './spec.ts';
import type { RngState } from './rng.ts';
import type { DataSplit } from './split.ts';

export type EpochMetrics = {
  member: number;               // ensemble member (0 for a single network)
  epoch: number;                // 1-based
  epochs: number;
  trainingCost: number;         // mean cost over the epoch's examples (before each update) + regularization term
  trainingAccuracy: number;     // fraction right in the forward passes of the epoch
  validationCost: number | null;     // null when validationSize is 0
  validationAccuracy: number | null;
  eta: number;                  // η used during this epoch
  seconds: number;
  imagesPerSecond: number;
  gradientNorms: number[];      // per parametric layer: mean over mini-batches of ‖∂C/∂W‖₂
  /** training.biasGradientImages > 0: per hidden layer, ‖∂C/∂b‖ over the first N training images after this epoch. */
  biasGradientNorms?: number[];
  /** The same at initialisation: on the first epoch's metrics only. */
  initialBiasGradientNorms?: number[];
};

/** Learning-rate schedule and early-stopping state, carried across epochs (and checkpoints). */
export type ScheduleState = {
  eta: number;
  bestValidationAccuracy: number;   // -1 before the first validation
  epochsSinceImprovement: number;   // for early stopping
  epochsSinceHalving: number;       // for halve-on-plateau: epochs without improvement since the last halving
  stopped: boolean;
};

/** Running sums of an epoch cut by a cancel/interrupt, so resuming reports the same metrics. */
export type PartialEpoch = {
  costSum: number; correct: number; examples: number; gradNormSum: number[]; batches: number; seconds: number;
};

export type Checkpoint = {
  format: 'nndl-checkpoint';
  version: 1;
  experiment: Experiment;
  member: number;                    // member being trained
  epoch: number;                     // epochs completed by this member
  batch: number;                     // mini-batches done in epoch `epoch` (0 at an epoch boundary)
  rng: RngState;                     // rng state at the start of epoch `epoch` (before its shuffle)
  schedule: ScheduleState;
  partial: PartialEpoch | null;      // sums of the cut epoch (null when batch = 0)
  params: Float32Array;
  velocity: Float32Array | null;     // momentum buffers (null without momentum)
  history: EpochMetrics[];           // this member's completed epochs
  /** training.biasGradientImages: the norms at initialisation, until epoch 1's metrics carry them (absent: none). */
  initialBiasGradientNorms?: number[] | null;
  /** keep 'best-validation': this member's best validation epoch so far and its weights (absent in older checkpoints). */
  best?: BestEpoch | null;
  /** training.average: the mean of this member's weights over the epochs averaged so far (absent in older checkpoints). */
  average?: WeightAverage | null;
  completed: CompletedMember[];      // earlier ensemble members
  threads: number;                   // thread count of the run (bit-identical resume needs the same)
  trainingSeconds: number;
};

/** The epoch of best validation accuracy so far (ties go to the later epoch, as network3.py's >=) and its weights. */
export type BestEpoch = { epoch: number; validationAccuracy: number; params: Float32Array };

/** The running mean of a member's weights after each of `epochs` epochs (training.average). */
export type WeightAverage = { epochs: number; params: Float32Array };

/** A trained member: the weights it keeps, and the final ones when they differ (keep 'best-validation'). */
export type CompletedMember = {
  params: Float32Array;              // the weights kept: the best validation epoch's, the average's, or the last epoch's
  history: EpochMetrics[];
  keptEpoch?: number;                // 1-based epoch of `params` (absent in older checkpoints: the last epoch)
  finalParams?: Float32Array;        // the last epoch's weights, only when they are not `params`
};

export type TrainedModel = {
  format: 'nndl-model';
  version: 1;
  experiment: Experiment;
  members: { params: Float32Array; history: EpochMetrics[] }[];
  testAccuracy: number;              // of the kept weights (training.keep), combined as ensemble.combine says
  testCost: number;
  confusion: number[][];             // [actual][predicted]
  // Set by train(); absent in models made before keep existed (and in hand-made ones): the last epoch.
  /** Per member, the 1-based epoch whose weights it holds (its best validation epoch under keep 'best-validation';
   *  under training.average, the last epoch of the mean: epochs fromEpoch…keptEpoch). */
  keptEpochs?: number[];
  /** Test accuracy and cost of the last epoch's weights (the same as testAccuracy/testCost when those are kept). */
  finalTestAccuracy?: number;
  finalTestCost?: number;
  backend: EngineBackend;            // which backend trained it (either predicts it)
  trainingSeconds: number;
};

export type TrainProgress = { member: number; epoch: number; batch: number; batches: number };

/**
 * How often train() reports progress within an epoch (onProgress, from the addon's batch counter):
 * the one rate of progress reports — a job's `progress` events come at it (the worker publishes each
 * report), and so does `npm run train`'s bar.
 */
export const PROGRESS_INTERVAL_MS = 500;

export type TrainOptions = {
  data: DataSplit;
  threads?: number;
  maxThreads?: number;               // a ceiling (a worker's ENGINE_THREADS): the thread count, a checkpoint's included, is lowered to it
  backend?: EngineBackend;           // used when the experiment names none (default 'native')
  checkpoint?: Checkpoint;
  signal?: Int32Array;               // SharedArrayBuffer-backed; 1 = cancel, 2 = interrupt
  onEpoch?: (m: EpochMetrics, checkpoint: Checkpoint) => void | Promise<void>;
  onProgress?: (p: TrainProgress) => void;
  progressIntervalMs?: number;       // how often onProgress polls the addon's batch counter (default PROGRESS_INTERVAL_MS)
};

export type TrainResult =
  | { status: 'completed'; model: TrainedModel }
  | { status: 'cancelled' | 'interrupted'; checkpoint: Checkpoint };

export const SIGNAL_CANCEL = 1;
export const SIGNAL_INTERRUPT = 2;
