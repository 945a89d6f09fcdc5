// zod schemas of the jobs routes: they validate requests and generate the OpenAPI document.
// The experiment itself is checked by the engine's resolveExperiment (SpecError → 422, with
// the bad fields named); here only the outer shape and types are checked (→ 422 validation_failed).
import { z } from 'zod';
import { JOB_STATUSES, JobProgressSchema } from '../../queue/index.ts';
import { ExperimentInputSchema, ExperimentInputShape } from '../../engine/spec.ts';
import { component, dryRunQuery, EpochMetricsSchema, ExperimentSchema } from './common.schemas.ts';

// What a client sends, in the document: the engine's own schema of it (component ExperimentRequest,
// POST /v1/jobs's body as documented); the resolved experiment is the component Experiment.
export const ExperimentRequest = component(ExperimentInputSchema
  .describe('A preset, a full spec, or a preset with overrides: each part is merged onto the preset (or the defaults) and the result validated as a whole')
  .meta({
    example: {
      preset: 'ch1-mlp30',
      training: { epochs: 2, miniBatchSize: 10, eta: 3.0, lambda: 0, seed: 1 },
      data: { trainSize: 5000, validationSize: 1000, expand: false },
    },
  }), 'ExperimentRequest');

/**
 * What POST /v1/jobs validates itself: the outer shape only (→ 422 validation_failed); the parts are
 * the engine's to check once merged onto the preset (SpecError → 422 unprocessable, fields named).
 * The document shows ExperimentRequest instead (the route's requestBodyContent).
 */
export const CreateJobBody = ExperimentInputShape;
export type CreateJobBody = z.infer<typeof CreateJobBody>;

export const JobStatusSchema = z.enum(JOB_STATUSES);

export const JobIdParams = z.strictObject({
  id: z.string().min(1).max(100).regex(/^[A-Za-z0-9-]+$/, 'letters, digits and - only'),
});

export const ListJobsQuery = z.strictObject({
  status: JobStatusSchema.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
});

component(JobProgressSchema, 'JobProgress');

// Fields a job's summary (lists) and its full record share.
const jobCommon = {
  id: z.string(),
  name: z.string().optional(),
  owner: z.string().optional().describe('name of the API key that submitted it (`anonymous` when the API runs without keys)'),
  status: JobStatusSchema,
  progress: JobProgressSchema,
  lastEpoch: EpochMetricsSchema.optional().describe('the latest finished epoch (any member)'),
  modelId: z.string().optional().describe('set when completed'),
  error: z.string().optional().describe('why it failed (or why the last attempt failed); starts with `timeout:` when it ran past JOB_TIMEOUT_S, `worker_died:` when its worker died under it JOB_MAX_WORKER_DEATHS times'),
  attempts: z.number().int().describe('times a worker started it, resumes included'),
  workerDeaths: z.number().int().optional().describe('workers that died (killed, out of memory) while running it; at JOB_MAX_WORKER_DEATHS it fails'),
  resumedFromEpoch: z.number().int().optional().describe('epochs already done when a worker last resumed it from a checkpoint'),
  cancelRequested: z.boolean().optional().describe('a cancel is on its way to the worker running it'),
  backend: z.enum(['native', 'tfjs']).optional().describe('engine backend it runs on: the one asked for (`backend` in the body), else the worker\'s ENGINE_BACKEND; set once a worker starts it'),
  createdAt: z.string(),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
};

export const JobRecordSchema = z.object({
  ...jobCommon,
  metrics: z.array(EpochMetricsSchema).describe(
    'one entry per finished epoch (per member for ensembles), at most MAX_EPOCH_METRICS: beyond it only epochs 1, 1+k, 1+2k… of each member are kept (k = metricsEvery)',
  ),
  metricsEvery: z.number().int().optional().describe('k above, once the history has been thinned'),
  experiment: ExperimentSchema,
});
component(JobRecordSchema, 'JobRecord');

export const JobSummarySchema = z
  .object({
    ...jobCommon,
    preset: z.string().optional().describe("the experiment's preset, if it started from one"),
    members: z.number().int().optional().describe('networks in the ensemble, for ensembles'),
  })
  .describe('A job in a list: no metric history and no spec (GET /v1/jobs/{id} has them), the last epoch instead');
component(JobSummarySchema, 'JobSummary');

export const JobListResponse = z.object({
  items: z.array(JobSummarySchema),
  total: z.number().int(),
  limit: z.number().int(),
  offset: z.number().int(),
});

export const JobCostSchema = z.object({
  params: z.number().int().describe('parameters of one network'),
  members: z.number().int().describe('networks trained (an ensemble\'s size, else 1)'),
  macsPerImage: z.number().int().describe('forward multiply-adds of one image through one network'),
  trainingImages: z.number().int().describe('training images per epoch (trainSize, × 5 when expanded)'),
  imageSteps: z.number().int().describe('members × epochs × trainingImages'),
  augmentMacsPerImage: z.number().int().describe('arithmetic data.augment adds per training image (distorted on the fly: no more image-steps or memory); 0 without augmentation'),
  trainingMacs: z.number().describe('≈ (3 × macsPerImage + augmentMacsPerImage) × imageSteps'),
  trainingScratchBytesPerThread: z.number().int().describe('the most native scratch the job holds on one engine thread (mini-batch, gradient, evaluation chunks of up to 64 images)'),
  inferenceScratchBytesPerImage: z.number().int().describe('scratch to predict one image with the trained model (all members)'),
  weightsBytes: z.number().int().describe('the trained model\'s weights, all members, float32'),
}).describe('The estimated cost of a job. Each budget (MAX_JOB_PARAMS → params, MAX_JOB_MACS_PER_IMAGE → macsPerImage, MAX_JOB_SCRATCH_BYTES → trainingScratchBytesPerThread, MAX_JOB_IMAGE_STEPS → imageSteps, PREDICT_SCRATCH_BYTES → inferenceScratchBytesPerImage) refuses a job above it with 422 over_budget');
// registered: the OpenAPI document refers to it as #/components/schemas/JobCost
component(JobCostSchema, 'JobCost');

export const JobBudgetsSchema = z.object({
  MAX_JOB_PARAMS: z.number().int(),
  MAX_JOB_MACS_PER_IMAGE: z.number().int(),
  MAX_JOB_SCRATCH_BYTES: z.number().int(),
  MAX_JOB_IMAGE_STEPS: z.number().int(),
  PREDICT_SCRATCH_BYTES: z.number().int(),
}).describe('this server\'s budgets');

export const SubmitJobQuery = dryRunQuery('true or 1: resolve, validate and cost the job (422 as a real submit would), queue nothing, answer 200');

export const JobAcceptedResponse = JobRecordSchema.extend({ cost: JobCostSchema });

export const JobDryRunResponse = z.object({
  dryRun: z.literal(true),
  experiment: ExperimentSchema,
  cost: JobCostSchema,
  budgets: JobBudgetsSchema,
});
