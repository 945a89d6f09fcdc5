// A sweep as clients see it (GET /v1/sweeps/:id, the events stream, the /sweeps page): its record
// joined with each trial's job record — status, the last epoch's validation figures, the model —
// and the leaderboard (trials best first, later rungs before earlier ones).
import type { EpochMetrics } from '../engine/index.ts';
import type { JobRecord } from '../queue/index.ts';
import { isLogScale } from './search-space.ts';
import { compareTrials, type TrialOutcome } from './sweep-planner.ts';
import type { SweepRecord, TrialRef } from './sweep.repository.ts';

export type TrialView = TrialRef & TrialOutcome & {
  /** Epochs trained so far (counted from the start: a promoted trial's include its earlier rungs'). */
  epochs: number;
  /** Epochs this trial's job trains to. */
  totalEpochs: number;
  resumedFromEpoch?: number;
};

export type SweepView = Omit<SweepRecord, 'plan' | 'trials'> & {
  name?: string;
  preset?: string;
  strategy: SweepRecord['plan']['strategy'];
  objective: SweepRecord['plan']['objective'];
  concurrency: number;
  space: SweepRecord['plan']['space'];
  /** Searched paths drawn on log axes (log-uniform dimensions). */
  logScale: string[];
  /** Upper bound of the image-steps the sweep trains. */
  imageSteps: number;
  plannedTrials: number;
  trials: TrialView[];
  /** Job ids, best first. */
  leaderboard: string[];
};

/**
 * What a job record says of a trial (a record gone with retention reads as failed): the figures of
 * the epoch whose weights the model keeps — the last one, or with training.keep = best-validation
 * the best one (as network3.py reports).
 */
export function outcomeOf(job: JobRecord | null): TrialOutcome {
  if (!job) return { status: 'failed', validationAccuracy: null, validationCost: null };
  let kept = job.lastEpoch;
  if (job.experiment.training.keep === 'best-validation') {
    const best = job.metrics.reduce<EpochMetrics | undefined>((b, m) => ((m.validationAccuracy ?? -1) > (b?.validationAccuracy ?? -1) ? m : b), undefined);
    if (best) kept = best;
  }
  return {
    status: job.status,
    ...(job.modelId ? { modelId: job.modelId } : {}),
    validationAccuracy: kept?.validationAccuracy ?? null,
    validationCost: kept?.validationCost ?? null,
  };
}

export function sweepView(rec: SweepRecord, jobs: Map<string, JobRecord | null>): SweepView {
  const { plan, ...rest } = rec;
  const trials: TrialView[] = rec.trials.map((t) => {
    const job = jobs.get(t.jobId) ?? null;
    return {
      ...t,
      ...outcomeOf(job),
      epochs: job?.lastEpoch?.epoch ?? 0,
      totalEpochs: job?.progress.epochs ?? 0,
      ...(job?.resumedFromEpoch !== undefined ? { resumedFromEpoch: job.resumedFromEpoch } : {}),
    };
  });
  const leaderboard = [...trials]
    .sort((a, b) => b.rung - a.rung || compareTrials(plan.objective, a, b) || a.index - b.index)
    .map((t) => t.jobId);
  return {
    ...rest,
    ...(plan.name !== undefined ? { name: plan.name } : {}),
    ...(plan.preset !== undefined ? { preset: plan.preset } : {}),
    strategy: plan.strategy,
    objective: plan.objective,
    concurrency: plan.concurrency,
    space: plan.space,
    logScale: Object.entries(plan.space).filter(([, d]) => isLogScale(d)).map(([p]) => p),
    imageSteps: plan.imageSteps,
    plannedTrials: plan.trials.length,
    trials,
    leaderboard,
  };
}
