// What a sweep does next, from its plan and how its trials ended (pure: no Redis, no queue).
// Grid and random: the next `concurrency` trials of the list, until none is left. Halving: a
// rung's trials in waves; once every trial of a rung has ended, the best max(1, floor(n·keep))
// of it (n: the rung's planned size) go on to the next rung, each resuming from its checkpoint.
import type { Params } from './search-space.ts';
import { rungSizes, type Objective, type SweepPlan } from './sweep-spec.ts';
import type { SweepBest, TrialRef } from './sweep.repository.ts';

/** How a trial's job ended (or stands), read from its job record. */
export type TrialOutcome = {
  status: 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';
  modelId?: string;
  validationAccuracy: number | null;
  validationCost: number | null;
};

export type NewTrial = { index: number; params: Params; rung: number; resumeFrom?: string };

export type NextStep =
  | { kind: 'wave'; trials: NewTrial[] }
  | { kind: 'done'; best: SweepBest | null };

const score = (o: Objective, t: TrialOutcome): number | null => (o === 'validationAccuracy' ? t.validationAccuracy : t.validationCost);

/** Negative when a ranks before b: completed trials with a score first, better scores first. */
export function compareTrials(objective: Objective, a: TrialOutcome, b: TrialOutcome): number {
  const sa = a.status === 'completed' ? score(objective, a) : null;
  const sb = b.status === 'completed' ? score(objective, b) : null;
  if (sa === null || sb === null) return sa === null ? (sb === null ? 0 : 1) : -1;
  return objective === 'validationAccuracy' ? sb - sa : sa - sb;
}

/** The trials of a rung that go on to the next one, best first. */
export function promoted(plan: SweepPlan, rung: number, trials: TrialRef[], outcome: (jobId: string) => TrialOutcome): TrialRef[] {
  if (plan.strategy.type !== 'halving') return [];
  const k = rungSizes(plan.trials.length, plan.strategy.keep, plan.rungs.length)[rung + 1] ?? 0;
  return trials
    .filter((t) => t.rung === rung && outcome(t.jobId).status === 'completed' && score(plan.objective, outcome(t.jobId)) !== null)
    .sort((a, b) => compareTrials(plan.objective, outcome(a.jobId), outcome(b.jobId)) || a.index - b.index)
    .slice(0, k);
}

export function bestTrial(plan: SweepPlan, trials: TrialRef[], outcome: (jobId: string) => TrialOutcome): SweepBest | null {
  // the highest rung that has a completed trial: later rungs trained on more, so they are what counts
  const rungs = trials.filter((t) => outcome(t.jobId).status === 'completed').map((t) => t.rung);
  if (rungs.length === 0) return null;
  const top = Math.max(...rungs);
  const ranked = trials
    .filter((t) => t.rung === top && score(plan.objective, outcome(t.jobId)) !== null && outcome(t.jobId).status === 'completed')
    .sort((a, b) => compareTrials(plan.objective, outcome(a.jobId), outcome(b.jobId)) || a.index - b.index);
  const t = ranked[0];
  if (!t) return null;
  const o = outcome(t.jobId);
  return {
    jobId: t.jobId, ...(o.modelId ? { modelId: o.modelId } : {}), params: t.params, rung: t.rung,
    validationAccuracy: o.validationAccuracy, validationCost: o.validationCost,
  };
}

/** The next wave, or done. Call it only when every trial launched so far has ended. */
export function nextStep(plan: SweepPlan, trials: TrialRef[], outcome: (jobId: string) => TrialOutcome): NextStep {
  const rung = trials.reduce((r, t) => Math.max(r, t.rung), 0);
  const launched = new Set(trials.filter((t) => t.rung === rung).map((t) => t.index));
  let planned: NewTrial[];
  if (rung === 0) {
    planned = plan.trials.map((params, index) => ({ index, params, rung: 0 }));
  } else {
    planned = promoted(plan, rung - 1, trials, outcome).map((t) => ({ index: t.index, params: t.params, rung, resumeFrom: t.jobId }));
  }
  const pending = planned.filter((t) => !launched.has(t.index));
  if (pending.length > 0) return { kind: 'wave', trials: pending.slice(0, plan.concurrency) };
  if (rung + 1 < plan.rungs.length && plan.strategy.type === 'halving') {
    const next = promoted(plan, rung, trials, outcome).map((t) => ({ index: t.index, params: t.params, rung: rung + 1, resumeFrom: t.jobId }));
    if (next.length > 0) return { kind: 'wave', trials: next.slice(0, plan.concurrency) };
  }
  return { kind: 'done', best: bestTrial(plan, trials, outcome) };
}
