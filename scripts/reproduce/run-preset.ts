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
  if (await state.readResult()) return { status: 'already-done' };
  const started = performance.now();
  const previous = await state.readRunBook();
  if (previous && JSON.stringify(previous.input) !== JSON.stringify(o.input)) {
    throw new Error(`${state.dir} holds a run of ${JSON.stringify(previous.input)}, not of ${JSON.stringify(o.input)}: `
      + 'run with --fresh to start this one over (the saved run is then lost)');
  }
  const book: RunBook = previous
    ? { ...previous, sessions: previous.sessions + 1 }
    : { input: o.input, wallSeconds: 0, sessions: 1, startedAt: new Date().toISOString() };
  const spentBefore = book.wallSeconds;
  const spent = () => spentBefore + (performance.now() - started) / 1000;

  const checkpoint = previous ? await state.readCheckpoint() : null;
  const experiment = checkpoint?.experiment ?? resolveExperiment(o.input);
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
