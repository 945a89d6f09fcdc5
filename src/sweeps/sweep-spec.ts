// What a client sends to POST /v1/sweeps, and resolveSweep: the request (or a sweep preset with
// overrides) → a SweepPlan whose every trial is a valid experiment within the job budgets, and
// whose total cost is within the sweep's budget. Nothing is queued here.
import { z } from 'zod';
import {
  assertWithinBudgets, BudgetError, estimateCost, ExperimentInputShape, LIMITS, resolveExperiment, SpecError, validateExperiment,
  type BudgetViolation, type Experiment, type JobBudgets, type SpecIssue,
} from '../engine/index.ts';
import { ALIAS_NAME_PATTERN } from '../store/alias.repository.ts';
import { checkSpace, grid, gridSize, sample, throwIfIssues, withParams, type Params, type SearchSpace } from './search-space.ts';
import { getSweepPreset, SWEEP_PRESET_NAMES } from './sweep-presets.ts';

/** Trials one sweep may plan (grid points, random draws, halving's first rung). */
export const MAX_SWEEP_TRIALS = 256;
export const MAX_SWEEP_DIMENSIONS = 8;
export const MAX_CONCURRENCY = 64;

const FiniteNumber = z.number().finite();
/**
 * [low, high]: validated as a tuple, documented as an array of exactly two numbers (a tuple's
 * JSON Schema, prefixItems without items, is refused by Spectral's oas rules).
 */
const pair = (item: z.ZodNumber) =>
  z.tuple([item, item]).meta({ type: 'array', items: { type: item === FiniteNumber ? 'number' : 'integer' }, minItems: 2, maxItems: 2 });
export const DimensionSchema = z.union([
  z.strictObject({ values: z.array(z.union([FiniteNumber, z.string().max(100), z.boolean()])).min(1).max(MAX_SWEEP_TRIALS) }),
  z.strictObject({ logUniform: pair(FiniteNumber).describe('[low, high], 0 < low < high: sampled as exp(U(ln low, ln high))') }),
  z.strictObject({ intRange: pair(z.number().int()).describe('[low, high], both included') }),
], { error: 'a dimension is { "values": [...] }, { "logUniform": [low, high] } or { "intRange": [low, high] }' });

export const RungSchema = z.strictObject({
  epochs: z.number().int().min(1).max(1000).describe('epochs trained by the end of this rung (counted from the start: a promoted trial resumes and adds the difference)'),
  trainSize: z.number().int().min(1).max(LIMITS.trainSize).describe('training images at this rung'),
});

export const StrategySchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('grid') }),
  z.strictObject({
    type: z.literal('random'),
    trials: z.number().int().min(1).max(MAX_SWEEP_TRIALS),
    seed: z.number().int().min(0).max(0xffff_ffff).default(1),
  }),
  z.strictObject({
    type: z.literal('halving'),
    trials: z.number().int().min(2).max(MAX_SWEEP_TRIALS).describe('trials of the first rung (drawn at random from the space, or the whole grid when the space is a grid of that size)'),
    seed: z.number().int().min(0).max(0xffff_ffff).default(1),
    keep: z.number().gt(0).lt(1).default(0.5).describe('fraction promoted at each rung: max(1, floor(trials × keep))'),
    rungs: z.array(RungSchema).min(2).max(8).describe('epochs and training images per rung, growing'),
  }),
], { error: 'strategy.type must be one of "grid", "random", "halving"' });

export const OBJECTIVES = ['validationAccuracy', 'validationCost'] as const;
export type Objective = (typeof OBJECTIVES)[number];

const BaseExperimentInput = ExperimentInputShape.describe('the base experiment, as the body of POST /v1/jobs: a preset, a full spec, or a preset with overrides');

export const CreateSweepBody = z.strictObject({
  name: z.string().min(1).max(200).optional(),
  preset: z.string().min(1).max(100).optional().describe(`a sweep preset (${SWEEP_PRESET_NAMES.join(', ')}); the other fields override it, base merged field by field`),
  base: BaseExperimentInput.optional(),
  space: z.record(z.string().min(1).max(200), DimensionSchema).optional().describe('spec path → values, logUniform or intRange'),
  strategy: StrategySchema.optional(),
  objective: z.enum(OBJECTIVES).optional().describe('what ranks trials: the last epoch\'s validation accuracy (higher is better, the default) or validation cost (lower is better)'),
  concurrency: z.number().int().min(1).max(MAX_CONCURRENCY).optional().describe('trials queued or running at once (default 4): the sweep goes in waves of this size'),
  budget: z.number().int().min(1).optional().describe('most image-steps (epochs × training images, summed over trials) the sweep may cost'),
  alias: z.string().regex(ALIAS_NAME_PATTERN).optional().describe('alias given to the best trial\'s model when the sweep completes'),
}).meta({
  example: {
    base: { preset: 'ch3-mlp30-ce', training: { epochs: 2 }, data: { trainSize: 1000, validationSize: 500 } },
    space: { 'training.eta': { values: [0.025, 0.25, 2.5] } },
    strategy: { type: 'grid' },
    concurrency: 2,
  },
});
export type CreateSweepBody = z.infer<typeof CreateSweepBody>;

export type Strategy = z.output<typeof StrategySchema>;
export type Rung = z.infer<typeof RungSchema>;

export type SweepPlan = {
  name?: string;
  preset?: string;
  base: Experiment;
  space: SearchSpace;
  strategy: Strategy;
  objective: Objective;
  concurrency: number;
  budget?: number;
  alias?: string;
  /** Every trial for grid and random; the first rung's for halving. */
  trials: Params[];
  /** Halving: what rung r trains (epochs, trainSize); one rung otherwise. */
  rungs: Rung[];
  /** Upper bound of the image-steps the sweep trains (halving: as if each promoted trial started over). */
  imageSteps: number;
};

/** A sweep over its budget (422 over_budget, details like a job's). */
export class SweepBudgetError extends Error {
  constructor(readonly violations: { budget: string; figure: string; value: number; limit: number; message: string }[]) {
    super(`over budget: ${violations.map((v) => v.message).join('; ')}`);
    this.name = 'SweepBudgetError';
  }
}

/** Trials of each rung under halving: n, floor(n·keep), … never under 1. */
export function rungSizes(n: number, keep: number, rungs: number): number[] {
  const out = [n];
  // the epsilon: 27 × 0.1 × 10 style products land a hair under the integer they mean
  for (let r = 1; r < rungs; r++) out.push(Math.max(1, Math.floor(out[r - 1]! * keep + 1e-9)));
  return out;
}

const withRung = (e: Experiment, rung: Rung | undefined): Experiment =>
  rung ? { ...e, training: { ...e.training, epochs: rung.epochs }, data: { ...e.data, trainSize: rung.trainSize } } : e;

/** The experiment of one trial at one rung (halving sets epochs and trainSize). */
export function trialExperiment(plan: Pick<SweepPlan, 'base' | 'strategy' | 'rungs'>, params: Params, rung: number, name?: string): Experiment {
  const e = withRung(withParams(plan.base, params), plan.strategy.type === 'halving' ? plan.rungs[rung] : undefined);
  return name !== undefined ? { ...e, name } : e;
}

function mergeBase(preset: CreateSweepBody['base'], over: CreateSweepBody['base']): CreateSweepBody['base'] {
  if (!preset) return over;
  if (!over) return preset;
  const out: Record<string, unknown> = { ...preset, ...over };
  for (const k of ['network', 'training', 'data'] as const) if (preset[k] || over[k]) out[k] = { ...preset[k], ...over[k] };
  return out as CreateSweepBody['base'];
}

/**
 * The request (merged onto its sweep preset) → a plan. Throws SpecError (issues named by field:
 * `base.training.eta`, `space.<path>`, `strategy.rungs`) or SweepBudgetError / BudgetError.
 */
export function resolveSweep(body: CreateSweepBody, budgets: JobBudgets, maxImageSteps: number): SweepPlan {
  let req = body;
  if (body.preset !== undefined) {
    const p = getSweepPreset(body.preset);
    if (!p) throw new SpecError([{ path: 'preset', message: `unknown sweep preset "${body.preset}"; known: ${SWEEP_PRESET_NAMES.join(', ')}` }]);
    req = { ...p.request, ...body, base: mergeBase(p.request.base, body.base) };
  }
  if (!req.base) throw new SpecError([{ path: 'base', message: 'give a base experiment (or a sweep preset)' }]);
  if (!req.space || Object.keys(req.space).length === 0) throw new SpecError([{ path: 'space', message: 'give at least one field to search' }]);
  if (Object.keys(req.space).length > MAX_SWEEP_DIMENSIONS) throw new SpecError([{ path: 'space', message: `at most ${MAX_SWEEP_DIMENSIONS} fields` }]);
  const strategy = StrategySchema.parse(req.strategy ?? { type: 'grid' });
  let base: Experiment;
  try {
    base = resolveExperiment(req.base);
  } catch (err) {
    if (err instanceof SpecError) throw new SpecError(err.issues.map((i) => ({ ...i, path: i.path ? `base.${i.path}` : 'base' })));
    throw err;
  }
  const space = req.space;
  const issues: SpecIssue[] = checkSpace(base, space, strategy.type);
  if (base.data.validationSize === 0) issues.push({ path: 'base.data.validationSize', message: 'a sweep ranks trials on the validation set: validationSize must be > 0' });
  let rungs: Rung[] = [{ epochs: base.training.epochs, trainSize: base.data.trainSize }];
  if (strategy.type === 'halving') {
    for (const p of ['training.epochs', 'data.trainSize']) {
      if (p in space) issues.push({ path: `space.${p}`, message: 'halving sets epochs and trainSize per rung (strategy.rungs); do not search them' });
    }
    strategy.rungs.forEach((r, i) => {
      const prev = strategy.rungs[i - 1];
      if (prev && !(r.epochs > prev.epochs && r.trainSize >= prev.trainSize)) {
        issues.push({ path: `strategy.rungs.${i}`, message: 'each rung trains more epochs (strictly) on at least as many images as the one before' });
      }
    });
    rungs = strategy.rungs;
  }
  throwIfIssues(issues);

  let trials: Params[];
  if (strategy.type === 'grid') {
    const n = gridSize(space);
    if (n > MAX_SWEEP_TRIALS) throw new SpecError([{ path: 'space', message: `the grid has ${n} points; at most ${MAX_SWEEP_TRIALS}` }]);
    trials = grid(space);
  } else {
    trials = sample(space, strategy.trials, strategy.seed);
  }
  const sizes = strategy.type === 'halving' ? rungSizes(trials.length, strategy.keep, rungs.length) : [trials.length];

  // Every trial at every rung it may reach is a valid experiment within the job budgets; ranges
  // are checked at both ends as well as at the draws.
  const ends: Params[] = [];
  for (const [path, d] of Object.entries(space)) {
    if ('logUniform' in d) ends.push({ [path]: d.logUniform[0] }, { [path]: d.logUniform[1] });
    if ('intRange' in d) ends.push({ [path]: d.intRange[0] }, { [path]: d.intRange[1] });
  }
  const violations: BudgetViolation[] = [];
  for (const params of [...ends, ...trials]) {
    for (let r = 0; r < sizes.length; r++) {
      let e: Experiment;
      try {
        e = validateExperiment(trialExperiment({ base, strategy, rungs }, params, r));
      } catch (err) {
        if (!(err instanceof SpecError)) throw err;
        const searched = new Set(Object.keys(params));
        throw new SpecError(err.issues.map((i) => ({
          path: searched.has(i.path) ? `space.${i.path}` : `base.${i.path}`,
          message: `${i.message} (trial ${JSON.stringify(params)})`,
        })));
      }
      try {
        assertWithinBudgets(e, budgets);
      } catch (err) {
        if (!(err instanceof BudgetError)) throw err;
        violations.push(...err.violations.filter((v) => !violations.some((w) => w.budget === v.budget)));
      }
    }
  }
  if (violations.length > 0) throw new BudgetError(violations);

  let imageSteps = 0;
  for (let r = 0; r < sizes.length; r++) {
    // the costliest trials of the rung (params may change the members or the data)
    const costs = trials.map((p) => estimateCost(trialExperiment({ base, strategy, rungs }, p, r)).imageSteps).sort((a, b) => b - a);
    imageSteps += costs.slice(0, sizes[r]).reduce((s, c) => s + c, 0);
  }
  const over: SweepBudgetError['violations'] = [];
  const fmt = (n: number) => n.toLocaleString('en-US');
  if (req.budget !== undefined && imageSteps > req.budget) {
    over.push({ budget: 'budget', figure: 'imageSteps', value: imageSteps, limit: req.budget, message: `the sweep's image-steps: ${fmt(imageSteps)}, above its budget = ${fmt(req.budget)}` });
  }
  if (imageSteps > maxImageSteps) {
    over.push({ budget: 'MAX_SWEEP_IMAGE_STEPS', figure: 'imageSteps', value: imageSteps, limit: maxImageSteps, message: `the sweep's image-steps: ${fmt(imageSteps)}, above MAX_SWEEP_IMAGE_STEPS = ${fmt(maxImageSteps)}` });
  }
  if (over.length > 0) throw new SweepBudgetError(over);

  return {
    ...(req.name !== undefined ? { name: req.name } : {}),
    ...(body.preset !== undefined ? { preset: body.preset } : {}),
    base, space, strategy,
    objective: req.objective ?? 'validationAccuracy',
    concurrency: req.concurrency ?? 4,
    ...(req.budget !== undefined ? { budget: req.budget } : {}),
    ...(req.alias !== undefined ? { alias: req.alias } : {}),
    trials, rungs, imageSteps,
  };
}
