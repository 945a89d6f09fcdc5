// The learning-rate schedule and early stopping, as pure functions over ScheduleState.
//  - constant: η never changes.
//  - halve-on-plateau (the book's chapter 3 suggestion): when validation accuracy has not improved
//    for `patience` epochs, halve η; stop once η would fall to η₀/minEtaFactor (128 by default).
//  - cosine (SGDR without restarts, Loshchilov & Hutter 2017): epoch k of E trains at
//    η_min + (η₀ − η_min)·(1 + cos(πk/E))/2, η_min = η₀/minEtaFactor; it watches no validation.
//  - earlyStopping: stop when validation accuracy has not improved for `patience` epochs.
import type { TrainingSpec } from './spec.ts';
import type { ScheduleState } from './training-types.ts';

export function initialSchedule(eta: number): ScheduleState {
  return { eta, bestValidationAccuracy: -1, epochsSinceImprovement: 0, epochsSinceHalving: 0, stopped: false };
}

/** η of the 0-based epoch k of a cosine schedule. */
export function cosineEta(t: TrainingSpec, k: number): number {
  const minEta = t.schedule.type === 'cosine' ? t.eta / t.schedule.minEtaFactor : t.eta;
  return minEta + (t.eta - minEta) * (1 + Math.cos((Math.PI * k) / t.epochs)) / 2;
}

/** The state after `epochsDone` epochs, the last of which reached `validationAccuracy` (null: no validation data). */
export function updateSchedule(s: ScheduleState, t: TrainingSpec, validationAccuracy: number | null, epochsDone: number): ScheduleState {
  const next = { ...s };
  if (t.schedule.type === 'cosine') next.eta = cosineEta(t, epochsDone);
  if (validationAccuracy === null) return next;
  if (validationAccuracy > next.bestValidationAccuracy) {
    next.bestValidationAccuracy = validationAccuracy;
    next.epochsSinceImprovement = 0;
    next.epochsSinceHalving = 0;
  } else {
    next.epochsSinceImprovement++;
    next.epochsSinceHalving++;
  }
  if (t.schedule.type === 'halve-on-plateau' && next.epochsSinceHalving >= t.schedule.patience) {
    next.eta /= 2;
    next.epochsSinceHalving = 0;
    if (next.eta <= t.eta / t.schedule.minEtaFactor) next.stopped = true;
  }
  if (t.earlyStopping && next.epochsSinceImprovement >= t.earlyStopping.patience) next.stopped = true;
  return next;
}
