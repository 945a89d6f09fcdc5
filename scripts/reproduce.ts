// npm run reproduce [-- --preset NAME ...]: runs the book's presets through the engine and writes
// docs/reproduction.md and docs/reproduction.json (the book's figure, ours, the difference, the epoch,
// the wall time, the command, an SVG accuracy curve per run). Resumable: each preset checkpoints after
// every epoch under --state (default DATA_DIR/reproduce); running the same command again continues a
// cut-off run where it stopped and skips finished ones. Ctrl-C stops at the next mini-batch, checkpoints
// and still writes the report.
import { join, relative, resolve } from 'node:path';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config/env.ts';
import {
  engineInfo, estimateCost, jobBudgets, listPresets, loadModel, resolveExperiment, SIGNAL_INTERRUPT, type Experiment, type ExperimentInput, type PresetInfo,
} from '../src/engine/index.ts';
import { bookFigure } from './reproduce/book-figure.ts';
import { completedEntry, inProgressEntry, membersEntry, notRunEntry, bestValidation, type ReproductionEntry } from './reproduce/entry.ts';
import { isMemberwise, memberState, readMember, runMembers, voteAccuracy, type MemberRecord } from './reproduce/ensemble-members.ts';
import { TARGET_POINTS, writeReport, type ReproductionReport } from './reproduce/report.ts';
import { runPreset, sameExperiment } from './reproduce/run-preset.ts';
import { PresetState, atomicWrite, type RunBook } from './reproduce/state.ts';
import { accuracyCurveSvg } from './reproduce/svg-curve.ts';
import type { Checkpoint, TrainedModel } from '../src/engine/index.ts';

const HELP = `usage: npm run reproduce [-- options]
  --preset NAME        a preset to run (repeatable); default: every preset, in the book's order
  --out DIR            where reproduction.md/.json and the curves go (default docs)
  --state DIR          checkpoints, models and results per preset (default DATA_DIR/reproduce)
  --threads N          engine threads (default and ceiling: ENGINE_THREADS)
  --stop-after N       train at most N epochs in this session, then checkpoint and stop (run again to go on)
  --member K           a vote ensemble's member to train (repeatable; default: every member not yet committed,
                       in order). Members are independent: separate processes or machines can each take some.
  --fresh              forget the saved state of the presets named and start them over
  --report-only        train nothing: rewrite the report from the saved state
  --machine TEXT       the machine and its load, in words, for the report
  --epochs N  --train-size N  --validation-size N   a slice (recorded as overrides: not the book's run)
  --list               the presets with the book's figure and the set it is quoted on`;

async function main(): Promise<number> {
  const { values: a } = parseArgs({
    options: {
      preset: { type: 'string', multiple: true }, out: { type: 'string' }, state: { type: 'string' }, threads: { type: 'string' },
      'stop-after': { type: 'string' }, member: { type: 'string', multiple: true }, fresh: { type: 'boolean' }, 'report-only': { type: 'boolean' }, machine: { type: 'string' },
      epochs: { type: 'string' }, 'train-size': { type: 'string' }, 'validation-size': { type: 'string' },
      list: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (a.help) return console.log(HELP), 0;
  const presets = listPresets();
  if (a.list) {
    for (const p of presets) {
      const b = bookFigure(p);
      console.log(`${p.name.padEnd(18)} book ${(b.accuracy * 100).toFixed(2)}% (${b.metric})  ${p.description}`);
    }
    return 0;
  }
  const int = (v: string | undefined, name: string) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer, got "${v}"`);
    return n;
  };
  const stopAfterEpochs = int(a['stop-after'], 'stop-after');
  const onlyMembers = a.member?.map((v) => {
    const k = Number(v);
    if (!Number.isInteger(k) || k < 0) throw new UsageError(`--member must be a member index (0, 1, ...), got "${v}"`);
    return k;
  });
  const chosen = a.preset ?? presets.map((p) => p.name);
  for (const name of chosen) {
    if (!presets.some((p) => p.name === name)) throw new UsageError(`unknown preset "${name}"; known: ${presets.map((p) => p.name).join(', ')}`);
  }
  const training = Object.fromEntries(Object.entries({ epochs: int(a.epochs, 'epochs') }).filter(([, v]) => v !== undefined));
  const data = Object.fromEntries(Object.entries({
    trainSize: int(a['train-size'], 'train-size'), validationSize: int(a['validation-size'], 'validation-size'),
  }).filter(([, v]) => v !== undefined));
  const overrides = Object.keys(training).length + Object.keys(data).length > 0
    ? { ...(Object.keys(training).length ? { training } : {}), ...(Object.keys(data).length ? { data } : {}) }
    : null;
  const flags = [
    ...(a.epochs ? ['--epochs', a.epochs] : []), ...(a['train-size'] ? ['--train-size', a['train-size']] : []),
    ...(a['validation-size'] ? ['--validation-size', a['validation-size']] : []),
  ];

  const config = loadConfig();
  const outDir = resolve(a.out ?? 'docs');
  const stateRoot = resolve(a.state ?? join(config.DATA_DIR, 'reproduce'));
  const threads = Math.min(int(a.threads, 'threads') ?? config.ENGINE_THREADS, config.ENGINE_THREADS);
  const info = engineInfo();
  const engine = `native (${info.gemm}, ${info.simd})`;
  const signal = new Int32Array(new SharedArrayBuffer(4));
  process.on('SIGINT', () => {
    if (signal[0] !== 0) process.exit(130);
    console.log('stopping at the next mini-batch (a checkpoint is written; run the same command again to go on)');
    Atomics.store(signal, 0, SIGNAL_INTERRUPT);
  });
  process.on('SIGTERM', () => Atomics.store(signal, 0, SIGNAL_INTERRUPT));

  const curvesDir = join(outDir, 'reproduction');
  const previous = await readFile(join(outDir, 'reproduction.json'), 'utf8').then((t) => JSON.parse(t) as ReproductionReport).catch(() => null);
  const entries = new Map<string, ReproductionEntry>(previous?.presets.map((e) => [e.preset, e]) ?? []);
  let stoppedEarly = false;

  const commandFor = (name: string, sliced = true) => ['npm run reproduce -- --preset', name, ...(sliced ? flags : [])].join(' ');
  // `input` carries the overrides only for the presets this command runs; the others are described as the book's runs
  const common = (p: PresetInfo, input: ExperimentInput, wallSeconds: number | null, sessions: number, curve: string | null) => {
    const sliced = 'training' in input || 'data' in input;
    const experiment = resolveExperiment(input);
    const imageSteps = estimateCost(experiment).imageSteps;
    return {
      preset: p, experiment, book: bookFigure(p), command: commandFor(p.name, sliced), overrides: sliced ? overrides : null, curve, wallSeconds,
      sessions, threads, engine, imageSteps,
      note: `${(imageSteps / 1e6).toLocaleString('en-US', { maximumFractionDigits: 2 })} million image-steps (members × epochs × training images); \`${commandFor(p.name, sliced)}\` runs it.`,
    };
  };
  const writeCurve = async (p: PresetInfo, members: TrainedModel['members'][number]['history'][], epochs: number, mark: { epoch: number; accuracy: number; label: string } | null) => {
    const file = join(curvesDir, `${p.name}.svg`);
    await atomicWrite(file, accuracyCurveSvg({ title: `${p.name}: accuracy per epoch`, members, epochs, book: bookFigure(p), mark }));
    return relative(outDir, file);
  };

  for (const p of presets) {
    const selected = chosen.includes(p.name);
    const input: ExperimentInput = { preset: p.name, ...(selected ? overrides ?? {} : {}) } as ExperimentInput;
    if (isMemberwise(p)) {
      const memberOverrides = selected ? overrides : null;
      if (selected && !a['report-only'] && signal[0] === 0) {
        console.log(`${p.name}: ${commandFor(p.name)}`);
        const finished = await runMembers({
          preset: p, overrides: memberOverrides, outDir, stateRoot, threads, maxThreads: config.ENGINE_THREADS, budgets: jobBudgets(config),
          signal, ...(stopAfterEpochs !== undefined ? { stopAfterEpochs } : {}), ...(onlyMembers ? { onlyMembers } : {}), engine, log: (l) => console.log(l),
        });
        if (!finished) stoppedEarly = true;
      }
      entries.set(p.name, await membersReport(p, input, memberOverrides));
      continue;
    }
    const state = new PresetState(stateRoot, p.name);
    if (selected && a.fresh) await state.clear();
    if (selected && !a['report-only'] && signal[0] === 0) {
      console.log(`${p.name}: ${commandFor(p.name)}`);
      const outcome = await runPreset({
        state, input, threads, maxThreads: config.ENGINE_THREADS, budgets: jobBudgets(config), signal,
        stopAfterEpochs, log: (l) => console.log(l),
      });
      if (outcome.status === 'completed') {
        const b = bookFigure(p);
        const e0 = completedEntry(common(p, input, outcome.book.wallSeconds, outcome.book.sessions, null), outcome.model);
        const keptValidation = e0.epoch !== null ? outcome.model.members[0]!.history.find((m) => m.epoch === e0.epoch)?.validationAccuracy ?? null : null;
        const mark = e0.epoch !== null && keptValidation !== null ? { epoch: e0.epoch, accuracy: keptValidation, label: `epoch ${e0.epoch} (kept)` } : null;
        const curve = await writeCurve(p, outcome.model.members.map((m) => m.history), outcome.model.experiment.training.epochs, mark);
        await state.finish({ ...e0, curve });
        console.log(`${p.name}: ${(e0.accuracy! * 100).toFixed(2)}% on ${b.metric} (book ${(b.accuracy * 100).toFixed(2)}%) in ${e0.seconds!.toFixed(1)} s`);
      } else if (outcome.status === 'stopped') {
        stoppedEarly = true;
        console.log(`${p.name}: stopped after epoch ${outcome.epoch} of member ${outcome.member}; run the same command again to go on`);
      }
    }
    // the saved state is the newest word; else what the report said before (e.g. a run made elsewhere) if it is of
    // this experiment; else not run
    const earlier = entries.get(p.name);
    const current = resolveExperiment(input);
    const stale = earlier && !(earlier.experiment && sameExperiment(earlier.experiment, current));
    entries.set(p.name, await entryFromState(p, state, input, current)
      ?? (earlier && !stale ? { ...earlier, bookRole: p.bookRole } : notRunEntry({
        ...common(p, input, null, 0, null),
        ...(earlier?.completed ? { note: `the preset changed since its last run (${pctOf(earlier.accuracy)} then): not run again yet; \`${commandFor(p.name, false)}\` runs it.` } : {}),
      })));
  }

  // A vote ensemble's line: from the members committed beside the report, and the checkpoint of the one in progress.
  async function membersReport(p: PresetInfo, input: ExperimentInput, memberOverrides: Record<string, unknown> | null): Promise<ReproductionEntry> {
    const size = p.experiment.ensemble!.size;
    // members may finish out of order (--member splits the work), so every member is looked at
    const records: MemberRecord[] = [];
    const running: { ck: Checkpoint; book: RunBook | null }[] = [];
    for (let k = 0; k < size; k++) {
      const r = await readMember(outDir, p, k, memberOverrides);
      if (r) {
        records.push(r);
        continue;
      }
      const state = memberState(stateRoot, p, k);
      const ck = await state.readCheckpoint().catch(() => null);
      if (ck) running.push({ ck, book: await state.readRunBook() });
    }
    const histories = [...records.map((r) => r.history), ...running.map(({ ck }) => ck.history)];
    const curve = histories.length ? await writeCurve(p, histories, p.experiment.training.epochs, null) : null;
    const wall = records.reduce((s, r) => s + r.wallSeconds, 0) + running.reduce((s, { book }) => s + (book?.wallSeconds ?? 0), 0);
    const sessions = records.reduce((s, r) => s + r.sessions, 0) + running.reduce((s, { book }) => s + (book?.sessions ?? 0), 0);
    const vote = records.length === size ? await voteAccuracy(records) : null;
    const c = common(p, input, histories.length ? wall : null, sessions, curve);
    const entry = membersEntry(c, size, records, vote, running.length ? { epochs: running.reduce((s, { ck }) => s + ck.history.length, 0) } : null);
    const last = records.at(-1);
    return { ...entry, threads: last?.threads ?? null, engine: last?.engine ?? null };
  }

  async function entryFromState(p: PresetInfo, state: PresetState, input: ExperimentInput, current: Experiment): Promise<ReproductionEntry | null> {
    const book = await state.readRunBook();
    if (!book || !sameExperiment(book.experiment, current)) return null; // none, or a run of what the preset was before
    const done = await state.readResult<ReproductionEntry>();
    if (done && a['report-only']) {
      // figures derived again from the saved model (a report written by an older version of this script)
      const model = await loadModel(state.modelDir).catch(() => null);
      if (!model) return done;
      const again = completedEntry(common(p, input, done.seconds, done.sessions, done.curve), model);
      return { ...again, finishedAt: done.finishedAt, threads: done.threads, engine: done.engine };
    }
    if (done) return done;
    const ck = await state.readCheckpoint();
    if (!ck) return null;
    const epochs = ck.experiment.training.epochs;
    const members = [...ck.completed.map((m) => m.history), ck.history];
    const best = bestValidation(ck.history);
    const curve = await writeCurve(p, members, epochs, null);
    const e = inProgressEntry(common(p, input, book.wallSeconds, book.sessions, curve), epochs, ck.experiment.ensemble?.size ?? 1, ck.member, ck.history, ck.trainingSeconds);
    return { ...e, bestValidationAccuracy: best?.accuracy ?? null, bestValidationEpoch: best?.epoch ?? null };
  }

  const report: ReproductionReport = {
    generatedBy: 'npm run reproduce (scripts/reproduce.ts)',
    generatedAt: new Date().toISOString(),
    machine: a.machine ?? previous?.machine ?? `${threads} engine thread(s), ${engine}`,
    targetPoints: TARGET_POINTS,
    presets: presets.map((p) => entries.get(p.name)!),
  };
  await writeReport(outDir, report);
  console.log(`wrote ${join(outDir, 'reproduction.md')} and reproduction.json`);
  return stoppedEarly ? 130 : 0;
}

class UsageError extends Error {}

const pctOf = (v: number | null) => (v === null ? 'no figure' : `${(v * 100).toFixed(2)}%`);

main().then((code) => process.exit(code), (err) => {
  console.error(err instanceof UsageError ? `${err.message}\n\n${HELP}` : `error: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  process.exit(2);
});
