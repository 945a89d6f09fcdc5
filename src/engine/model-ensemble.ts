// An ensemble made from trained models (POST /v1/ensembles): chapter 6's "combine several networks"
// for networks trained apart, whatever their architectures. Unlike a trained ensemble (one
// experiment, ensemble.size members of the same network: TrainedModel), each member here is a whole
// TrainedModel with its own experiment, and the ensemble combines the members' probabilities with
// addMember ('mean', or 'vote': one vote per member model, ties to the smallest digit). A member that
// is itself a trained ensemble answers with its own combined probabilities, and counts once.
//
// On disk (format version 1): dir/ensemble.json { format: "nndl-ensemble", version, combine,
// members: [{ modelId, dir }], testAccuracy, testCost, confusion } and dir/member-<i>/, each a model
// directory as saveModel writes it (copies: deleting a member model later leaves the ensemble whole).
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelFormatError, loadModel, saveModel } from './model-io.ts';
import { COMBINE, type Combine } from './spec.ts';
import type { TrainedModel } from './training-types.ts';

export const ENSEMBLE_FILE = 'ensemble.json';

export type ModelEnsemble = {
  format: 'nndl-ensemble';
  version: 1;
  combine: Combine;
  /** The member models, in order; modelId = the registry id each was copied from. */
  members: { modelId: string; model: TrainedModel }[];
  /** Of the combined predictions on the 10,000 MNIST test images. */
  testAccuracy: number;
  /** The members' mean test cost (each its own cost function, regularization included). */
  testCost: number;
  confusion: number[][];
};

/** What the model store holds: a trained model or an ensemble of trained models. */
export type StoredModel = TrainedModel | ModelEnsemble;

export const isModelEnsemble = (m: StoredModel): m is ModelEnsemble => m.format === 'nndl-ensemble';

type EnsembleJson = Omit<ModelEnsemble, 'members'> & { members: { modelId: string; dir: string }[] };

const memberDir = (i: number) => `member-${i}`;

export async function saveModelEnsemble(dir: string, e: ModelEnsemble): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [i, m] of e.members.entries()) await saveModel(join(dir, memberDir(i)), m.model);
  const { members, ...rest } = e;
  const json: EnsembleJson = { ...rest, members: members.map((m, i) => ({ modelId: m.modelId, dir: memberDir(i) })) };
  await writeFile(join(dir, ENSEMBLE_FILE), JSON.stringify(json, null, 1));
}

export async function loadModelEnsemble(dir: string): Promise<ModelEnsemble> {
  let json: EnsembleJson;
  try {
    json = JSON.parse(await readFile(join(dir, ENSEMBLE_FILE), 'utf8'));
  } catch (err) {
    throw new ModelFormatError(`cannot read ${join(dir, ENSEMBLE_FILE)}: ${(err as Error).message}`);
  }
  if (json.format !== 'nndl-ensemble' || json.version !== 1) throw new ModelFormatError(`${ENSEMBLE_FILE}: not an nndl-ensemble of version 1`);
  if (!(COMBINE as readonly string[]).includes(json.combine)) throw new ModelFormatError(`${ENSEMBLE_FILE}: unknown combine ${JSON.stringify(json.combine)}`);
  if (!Array.isArray(json.members) || json.members.length < 2) throw new ModelFormatError(`${ENSEMBLE_FILE}: an ensemble needs 2 members or more`);
  const members = [];
  for (const [i, m] of json.members.entries()) {
    // the directory names are ours: never follow one the file could point elsewhere with
    if (m.dir !== memberDir(i)) throw new ModelFormatError(`${ENSEMBLE_FILE}: member ${i} is not in ${memberDir(i)}`);
    members.push({ modelId: String(m.modelId), model: await loadModel(join(dir, m.dir)) });
  }
  return { ...json, members };
}

/** Saves either kind of model into `dir`. */
export function saveStoredModel(dir: string, model: StoredModel): Promise<void> {
  return isModelEnsemble(model) ? saveModelEnsemble(dir, model) : saveModel(dir, model);
}

/** Loads the model in `dir`, an ensemble when it holds ensemble.json. */
export async function loadStoredModel(dir: string): Promise<StoredModel> {
  const ensemble = await access(join(dir, ENSEMBLE_FILE)).then(() => true, () => false);
  return ensemble ? loadModelEnsemble(dir) : loadModel(dir);
}
