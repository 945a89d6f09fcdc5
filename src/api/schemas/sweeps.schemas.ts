// zod schemas of the sweeps routes: they validate requests and generate the OpenAPI document.
// The body's outer shape is checked here (→ 422 naming the field); the experiment, the paths of
// the space and the values are checked by resolveSweep (SpecError → 422, fields named).
import { z } from 'zod';
import { SWEEP_STATUSES } from '../../sweeps/sweep.repository.ts';
import { DimensionSchema, OBJECTIVES, RungSchema } from '../../sweeps/sweep-spec.ts';

import { CreateSweepBody } from '../../sweeps/sweep-spec.ts';
import { component } from './common.schemas.ts';
import { ExperimentRequest } from './jobs.schemas.ts';

export { CreateSweepBody };

// The body as documented (component SweepRequest, POST /v1/sweeps's requestBodyContent): `base` is the
// engine's own schema of an experiment (ExperimentRequest), where CreateSweepBody checks only its outer
// shape and leaves the parts to the engine (SpecError → 422 naming `base.<field>`).
export const SweepRequest = component(CreateSweepBody.extend({ base: ExperimentRequest.optional() }), 'SweepRequest', {
  example: CreateSweepBody.meta()?.example,
});

export const SweepIdParams = z.strictObject({
  id: z.string().min(1).max(100).regex(/^[A-Za-z0-9-]+$/, 'letters, digits and - only'),
});

export const ListSweepsQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
});

export const SweepStatusSchema = z.enum(SWEEP_STATUSES);
const ParamValue = z.union([z.number(), z.string(), z.boolean()]);
const TrialParams = z.record(z.string(), ParamValue).describe('spec path → the value this trial tried');

const StrategyView = z.discriminatedUnion('type', [
  z.object({ type: z.literal('grid') }),
  z.object({ type: z.literal('random'), trials: z.number().int(), seed: z.number().int() }),
  z.object({ type: z.literal('halving'), trials: z.number().int(), seed: z.number().int(), keep: z.number(), rungs: z.array(RungSchema) }),
]);

export const SweepBestSchema = z.object({
  jobId: z.string(),
  modelId: z.string().optional(),
  params: TrialParams,
  rung: z.number().int(),
  validationAccuracy: z.number().nullable(),
  validationCost: z.number().nullable(),
}).describe('the best completed trial of the highest rung reached');

export const SweepTrialSchema = z.object({
  jobId: z.string().describe('the training job that runs it (GET /v1/jobs/{jobId})'),
  index: z.number().int().describe('its place in the plan; a promoted trial keeps it'),
  params: TrialParams,
  rung: z.number().int().describe('halving rung (0 otherwise)'),
  wave: z.number().int(),
  resumedFrom: z.string().optional().describe('the trial of the rung before whose checkpoint this one continued from'),
  resumedFromEpoch: z.number().int().optional(),
  status: z.enum(['queued', 'running', 'completed', 'failed', 'cancelled']),
  modelId: z.string().optional(),
  validationAccuracy: z.number().nullable().describe('of the last epoch'),
  validationCost: z.number().nullable(),
  epochs: z.number().int().describe('epochs trained so far (from the start)'),
  totalEpochs: z.number().int(),
});

const sweepCommon = {
  id: z.string(),
  name: z.string().optional(),
  preset: z.string().optional(),
  owner: z.string().optional(),
  status: SweepStatusSchema,
  best: SweepBestSchema.optional(),
  error: z.string().optional(),
  createdAt: z.string(),
  finishedAt: z.string().optional(),
};

export const SweepViewSchema = z.object({
  ...sweepCommon,
  strategy: StrategyView,
  objective: z.enum(OBJECTIVES),
  concurrency: z.number().int(),
  space: z.record(z.string(), DimensionSchema),
  logScale: z.array(z.string()).describe('searched paths on a log scale'),
  imageSteps: z.number().describe('upper bound of the image-steps the sweep trains'),
  plannedTrials: z.number().int(),
  waves: z.number().int(),
  trials: z.array(SweepTrialSchema),
  leaderboard: z.array(z.string()).describe('trial job ids, best first (later rungs first)'),
});
component(SweepViewSchema, 'Sweep');

export const SweepSummarySchema = z.object({
  ...sweepCommon,
  strategy: z.string(),
  trials: z.number().int(),
  plannedTrials: z.number().int(),
});

export const SweepListResponse = z.object({ items: z.array(SweepSummarySchema), total: z.number().int(), limit: z.number().int(), offset: z.number().int() });

export const SweepDryRunResponse = z.object({
  dryRun: z.literal(true),
  plannedTrials: z.number().int(),
  imageSteps: z.number(),
  trials: z.array(TrialParams),
});

export const SubmitSweepQuery = z.object({
  dryRun: z.enum(['true', 'false', '1', '0']).optional().describe('true or 1: resolve, validate and cost the sweep, queue nothing (200)'),
});
