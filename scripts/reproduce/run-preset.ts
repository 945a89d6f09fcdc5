// Runs one preset through the engine (no HTTP, no queue), resumable: a checkpoint after every epoch,
// the run's wall time kept across sessions, the model and its result saved when it completes. A preset
// whose result is there is not trained again (unless fresh); one with a checkpoint continues from it,
// bit-identically (the engine resumes on the checkpoint's thread count).
import {
  assertWithinBudgets, loadMnist, resolveExperiment, saveModel, splitDataAsync, train, SIGNAL_INTERRUPT,
  type EpochMetrics, type ExperimentInput, type JobBudgets, type TrainedModel,
} from '../../src/engine/index.ts';
import type { PresetState, RunBook } from './state.ts';

export type RunOutcome =
  | { status: 'completed'; model: TrainedModel; book: RunBook; resumedFrom: number | null }
  | { status: 'stopped'; book: RunBook; member: number; epoch: number; history: EpochMetrics[]; trainingSeconds: number }
  | { status: 'already-done' };

export type RunOptions = {
  state: PresetState;
  input: ExperimentInput;
  threads: number;
  maxThreads: number;
  budgets: JobBudgets;
  signal: Int32Array;
  /** Train at most this many epochs in this session, then checkpoint and stop (re-running resumes). */
  stopAfterEpochs?: number;
  log: (line: string) => void;
};

export async function runPreset(o: RunOptions): Promise<RunOutcome> {
  const { state, log } = o;
  const resolved = resolveExperiment(o.input);
  let previous = await state.readRunBook();
  if (previous && !sameExperiment(previous.experiment, resolved)) {
    const to = await state.retire();
    log(`${state.preset}: the saved run was of another experiment (the preset changed since): moved to ${to}; starting over`);
    previous = null;
  }
  if (previous && (await state.readResult())) return { status: 'already-done' };
  const started = performance.now();
  const book: RunBook = previous
    ? { ...previous, sessions: previous.sessions + 1 }
    : { input: o.input, experiment: resolved, wallSeconds: 0, sessions: 1, startedAt: new Date().toISOString() };
  const spentBefore = book.wallSeconds;
  const spent = () => spentBefore + (performance.now() - started) / 1000;

  const checkpoint = previous ? await state.readCheckpoint() : null;
  const experiment = checkpoint?.experiment ?? resolved;
  assertWithinBudgets(experiment, o.budgets);
  if (checkpoint) log(`${state.preset}: resuming member ${checkpoint.member} after epoch ${checkpoint.epoch} (batch ${checkpoint.batch})`);
  const data = await splitDataAsync(await loadMnist(), experiment.data);

  let epochsThisSession = 0;
  const result = await train(experiment, {
    data, checkpoint: checkpoint ?? undefined, threads: o.threads, maxThreads: o.maxThreads, signal: o.signal,
    onEpoch: async (m, ck) => {
      await state.writeCheckpoint(ck);
      await state.writeRunBook({ ...book, wallSeconds: spent() });
      const pct = (v: number | null) => (v === null ? 'n/a' : `${(v * 100).toFixed(2)}%`);
      log(`${state.preset}: ${experiment.ensemble ? `member ${m.member} ` : ''}epoch ${m.epoch}/${m.epochs} validation ${pct(m.validationAccuracy)}`
        + ` training ${pct(m.trainingAccuracy)} η ${m.eta} ${m.seconds.toFixed(1)} s`);
      epochsThisSession++;
      if (o.stopAfterEpochs !== undefined && epochsThisSession >= o.stopAfterEpochs) Atomics.store(o.signal, 0, SIGNAL_INTERRUPT);
    },
  });
  if (result.status !== 'completed') {
    const ck = result.checkpoint;
    await state.writeCheckpoint(ck);
    book.wallSeconds = spent();
    await state.writeRunBook(book);
    return { status: 'stopped', book, member: ck.member, epoch: ck.epoch, history: ck.history, trainingSeconds: ck.trainingSeconds };
  }
  await saveModel(state.modelDir, result.model);
  book.wallSeconds = spent();
  await state.writeRunBook(book);
  return { status: 'completed', model: result.model, book, resumedFrom: checkpoint ? checkpoint.member * experiment.training.epochs + checkpoint.epoch : null };
}

/**
 * The same experiment, whatever the key order and whichever engine options were added since: each side is
 * resolved again without its preset name, so an option absent from an older record takes its default (the
 * engine's rule: absent = the behaviour from before the option existed), while a value the preset changed
 * (η, init, layers, keep...) still differs.
 */
export function sameExperiment(a: unknown, b: unknown): boolean {
  return canonical(normalised(a)) === canonical(normalised(b));
}

function normalised(e: unknown): unknown {
  if (!e || typeof e !== 'object') return e;
  const { preset: _preset, ...rest } = e as Record<string, unknown>;
  try {
    return resolveExperiment(rest);
  } catch {
    return rest; // not valid any more: compared as it is (and so, differs)
  }
}

function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (x && typeof x === 'object' && !Array.isArray(x)
    ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([p], [q]) => p.localeCompare(q)))
    : x));
}
