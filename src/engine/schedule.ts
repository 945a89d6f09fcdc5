// The learning-rate schedule and early stopping, as pure functions over ScheduleState.
//  - constant: η never changes.
//  - halve-on-plateau (the book's chapter 3 suggestion): when validation accuracy has not improved
//    for `patience` epochs, halve η; stop once η would fall to η₀/minEtaFactor (128 by default).
//  - earlyStopping: stop when validation accuracy has not improved for `patience` epochs.
import type { TrainingSpec } from './spec.ts';
import type { ScheduleState } from './training-types.ts';

export function initialSchedule(eta: number): ScheduleState {
  return { eta, bestValidationAccuracy: -1, epochsSinceImprovement: 0, epochsSinceHalving: 0, stopped: false };
}

/** The state after an epoch that reached `validationAccuracy` (null: no validation data). */
export function updateSchedule(s: ScheduleState, t: TrainingSpec, validationAccuracy: number | null): ScheduleState {
  const next = { ...s };
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
