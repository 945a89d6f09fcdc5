// What the registry knows about a stored model: everything GET /v1/models/:id shows,
// without the weights.
import { createHash } from 'node:crypto';
import type { Combine, EpochMetrics, Experiment, ModelEnsemble, StoredModel, TrainedModel } from '../engine/index.ts';

export type ModelRecord = {
  id: string;
  name?: string;
  jobId?: string;
  /** Name of the API key whose job made it (see the job's owner). */
  owner?: string;
  createdAt: string; // ISO 8601
  preset?: string;
  /** What it was trained with; absent for an ensemble of models (each member has its own: `ensemble`). */
  experiment?: Experiment;
  /** An ensemble made from trained models (POST /v1/ensembles): how it combines and its members. */
  ensemble?: EnsembleInfo;
  testAccuracy: number;
  testCost: number;
  confusion: number[][]; // [actual][predicted]
  /** Per member, the 1-based epoch whose weights the model holds (training.keep). */
  keptEpochs: number[];
  /** Test figures of the last epoch's weights (equal to testAccuracy/testCost when those are the ones kept). */
  finalTestAccuracy: number;
  finalTestCost: number;
  history: EpochMetrics[]; // every member's epochs, in member order
  backend: string;
  members: number;
  trainingSeconds: number;
  bytes: number; // weights in memory (float32), what the model cache counts
  /** What a model that did not come from a job says about itself (the bundled model's card). */
  card?: ModelCard;
};

/** A model's card: where it came from, what it was trained on and how well it does. */
export type ModelCard = {
  source: 'bundled';
  name: string;
  description: string;
  trainedOn: string;
  seed: number;
  epochs: number;
  trainingSeconds: number;
  mnistTestAccuracy: number;
  realWorld?: { set: string; accuracy: number; perCategory: Record<string, number>; command: string; preprocessing: string };
  reproduce: string;
  /** SHA-256 of weights.bin, as verified at install. */
  sha256?: string;
};

export type EnsembleInfo = {
  combine: Combine;
  members: { modelId: string; name?: string; testAccuracy: number; members: number; experiment: Experiment }[];
};

/** Model ids are generated here and also what route params accept: no path tricks possible. */
export const MODEL_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

export function newModelId(): string {
  // time-ordered prefix so ids sort roughly by creation; random tail for uniqueness
  const t = Date.now().toString(36).padStart(9, '0');
  const r = crypto.getRandomValues(new Uint8Array(6));
  return `m${t}${Buffer.from(r).toString('hex')}`;
}

/**
 * The id of the model a training job saves: derived from the job id, so a redelivered or resumed
 * job finds the model an earlier attempt saved (and a second save of it is refused by the
 * filesystem: renaming onto a non-empty directory fails) instead of saving another.
 */
export function modelIdForJob(jobId: string): string {
  return `mj${createHash('sha256').update(jobId, 'utf8').digest('hex').slice(0, 20)}`;
}

/** Parses a record.json read from a model directory; throws with the reason when it is not one. */
export function parseModelRecord(json: string, id: string): ModelRecord {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (err) {
    throw new Error(`record.json is not JSON: ${(err as Error).message}`, { cause: err });
  }
  const r = value as Partial<ModelRecord> | null;
  if (typeof r !== 'object' || r === null || Array.isArray(r)) throw new Error('record.json is not an object');
  if (r.id !== id) throw new Error(`record.json names model ${JSON.stringify(r.id)}, its directory is ${id}`);
  if (typeof r.createdAt !== 'string' || Number.isNaN(Date.parse(r.createdAt))) throw new Error('record.json has no valid createdAt');
  const described = (v: unknown) => typeof v === 'object' && v !== null;
  if (!described(r.experiment) && !described(r.ensemble)) throw new Error('record.json has no experiment (nor ensemble)');
  if (typeof r.testAccuracy !== 'number' || typeof r.members !== 'number' || typeof r.bytes !== 'number') {
    throw new Error('record.json lacks testAccuracy, members or bytes');
  }
  return r as ModelRecord;
}

export function recordFor(
  id: string,
  model: StoredModel,
  meta: { jobId?: string; name?: string; owner?: string; card?: ModelCard },
  createdAt = new Date(),
): ModelRecord {
  if (model.format === 'nndl-ensemble') return ensembleRecordFor(id, model, meta, createdAt);
  const bytes = model.members.reduce((s, m) => s + m.params.byteLength, 0);
  const record: ModelRecord = {
    id,
    createdAt: createdAt.toISOString(),
    experiment: model.experiment,
    testAccuracy: model.testAccuracy,
    testCost: model.testCost,
    confusion: model.confusion,
    // models made before training.keep existed hold their last epoch
    keptEpochs: model.keptEpochs ?? model.members.map((m) => m.history.length),
    finalTestAccuracy: model.finalTestAccuracy ?? model.testAccuracy,
    finalTestCost: model.finalTestCost ?? model.testCost,
    history: model.members.flatMap((m) => m.history),
    backend: model.backend,
    members: model.members.length,
    trainingSeconds: model.trainingSeconds,
    bytes,
  };
  const name = meta.name ?? model.experiment.name;
  if (name !== undefined) record.name = name;
  if (meta.jobId !== undefined) record.jobId = meta.jobId;
  if (meta.owner !== undefined) record.owner = meta.owner;
  if (meta.card !== undefined) record.card = meta.card;
  if (model.experiment.preset !== undefined) record.preset = model.experiment.preset;
  return record;
}

/**
 * An ensemble of trained models: no experiment or history of its own (its members' are in
 * `ensemble.members`); members = networks in all; trainingSeconds and bytes summed over members.
 */
function ensembleRecordFor(id: string, e: ModelEnsemble, meta: { name?: string; owner?: string }, createdAt: Date): ModelRecord {
  const all: TrainedModel[] = e.members.map((m) => m.model);
  const record: ModelRecord = {
    id,
    createdAt: createdAt.toISOString(),
    ensemble: {
      combine: e.combine,
      members: e.members.map(({ modelId, model }) => ({
        modelId,
        ...(model.experiment.name !== undefined ? { name: model.experiment.name } : {}),
        testAccuracy: model.testAccuracy,
        members: model.members.length,
        experiment: model.experiment,
      })),
    },
    testAccuracy: e.testAccuracy,
    testCost: e.testCost,
    confusion: e.confusion,
    keptEpochs: [],
    finalTestAccuracy: e.testAccuracy,
    finalTestCost: e.testCost,
    history: [],
    backend: [...new Set(all.map((m) => m.backend))].join('+'),
    members: all.reduce((s, m) => s + m.members.length, 0),
    trainingSeconds: all.reduce((s, m) => s + m.trainingSeconds, 0),
    bytes: all.reduce((s, m) => s + m.members.reduce((b, x) => b + x.params.byteLength, 0), 0),
  };
  if (meta.name !== undefined) record.name = meta.name;
  if (meta.owner !== undefined) record.owner = meta.owner;
  return record;
}
