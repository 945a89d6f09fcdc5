// A vote ensemble reproduced member by member, as conv.py trains its five nets one after another. Each
// member is a run of its own: the preset's experiment as one network with seed + k, which is the network
// the engine's ensemble trains as member k (trainer.ts seeds member k with seed + k). What the plurality
// vote needs of a finished member, the digit it predicts for each test and validation image, is committed
// beside the report (docs/reproduction/members/<preset>/member-<k>.json, ~25 KB) as soon as it is known.
// So a run longer than a working session (ch6-ensemble: 5 × 40 epochs on 250,000 images) can span
// sessions whose checkpoints are not kept: at most the member in progress is lost, and the report's
// figure is recomputed from the committed members alone.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  loadMnist, loadModel, predictDigits, resolveExperiment, splitDataAsync,
  type Checkpoint, type EpochMetrics, type Experiment, type ExperimentInput, type JobBudgets, type PresetInfo, type TrainedModel,
} from '../../src/engine/index.ts';
import { runPreset, sameExperiment } from './run-preset.ts';
import { atomicWrite, PresetState, type RunBook } from './state.ts';

export type MemberRecord = {
  format: 'nndl-reproduction-member';
  version: 1;
  preset: string;
  member: number;
  /** The member's own experiment: the preset's, one network, seed + member. */
  experiment: Experiment;
  /** Test accuracy of the member's kept weights (the final epoch's under keep 'final'). */
  testAccuracy: number;
  validationAccuracy: number | null;
  keptEpoch: number;
  history: EpochMetrics[];
  /** The predicted digit of each test image, in order, as one string of '0'–'9'. */
  testDigits: string;
  validationDigits: string;
  wallSeconds: number;
  trainingSeconds: number;
  sessions: number;
  threads: number;
  engine: string;
  finishedAt: string;
  /** The finished run whose final weights are this member (the same training; that run kept its best epoch), if any. */
  adoptedFrom?: string;
};

/** Whether a preset is reproduced member by member: an ensemble that votes (conv.py's). */
export function isMemberwise(p: PresetInfo): boolean {
  const e = p.experiment.ensemble;
  return !!e && e.size > 1 && e.combine === 'vote';
}

/** Member k's run: the preset (with the command's overrides) as one network, seeded as the ensemble's member k. */
export function memberInput(p: PresetInfo, k: number, overrides: Record<string, unknown> | null): ExperimentInput {
  const training = (overrides?.training ?? {}) as Record<string, unknown>;
  return { preset: p.name, ...overrides, training: { ...training, seed: p.experiment.training.seed + k }, ensemble: null } as ExperimentInput;
}

export const membersDir = (outDir: string, preset: string) => join(outDir, 'reproduction', 'members', preset);
const memberFile = (outDir: string, preset: string, k: number) => join(membersDir(outDir, preset), `member-${k}.json`);

/** The committed record of member k, if it is of the experiment the preset now asks for. */
export async function readMember(outDir: string, p: PresetInfo, k: number, overrides: Record<string, unknown> | null): Promise<MemberRecord | null> {
  const text = await readFile(memberFile(outDir, p.name, k), 'utf8').catch(() => null);
  if (text === null) return null;
  const r = JSON.parse(text) as MemberRecord;
  return sameExperiment(r.experiment, resolveExperiment(memberInput(p, k, overrides))) ? r : null;
}

export type MembersRun = {
  preset: PresetInfo; overrides: Record<string, unknown> | null; outDir: string; stateRoot: string;
  threads: number; maxThreads: number; budgets: JobBudgets; signal: Int32Array; stopAfterEpochs?: number;
  /** Train only these members (the rest are left to other processes); default: all. */
  onlyMembers?: number[];
  engine: string; log: (line: string) => void;
};

/** Trains the members not yet committed, in order, committing each as it finishes; false when stopped early. */
export async function runMembers(o: MembersRun): Promise<boolean> {
  const size = o.preset.experiment.ensemble!.size;
  const outside = o.onlyMembers?.find((k) => k >= size);
  if (outside !== undefined) throw new RangeError(`${o.preset.name} has ${size} members (0 to ${size - 1}); there is no member ${outside}`);
  for (let k = 0; k < size; k++) {
    if (o.onlyMembers && !o.onlyMembers.includes(k)) continue;
    if (await readMember(o.outDir, o.preset, k, o.overrides)) continue;
    if (o.signal[0] !== 0) return false;
    const state = memberState(o.stateRoot, o.preset, k);
    const input = memberInput(o.preset, k, o.overrides);
    const donor = await findDonor(o.stateRoot, resolveExperiment(input));
    if (donor) {
      const { ck, book, name } = donor;
      const model: TrainedModel = {
        format: 'nndl-model', version: 1, experiment: resolveExperiment(input), members: [{ params: ck.params, history: ck.history }],
        testAccuracy: Number.NaN, testCost: Number.NaN, confusion: [], trainingSeconds: ck.trainingSeconds, backend: 'native',
      };
      const record = { ...(await memberRecord(o, k, model, book)), adoptedFrom: name };
      await atomicWrite(memberFile(o.outDir, o.preset.name, k), `${JSON.stringify(record)}\n`);
      o.log(`${o.preset.name}: member ${k + 1} of ${size} is ${name}'s final weights (the same training; ${name} kept its best epoch): `
        + `${(record.testAccuracy * 100).toFixed(2)}% test; committed as ${memberFile(o.outDir, o.preset.name, k)}`);
      continue;
    }
    o.log(`${o.preset.name}: member ${k + 1} of ${size} (seed ${o.preset.experiment.training.seed + k})`);
    const outcome = await runPreset({
      state, input, threads: o.threads, maxThreads: o.maxThreads, budgets: o.budgets, signal: o.signal,
      ...(o.stopAfterEpochs !== undefined ? { stopAfterEpochs: o.stopAfterEpochs } : {}), log: o.log,
    });
    if (outcome.status === 'stopped') return false;
    const model = outcome.status === 'completed' ? outcome.model : await loadModel(state.modelDir);
    const book = outcome.status === 'completed' ? outcome.book : (await state.readRunBook())!;
    const record = await memberRecord(o, k, model, book);
    await atomicWrite(memberFile(o.outDir, o.preset.name, k), `${JSON.stringify(record)}\n`);
    o.log(`${o.preset.name}: member ${k + 1} of ${size}: ${(record.testAccuracy * 100).toFixed(2)}% test; committed as ${memberFile(o.outDir, o.preset.name, k)}`);
  }
  return true;
}

export const memberState = (stateRoot: string, p: PresetInfo, k: number) => new PresetState(stateRoot, `${p.name}.member-${k}`);

/**
 * A finished run (any preset's, in the state directory) whose final checkpoint is member `exp`'s training to
 * the end: the same experiment but for `keep` (which weights a run keeps as its model does not change its
 * training). ch6-dropout is ch6-ensemble's member 0 this way.
 */
async function findDonor(stateRoot: string, exp: Experiment): Promise<{ name: string; ck: Checkpoint; book: RunBook } | null> {
  const names = await readdir(stateRoot).catch(() => [] as string[]);
  for (const name of names.sort()) {
    const state = new PresetState(stateRoot, name);
    const ck = await state.readFinalCheckpoint().catch(() => null);
    if (!ck || ck.member !== 0 || ck.completed.length > 0 || ck.batch !== 0 || ck.epoch !== ck.experiment.training.epochs) continue;
    const asFinal = { ...ck.experiment, training: { ...ck.experiment.training, keep: exp.training.keep } };
    if (!sameExperiment(asFinal, exp)) continue;
    const book = await state.readRunBook();
    if (book) return { name, ck, book };
  }
  return null;
}

async function memberRecord(o: MembersRun, k: number, model: TrainedModel, book: RunBook): Promise<MemberRecord> {
  // validation and test only: the expanded training set is not needed to predict
  const data = await splitDataAsync(await loadMnist(), { ...model.experiment.data, expand: false });
  const test = await predictDigits(model, data.test, o.threads);
  const validation = await predictDigits(model, data.validation, o.threads);
  const history = model.members[0]!.history;
  const keptEpoch = model.keptEpochs?.[0] ?? history.at(-1)?.epoch ?? 0;
  return {
    format: 'nndl-reproduction-member', version: 1, preset: o.preset.name, member: k, experiment: model.experiment,
    testAccuracy: accuracyOf(test, data.test.labels) ?? 0, validationAccuracy: accuracyOf(validation, data.validation.labels),
    keptEpoch, history, testDigits: digitString(test), validationDigits: digitString(validation),
    wallSeconds: book.wallSeconds, trainingSeconds: model.trainingSeconds, sessions: book.sessions,
    threads: o.threads, engine: o.engine, finishedAt: new Date().toISOString(),
  };
}

const digitString = (d: Uint8Array) => Array.from(d, (x) => String(x)).join('');

function accuracyOf(predicted: Uint8Array, labels: Uint8Array): number | null {
  if (labels.length === 0) return null;
  let right = 0;
  for (let i = 0; i < labels.length; i++) if (predicted[i] === labels[i]) right++;
  return right / labels.length;
}

/**
 * conv.py's plurality vote over the members' predicted digits; a tie goes to the smallest of the tied
 * digits (what Counter.most_common gives on Python 2's int-ordered dicts, and the engine's 'vote').
 */
export function pluralityVote(members: string[], count: number): Uint8Array {
  const out = new Uint8Array(count);
  const votes = new Uint8Array(10);
  for (let i = 0; i < count; i++) {
    votes.fill(0);
    for (const m of members) votes[m.charCodeAt(i) - 48]! += 1;
    let best = 0;
    for (let d = 1; d < 10; d++) if (votes[d]! > votes[best]!) best = d;
    out[i] = best;
  }
  return out;
}

/** The vote's accuracy on the test and validation sets, from the committed members (the labels from MNIST). */
export async function voteAccuracy(records: MemberRecord[]): Promise<{ test: number; validation: number | null }> {
  const first = records[0]!;
  const data = await splitDataAsync(await loadMnist(), { ...first.experiment.data, expand: false });
  const test = accuracyOf(pluralityVote(records.map((r) => r.testDigits), data.test.count), data.test.labels) ?? 0;
  const validation = accuracyOf(pluralityVote(records.map((r) => r.validationDigits), data.validation.count), data.validation.labels);
  return { test, validation };
}
