// Resource budgets of a job: its estimated cost (cost-estimate.ts) against configurable limits.
// Checked at submit (POST /v1/jobs → 422 over_budget), again by the worker before it trains (the
// payload may come from any producer) and by `npm run train`. The defaults admit every preset, the
// ch6 ensemble included (5 × 40 × 250,000 image-steps), on a 2-core / 24 GB machine.
import { estimateCost, type JobCost } from './cost-estimate.ts';
import type { Experiment } from './spec.ts';

const MiB = 1024 * 1024;

/** The limits, named after the settings that configure them (src/config/env.ts). */
export type JobBudgets = {
  MAX_JOB_PARAMS: number;
  MAX_JOB_MACS_PER_IMAGE: number;
  MAX_JOB_SCRATCH_BYTES: number;
  MAX_JOB_IMAGE_STEPS: number;
  PREDICT_SCRATCH_BYTES: number;
};

export const DEFAULT_BUDGETS: JobBudgets = {
  // ch6-dropout has 1.67M parameters; a [784, 4096, 4096, 4096, 10] net (37M) is refused
  MAX_JOB_PARAMS: 10_000_000,
  // beyond-book needs 22.5M multiply-adds per image (ch6-dropout 3.2M); 25M is about 6 ms per prediction here
  MAX_JOB_MACS_PER_IMAGE: 25_000_000,
  // per engine thread; ch6-ensemble's test evaluation (5 members) holds 85 MB, the most of any preset
  MAX_JOB_SCRATCH_BYTES: 512 * MiB,
  // ch6-ensemble: 5 members × 40 epochs × 250,000 images = 50M
  MAX_JOB_IMAGE_STEPS: 100_000_000,
  // a loaded model's prediction scratch, all members and threads together
  PREDICT_SCRATCH_BYTES: 64 * MiB,
};

export type BudgetName = keyof JobBudgets;

/** One budget a job exceeds: the setting, the cost figure checked against it, its value and the limit. */
export type BudgetViolation = { budget: BudgetName; figure: keyof JobCost; value: number; limit: number; message: string };

const CHECKS: { budget: BudgetName; figure: keyof JobCost; what: string; bytes?: boolean }[] = [
  { budget: 'MAX_JOB_PARAMS', figure: 'params', what: 'parameters' },
  { budget: 'MAX_JOB_MACS_PER_IMAGE', figure: 'macsPerImage', what: 'multiply-adds per image' },
  { budget: 'MAX_JOB_SCRATCH_BYTES', figure: 'trainingScratchBytesPerThread', what: 'training scratch per thread', bytes: true },
  { budget: 'MAX_JOB_IMAGE_STEPS', figure: 'imageSteps', what: 'image-steps (members × epochs × training images)' },
  // a model that could never be served: one image alone needs more than the prediction budget
  { budget: 'PREDICT_SCRATCH_BYTES', figure: 'inferenceScratchBytesPerImage', what: 'prediction scratch for one image', bytes: true },
];

const count = (n: number) => n.toLocaleString('en-US');
export function formatBytes(n: number): string {
  if (n >= 1024 * MiB) return `${count(n)} bytes (${(n / (1024 * MiB)).toFixed(1)} GiB)`;
  if (n >= MiB) return `${count(n)} bytes (${(n / MiB).toFixed(1)} MiB)`;
  return `${count(n)} bytes`;
}

export function checkBudgets(cost: JobCost, budgets: JobBudgets): BudgetViolation[] {
  const out: BudgetViolation[] = [];
  for (const c of CHECKS) {
    const value = cost[c.figure];
    const limit = budgets[c.budget];
    if (value <= limit) continue;
    const fmt = c.bytes ? formatBytes : count;
    out.push({ budget: c.budget, figure: c.figure, value, limit, message: `${c.what}: ${fmt(value)}, above ${c.budget} = ${fmt(limit)}` });
  }
  return out;
}

/** A job over one or more budgets (the API answers 422 `over_budget` with `violations` as details). */
export class BudgetError extends Error {
  constructor(readonly violations: BudgetViolation[], readonly cost?: JobCost) {
    super(`over budget: ${violations.map((v) => v.message).join('; ')}`);
    this.name = 'BudgetError';
  }
}

/** The cost of the experiment, or BudgetError naming every budget it exceeds. */
export function assertWithinBudgets(experiment: Experiment, budgets: JobBudgets): JobCost {
  const cost = estimateCost(experiment);
  const violations = checkBudgets(cost, budgets);
  if (violations.length > 0) throw new BudgetError(violations, cost);
  return cost;
}

/** The budgets out of a config object (the process's validated environment). */
export function jobBudgets(config: JobBudgets): JobBudgets {
  return {
    MAX_JOB_PARAMS: config.MAX_JOB_PARAMS,
    MAX_JOB_MACS_PER_IMAGE: config.MAX_JOB_MACS_PER_IMAGE,
    MAX_JOB_SCRATCH_BYTES: config.MAX_JOB_SCRATCH_BYTES,
    MAX_JOB_IMAGE_STEPS: config.MAX_JOB_IMAGE_STEPS,
    PREDICT_SCRATCH_BYTES: config.PREDICT_SCRATCH_BYTES,
  };
}
