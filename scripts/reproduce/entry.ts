// One preset's line in docs/reproduction.json: the book's figure, ours on the same data set, the
// difference, the epoch it comes from, the time it took, and the other figures worth comparing.
import type { EpochMetrics, Experiment, PresetInfo, TrainedModel } from '../../src/engine/index.ts';
import type { BookFigure, Metric } from './book-figure.ts';

export type ReproductionEntry = {
  preset: string;
  description: string;
  /** The book's figure, quoted on `metric`'s data set. */
  bookAccuracy: number;
  metric: Metric;
  /** nndl's figure on the same set: test accuracy of the model's kept weights, or the best validation accuracy. */
  accuracy: number | null;
  /** accuracy − bookAccuracy, in percentage points. */
  difference: number | null;
  /** 1-based epoch the figure comes from (null for an ensemble's test figure: see keptEpochs). */
  epoch: number | null;
  /** Wall seconds over all sessions (data, training, evaluation). */
  seconds: number | null;
  completed: boolean;
  status: 'completed' | 'in-progress' | 'not-run';
  epochs: number;
  members: number;
  /** Epochs done by the member in training (in progress) or by all (completed). */
  epochsDone: number;
  trainingSeconds: number | null;
  sessions: number;
  testAccuracy: number | null;
  /** Test accuracy of the last epoch's weights (equals testAccuracy when those are the ones kept). */
  finalTestAccuracy: number | null;
  bestValidationAccuracy: number | null;
  bestValidationEpoch: number | null;
  finalValidationAccuracy: number | null;
  keptEpochs: number[] | null;
  command: string;
  /** The SVG accuracy curve, relative to the report. */
  curve: string | null;
  /** Experiment settings that differ from the preset (a slice): such a figure is not the book's run. */
  overrides: Record<string, unknown> | null;
  threads: number | null;
  engine: string | null;
  finishedAt: string | null;
  /** members × epochs × training images: what the run costs (compare the engine's img/s). */
  imageSteps: number;
  /** Why a preset has no figure, in words. */
  note: string | null;
  /** The resolved experiment the figure belongs to (a preset that changed since makes an entry stale). */
  experiment: Experiment;
};

/** Best validation accuracy and its epoch; ties go to the later epoch (network3.py's >=). */
export function bestValidation(history: EpochMetrics[]): { accuracy: number; epoch: number } | null {
  let best: { accuracy: number; epoch: number } | null = null;
  for (const m of history) {
    if (m.validationAccuracy === null || !Number.isFinite(m.validationAccuracy)) continue;
    if (!best || m.validationAccuracy >= best.accuracy) best = { accuracy: m.validationAccuracy, epoch: m.epoch };
  }
  return best;
}

const points = (v: number | null, book: number) => (v === null ? null : Math.round((v - book) * 1e6) / 1e4);

type Common = {
  preset: PresetInfo; experiment: Experiment; imageSteps: number; note?: string | null; book: BookFigure; command: string; overrides: Record<string, unknown> | null;
  curve: string | null; wallSeconds: number | null; sessions: number; threads: number | null; engine: string | null;
};

function base(c: Common, epochs: number, members: number): ReproductionEntry {
  return {
    preset: c.preset.name, description: c.preset.description, bookAccuracy: c.book.accuracy, metric: c.book.metric,
    accuracy: null, difference: null, epoch: null, seconds: c.wallSeconds, completed: false, status: 'not-run',
    epochs, members, epochsDone: 0, trainingSeconds: null, sessions: c.sessions,
    testAccuracy: null, finalTestAccuracy: null, bestValidationAccuracy: null, bestValidationEpoch: null,
    finalValidationAccuracy: null, keptEpochs: null, command: c.command, curve: c.curve, overrides: c.overrides,
    threads: c.threads, engine: c.engine, finishedAt: null, imageSteps: c.imageSteps, note: null, experiment: c.experiment,
  };
}

export function notRunEntry(c: Common): ReproductionEntry {
  const e = c.preset.experiment;
  return { ...base(c, e.training.epochs, e.ensemble?.size ?? 1), note: c.note ?? null };
}

/** A run cut off: what its checkpoint says so far (no test figure yet). */
export function inProgressEntry(c: Common, epochs: number, members: number, member: number, history: EpochMetrics[], trainingSeconds: number): ReproductionEntry {
  const best = bestValidation(history);
  return {
    ...base(c, epochs, members), status: 'in-progress', epochsDone: member * epochs + history.length, trainingSeconds,
    bestValidationAccuracy: best?.accuracy ?? null, bestValidationEpoch: best?.epoch ?? null,
    finalValidationAccuracy: history.at(-1)?.validationAccuracy ?? null,
  };
}

export function completedEntry(c: Common, model: TrainedModel): ReproductionEntry {
  // keptEpochs / finalTestAccuracy come with the engine's keep-best-validation (absent before it)
  const extra = model as TrainedModel & { keptEpochs?: number[]; finalTestAccuracy?: number };
  const first = model.members[0]!.history;
  const epochs = model.experiment.training.epochs;
  const best = bestValidation(first);
  const single = model.members.length === 1;
  const kept = extra.keptEpochs ?? model.members.map((m) => m.history.at(-1)?.epoch ?? epochs);
  const accuracy = c.book.metric === 'validation' ? best?.accuracy ?? null : model.testAccuracy;
  const epoch = c.book.metric === 'validation' ? best?.epoch ?? null : single ? kept[0]! : null;
  return {
    ...base(c, epochs, model.members.length), status: 'completed', completed: true,
    accuracy, difference: points(accuracy, c.book.accuracy), epoch,
    epochsDone: model.members.reduce((s, m) => s + m.history.length, 0), trainingSeconds: model.trainingSeconds,
    testAccuracy: model.testAccuracy, finalTestAccuracy: extra.finalTestAccuracy ?? model.testAccuracy,
    bestValidationAccuracy: best?.accuracy ?? null, bestValidationEpoch: best?.epoch ?? null,
    finalValidationAccuracy: first.at(-1)?.validationAccuracy ?? null, keptEpochs: kept,
    finishedAt: new Date().toISOString(),
  };
}
