// One preset's line in docs/reproduction.json: the book's figure, ours on the same data set, the
// difference, the epoch it comes from, the time it took, and the other figures worth comparing.
import type { EpochMetrics, Experiment, PresetInfo, TrainedModel } from '../../src/engine/index.ts';
import type { BookFigure, Metric } from './book-figure.ts';

export type ReproductionEntry = {
  preset: string;
  description: string;
  /** The book's figure, quoted on `metric`'s data set. */
  bookAccuracy: number;
  /** What that figure is to the preset (presets.ts BookRole): a run to reproduce, a contrast, or the best to beat. */
  bookRole: PresetInfo['bookRole'];
  metric: Metric;
  /** nndl's figure on the same set: test accuracy of the model's kept weights, or the validation accuracy of the kept epoch. */
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
  /** Chapter 5's speed of learning: ‖∂C/∂b‖ of each hidden layer at initialisation and after the last epoch (null when not measured). */
  biasGradientNorms: { atInit: number[] | null; last: number[] | null } | null;
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
    preset: c.preset.name, description: c.preset.description, bookAccuracy: c.book.accuracy, bookRole: c.preset.bookRole, metric: c.book.metric,
    accuracy: null, difference: null, epoch: null, seconds: c.wallSeconds, completed: false, status: 'not-run',
    epochs, members, epochsDone: 0, trainingSeconds: null, sessions: c.sessions,
    testAccuracy: null, finalTestAccuracy: null, bestValidationAccuracy: null, bestValidationEpoch: null,
    finalValidationAccuracy: null, keptEpochs: null, command: c.command, curve: c.curve, overrides: c.overrides,
    threads: c.threads, engine: c.engine, finishedAt: null, imageSteps: c.imageSteps, note: null, biasGradientNorms: null, experiment: c.experiment,
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
  // like with like (presets.ts): a validation figure is the validation accuracy of the kept epoch
  const keptValidation = first.find((m) => m.epoch === kept[0])?.validationAccuracy ?? null;
  const accuracy = c.book.metric === 'validation' ? keptValidation : model.testAccuracy;
  const epoch = c.book.metric === 'validation' || single ? kept[0]! : null;
  return {
    ...base(c, epochs, model.members.length), status: 'completed', completed: true,
    accuracy, difference: points(accuracy, c.book.accuracy), epoch,
    epochsDone: model.members.reduce((s, m) => s + m.history.length, 0), trainingSeconds: model.trainingSeconds,
    testAccuracy: model.testAccuracy, finalTestAccuracy: extra.finalTestAccuracy ?? model.testAccuracy,
    bestValidationAccuracy: best?.accuracy ?? null, bestValidationEpoch: best?.epoch ?? null,
    finalValidationAccuracy: first.at(-1)?.validationAccuracy ?? null, keptEpochs: kept,
    finishedAt: new Date().toISOString(),
    biasGradientNorms: first[0]?.biasGradientNorms
      ? { atInit: first[0].initialBiasGradientNorms ?? null, last: first.at(-1)!.biasGradientNorms ?? null }
      : null,
  };
}

/**
 * A vote ensemble reproduced member by member (ensemble-members.ts): completed when every member is
 * committed, its figure the plurality vote of their test predictions; before that, in progress, with
 * each finished member's own figure in the note (a vote of fewer members is not the book's run).
 */
export function membersEntry(
  c: Common, size: number, members: { member: number; testAccuracy: number; validationAccuracy: number | null; keptEpoch: number; history: EpochMetrics[]; trainingSeconds: number; finishedAt: string }[],
  vote: { test: number; validation: number | null } | null, inProgress: { epochs: number } | null,
): ReproductionEntry {
  const e = c.preset.experiment;
  const epochs = e.training.epochs;
  const first = members[0]?.history ?? [];
  const best = bestValidation(first);
  const each = members.map((m) => `member ${m.member + 1}: ${(m.testAccuracy * 100).toFixed(2)}%`).join(', ');
  const done = members.length === size && vote !== null;
  const accuracy = done ? (c.book.metric === 'validation' ? vote.validation : vote.test) : null;
  return {
    ...base(c, epochs, size), status: done ? 'completed' : members.length > 0 || inProgress ? 'in-progress' : 'not-run', completed: done,
    accuracy, difference: points(accuracy, c.book.accuracy), epoch: null,
    epochsDone: members.reduce((s, m) => s + m.history.length, 0) + (inProgress?.epochs ?? 0),
    trainingSeconds: members.length ? members.reduce((s, m) => s + m.trainingSeconds, 0) : null,
    testAccuracy: done ? vote.test : null, finalTestAccuracy: done ? vote.test : null,
    bestValidationAccuracy: best?.accuracy ?? null, bestValidationEpoch: best?.epoch ?? null,
    finalValidationAccuracy: done ? vote.validation : null, keptEpochs: members.length ? members.map((m) => m.keptEpoch) : null,
    finishedAt: done ? members.map((m) => m.finishedAt).sort().at(-1)! : null,
    note: (`${members.length} of ${size} members committed${members.length ? ` (${each})` : ''}; each member is trained and committed on its own`
      + ` (docs/reproduction/members/${c.preset.name}/), so the run can span sessions. ${c.note ?? ''}`).trim(),
  };
}
