// The experiment spec: zod schemas for the input a client sends, the complete Experiment the
// engine trains, and the semantic checks zod's shapes cannot express (shapes, output layer, cost).
import { z } from 'zod';

export const ACTIVATIONS = ['sigmoid', 'tanh', 'relu', 'linear'] as const;
export const OUTPUT_ACTIVATIONS = [...ACTIVATIONS, 'softmax'] as const;
// The engine's vocabulary, said once for TypeScript (native/src/vocabulary.h holds the addon's
// tables; test/engine/vocabulary.test.ts fails when they disagree). Adding a cost: a row here, a
// row in COST_OUTPUT_ACTIVATIONS, its formula in evaluation.ts (exampleCost), tfjs/tfjs-ops.ts
// (exampleCosts) and native/src/cost.cc, and a row in vocabulary.h.
export const COSTS = ['quadratic', 'cross-entropy', 'log-likelihood'] as const;
/** The output activations each cost accepts (the one statement of the allowed pairs). */
export const COST_OUTPUT_ACTIVATIONS: Record<(typeof COSTS)[number], readonly (typeof OUTPUT_ACTIVATIONS)[number][]> = {
  quadratic: OUTPUT_ACTIVATIONS,
  'cross-entropy': ['sigmoid', 'softmax'],
  'log-likelihood': ['softmax'],
};
/** The one floor under every log of a cost (kCostLogFloor in native/src/cost.h): a normal float32, so every backend clamps alike. */
export const COST_LOG_FLOOR = 1e-30;
export const POOL_KINDS = ['max', 'l2', 'avg'] as const;
/** Which weights a trained member keeps: those of its best validation epoch (network3.py) or its last epoch. */
export const KEEP = ['best-validation', 'final'] as const;
/** How an ensemble decides: plurality vote of the members' predictions (conv.py) or the mean of their probabilities. */
export const COMBINE = ['vote', 'mean'] as const;
/** Weight initialisations: network2's default (fan-in), network.py's large, network3.py's (fan-out). */
export const INITS = ['default', 'large', 'network3'] as const;
/** Dropout: inverted (kept inputs ×1/(1−p) in training) or network3.py's (W·x ×(1−p) at inference). */
export const DROPOUT_STYLES = ['inverted', 'network3'] as const;
/** The n of the regularization term: the training images (network2: λ/2n·Σw²) or network3's mini-batches per epoch. */
export const REGULARIZATION_SCALES = ['n', 'batches'] as const;
/** Training order: a new shuffle every epoch, or one shuffle used for every epoch (network3.py). */
export const ORDERS = ['reshuffle', 'shuffle-once'] as const;
/** Training cost/accuracy: from the epoch's own forward passes, or a pass after the epoch (network2.py). */
export const TRAINING_METRICS = ['during-epoch', 'after-epoch'] as const;
/** The n in a reported validation/test cost's regularization term: the training set's, or the evaluated set's (network2). */
export const EVALUATION_COST_N = ['training', 'evaluated'] as const;
/** Engine backends a job may ask for (the native addon, or TensorFlow.js in a worker thread). */
export const BACKENDS = ['native', 'tfjs'] as const;

// Bounds: generous for the book's networks, tight enough that a typo cannot ask for terabytes.
export const LIMITS = {
  units: 4096,
  filters: 256,
  kernel: 28,
  epochs: 1000,
  miniBatchSize: 10_000,
  eta: 1000,
  lambda: 1e6,
  trainSize: 60_000, // all of MNIST's training file; past 50,000 validation shrinks to what is left
  validationSize: 10_000,
  layers: 32,
  ensemble: 20,
  threads: 64,
  biasGradientImages: 10_000,
  params: 50_000_000,
} as const;

const int = (min: number, max: number, what: string) =>
  z
    .number({ error: `${what} must be a number` })
    .int({ error: `${what} must be an integer` })
    .min(min, { error: `${what} must be at least ${min}` })
    .max(max, { error: `${what} must be at most ${max}` });

export const DenseLayerSchema = z.strictObject({
  type: z.literal('dense'),
  units: int(1, LIMITS.units, 'units'),
  activation: z.enum(OUTPUT_ACTIVATIONS),
  dropout: z.number().min(0, { error: 'dropout must be in [0, 1)' }).lt(1, { error: 'dropout must be in [0, 1)' }).optional(),
});
export const ConvLayerSchema = z.strictObject({
  type: z.literal('conv'),
  filters: int(1, LIMITS.filters, 'filters'),
  kernel: int(1, LIMITS.kernel, 'kernel'),
  activation: z.enum(ACTIVATIONS),
  batchNorm: z.boolean({ error: 'batchNorm must be true or false' }).optional().describe(
    'beyond the book: normalise the layer\'s z per filter before the activation, by the mini-batch\'s statistics in ' +
    'training and by running ones kept with the weights at inference (native engine only; not with training.average)'),
});
export const PoolLayerSchema = z.strictObject({
  type: z.literal('pool'),
  kind: z.enum(POOL_KINDS),
});
export const LayerSchema = z.discriminatedUnion('type', [DenseLayerSchema, ConvLayerSchema, PoolLayerSchema], {
  error: 'layer type must be one of "dense", "conv", "pool"',
});

export const NetworkSchema = z.strictObject({
  layers: z.array(LayerSchema).min(1, { error: 'a network needs at least one layer' }).max(LIMITS.layers),
  cost: z.enum(COSTS),
  init: z.enum(INITS),
  dropoutStyle: z.enum(DROPOUT_STYLES).optional(), // absent = inverted
});

export const ScheduleSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('constant') }),
  z.strictObject({
    type: z.literal('halve-on-plateau'),
    patience: int(1, 1000, 'patience'),
    minEtaFactor: z.number().min(1).max(1e6).default(128),
  }),
  // cosine annealing over the run's epochs: needs no validation data, so it can train on all 60,000 images
  z.strictObject({
    type: z.literal('cosine'),
    minEtaFactor: z.number().min(1).max(1e6).default(100),
  }),
]);

export const TrainingSchema = z.strictObject({
  epochs: int(1, LIMITS.epochs, 'epochs'),
  miniBatchSize: int(1, LIMITS.miniBatchSize, 'miniBatchSize'),
  eta: z.number().gt(0, { error: 'eta must be greater than 0' }).max(LIMITS.eta),
  lambda: z.number().min(0, { error: 'lambda must be at least 0' }).max(LIMITS.lambda),
  regularization: z.enum(['l2', 'l1']),
  momentum: z.number().min(0, { error: 'momentum must be in [0, 1)' }).lt(1, { error: 'momentum must be in [0, 1)' }),
  schedule: ScheduleSchema,
  earlyStopping: z.strictObject({ patience: int(1, 1000, 'patience') }).nullable(),
  seed: int(0, 0xffff_ffff, 'seed'),
  threads: int(1, LIMITS.threads, 'threads').optional(),
  // Options added after version 1 of the spec are optional (absent = the behaviour from before), so
  // experiments stored earlier stay valid; resolveExperiment always writes them out.
  keep: z.enum(KEEP).optional(),
  regularizationScale: z.enum(REGULARIZATION_SCALES).optional(),
  order: z.enum(ORDERS).optional(),
  trainingMetrics: z.enum(TRAINING_METRICS).optional(),
  evaluationCostN: z.enum(EVALUATION_COST_N).optional(),
  // chapter 5: ‖∂C/∂b‖ of each hidden layer over the first N training images, at init and after each epoch (0 = off)
  biasGradientImages: int(0, LIMITS.biasGradientImages, 'biasGradientImages').optional(),
  // weight averaging (SWA, Izmailov et al. 2018): keep the mean of the weights after each epoch from fromEpoch on
  average: z
    .strictObject({ fromEpoch: int(1, LIMITS.epochs, 'average.fromEpoch') })
    .nullable()
    .optional()
    .describe('keep the mean of the weights after each epoch from `fromEpoch` to the last (one network, SWA); needs keep "final"; null or absent: none'),
  // precise batch norm (Wu & Johnson 2021): after each epoch, the running statistics re-estimated in
  // inference mode over the first N training images, undistorted; training itself is unchanged
  preciseBatchNorm: int(0, LIMITS.trainSize, 'preciseBatchNorm')
    .optional()
    .describe(
      'networks with batchNorm layers: after each epoch (before validation), every batch-norm layer\'s running mean and variance ' +
        'are replaced by those of its inputs over the first N training images, undistorted, layer by layer as inference sees them ' +
        '(precise batch norm). The weights train exactly as without it; only what validation, the kept model and predictions see changes. ' +
        '0 or absent: the running average of the last mini-batches stands',
    ),
});

const range = (min: number, max: number, what: string) =>
  z
    .number({ error: `${what} must be a number` })
    .min(min, { error: `${what} must be between ${min} and ${max}` })
    .max(max, { error: `${what} must be between ${min} and ${max}` });

// On-the-fly distortions of each training image, redrawn every epoch inside the native epoch loop
// (native/src/augment.h): no copies of the data set, deterministic for a seed whatever the threads.
export const AugmentSchema = z
  .strictObject({
    probability: range(0, 1, 'augment.probability').default(1)
      .describe('chance that an image is distorted at all in an epoch (the rest are trained as they are)'),
    rotation: range(0, 90, 'augment.rotation').default(0).describe('degrees: rotation uniform in [-rotation, rotation]'),
    scale: range(0, 0.5, 'augment.scale').default(0).describe('scale factor uniform in [1 - scale, 1 + scale]'),
    shear: range(0, 45, 'augment.shear').default(0).describe('degrees: horizontal shear (slant) uniform in [-shear, shear]'),
    translate: range(0, 7, 'augment.translate').default(0).describe('pixels: each of dx, dy uniform in [-translate, translate]'),
    elastic: z
      .strictObject({
        alpha: range(0, 100, 'augment.elastic.alpha').describe('displacement scale (Simard et al. 2003: 34)'),
        sigma: range(1, 10, 'augment.elastic.sigma').describe('smoothing of the random field, in pixels (Simard et al.: 4)'),
      })
      .nullable()
      .default(null)
      .describe('elastic distortion as Simard, Steinkraus & Platt (2003); null: none'),
    thickness: range(0, 1, 'augment.thickness').default(0)
      .describe('chance of a stroke-thickness change: grey erosion or dilation (even odds) by a 3×3 cross, blended by a random amount'),
    bookShifts: z.boolean().default(false)
      .describe("the book's expansion drawn on the fly: each image replaced by one of itself and its four 1-pixel shifts, uniformly"),
  })
  .describe('on-the-fly augmentation inside the engine (native backend only); null or absent: none');

export const DataSchema = z.strictObject({
  trainSize: int(1, LIMITS.trainSize, 'trainSize'),
  validationSize: int(0, LIMITS.validationSize, 'validationSize'),
  expand: z.boolean(),
  augment: AugmentSchema.nullable().optional(),
});

export const EnsembleSchema = z.strictObject({
  size: int(1, LIMITS.ensemble, 'ensemble.size'),
  combine: z.enum(COMBINE).optional(), // absent = 'mean' (the behaviour before the option existed)
});

// Descriptions of the experiment's parts: what the OpenAPI document says of them (components
// Experiment and ExperimentRequest are these schemas).
const NAME = 'a label for the job and its model';
const PRESET = 'a book experiment by name (GET /v1/presets), e.g. ch1-mlp30';
const BACKEND = "engine backend to train on; a job naming one waits for a worker serving it (default: the worker's ENGINE_BACKEND)";
const ENSEMBLE = 'train `size` networks (seeds seed, seed+1, …) and combine them as one model';

export const ExperimentSchema = z.strictObject({
  name: z.string().max(200).optional().describe(NAME),
  preset: z.string().max(100).optional().describe(PRESET),
  network: NetworkSchema,
  training: TrainingSchema,
  data: DataSchema,
  ensemble: EnsembleSchema.optional().describe(ENSEMBLE),
  backend: z.enum(BACKENDS).optional().describe(BACKEND),
});

// What a client sends: every part optional, merged onto a preset (or defaults) by resolveExperiment.
export const ExperimentInputSchema = z.strictObject({
  name: z.string().max(200).optional().describe(NAME),
  preset: z.string().max(100).optional().describe(PRESET),
  network: NetworkSchema.partial().optional().describe('overrides of the preset\'s network (`layers` replaces the whole list)'),
  training: TrainingSchema.partial().optional().describe('overrides of the preset\'s training settings, field by field'),
  data: DataSchema.partial().optional().describe('overrides of the preset\'s data settings, field by field'),
  ensemble: EnsembleSchema.nullable().optional().describe(`${ENSEMBLE}; null: a single network`),
  backend: z.enum(BACKENDS).optional().describe(BACKEND),
});

/**
 * The outer shape of an ExperimentInput with its parts left opaque: what a request boundary (POST /v1/jobs,
 * a sweep's `base`) checks itself before resolveExperiment merges the parts onto the preset and validates
 * the whole, naming each bad field. Documented as ExperimentInputSchema (component ExperimentRequest).
 */
const part = (what: string) =>
  z.record(z.string(), z.unknown()).describe(`${what}: overrides merged onto the preset (or the defaults); see the engine's spec`);
export const ExperimentInputShape = z.strictObject({
  name: z.string().min(1).max(200).optional(),
  preset: z.string().min(1).max(100).optional(),
  network: part('network').optional(),
  training: part('training').optional(),
  data: part('data').optional(),
  ensemble: z.record(z.string(), z.unknown()).nullable().optional(),
  backend: z.enum(BACKENDS).optional(),
});

export type LayerSpec = z.infer<typeof LayerSchema>;
export type DenseLayerSpec = z.infer<typeof DenseLayerSchema>;
export type ConvLayerSpec = z.infer<typeof ConvLayerSchema>;
export type PoolLayerSpec = z.infer<typeof PoolLayerSchema>;
export type NetworkSpec = z.infer<typeof NetworkSchema>;
export type TrainingSpec = z.infer<typeof TrainingSchema>;
export type DataSpec = z.infer<typeof DataSchema>;
export type AugmentSpec = z.infer<typeof AugmentSchema>;
export type Experiment = z.infer<typeof ExperimentSchema>;
export type ExperimentInput = z.input<typeof ExperimentInputSchema>;
export type Cost = (typeof COSTS)[number];
export type PoolKind = (typeof POOL_KINDS)[number];

/** For exhaustive switches: a value the types say cannot exist. */
export function unreachable(value: never, what: string): never {
  throw new Error(`unknown ${what}: ${String(value)}`);
}
export type EngineBackend = (typeof BACKENDS)[number];
export type Activation = (typeof OUTPUT_ACTIVATIONS)[number];
export type Keep = (typeof KEEP)[number];
export type Combine = (typeof COMBINE)[number];

/** The options that may be absent from an experiment stored before they existed, with what absence means. */
export const keepOf = (e: { training: { keep?: Keep | undefined } }): Keep => e.training.keep ?? 'final';
/** The training options that may be absent, with their defaults filled in. */
export function trainingOptionsOf(t: TrainingSpec) {
  return {
    keep: t.keep ?? 'final',
    regularizationScale: t.regularizationScale ?? 'n',
    order: t.order ?? 'reshuffle',
    trainingMetrics: t.trainingMetrics ?? 'during-epoch',
    evaluationCostN: t.evaluationCostN ?? 'training',
  } as const;
}
export type Init = (typeof INITS)[number];
export type DropoutStyle = (typeof DROPOUT_STYLES)[number];
export type RegularizationScale = (typeof REGULARIZATION_SCALES)[number];
export const dropoutStyleOf = (n: { dropoutStyle?: DropoutStyle | undefined }): DropoutStyle => n.dropoutStyle ?? 'inverted';
export const combineOf = (e: { ensemble?: { combine?: Combine | undefined } | undefined }): Combine => e.ensemble?.combine ?? 'mean';

export type SpecIssue = { path: string; message: string };

export class SpecError extends Error {
  readonly issues: SpecIssue[];
  constructor(issues: SpecIssue[]) {
    super(`invalid experiment: ${issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ')}`);
    this.name = 'SpecError';
    this.issues = issues;
  }
}

export function zodIssues(error: z.ZodError, prefix: string[] = []): SpecIssue[] {
  return error.issues.map((issue) => ({
    path: [...prefix, ...issue.path.map(String)].join('.'),
    message: issue.message,
  }));
}

/** Parses with a schema, turning zod's issues into a SpecError whose paths name the field. */
export function parseOrThrow<T>(schema: z.ZodType<T>, value: unknown, prefix: string[] = []): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new SpecError(zodIssues(result.error, prefix));
  return result.data;
}
