// A trained model on disk: dir/model.json (everything but the weights) + dir/weights.bin (every
// member's parameters, float32 little-endian, concatenated in member order). The format is
// documented in src/engine/README.md; loadModel checks it thoroughly before trusting it.
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { planNetwork } from './network-plan.ts';
import { validateExperiment } from './presets.ts';
import { SpecError } from './spec.ts';
import type { EpochMetrics, TrainedModel } from './training-types.ts';

export const MODEL_FILE = 'model.json';
export const WEIGHTS_FILE = 'weights.bin';

export class ModelFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelFormatError';
  }
}

type ModelJson = Omit<TrainedModel, 'members'> & {
  paramLayout: {
    paramCount: number;
    layers: {
      layer: number; kind: 'dense' | 'conv'; weights: { offset: number; length: number; shape: number[] }; biases: { offset: number; length: number };
      norm?: { offset: number; length: number }; // a batch-norm conv layer: γ, running mean, running variance
    }[];
  };
  weights: { file: string; dtype: 'float32'; byteOrder: 'little'; members: number; floatsPerMember: number; sha256: string };
  members: { history: EpochMetrics[] }[];
};

export async function saveModel(dir: string, model: TrainedModel): Promise<void> {
  const plan = planNetwork(model.experiment.network);
  for (const m of model.members) {
    if (m.params.length !== plan.paramCount) {
      throw new ModelFormatError(`a member has ${m.params.length} parameters, the network needs ${plan.paramCount}`);
    }
  }
  const weights = Buffer.concat(model.members.map((m) => {
    const copy = new Float32Array(m.params); // typed arrays are little-endian on the hosts we run on
    return Buffer.from(copy.buffer);
  }));
  const { members, ...rest } = model;
  const json: ModelJson = {
    ...rest,
    paramLayout: {
      paramCount: plan.paramCount,
      layers: plan.segments.map((s) => ({
        layer: s.layer, kind: s.kind,
        weights: { offset: s.weightOffset, length: s.weightLength, shape: s.weightShape },
        biases: { offset: s.biasOffset, length: s.biasLength },
        ...(s.norm ? { norm: { offset: s.norm.offset, length: s.norm.length } } : {}),
      })),
    },
    weights: {
      file: WEIGHTS_FILE, dtype: 'float32', byteOrder: 'little', members: members.length,
      floatsPerMember: plan.paramCount, sha256: createHash('sha256').update(weights).digest('hex'),
    },
    members: members.map((m) => ({ history: m.history })),
  };
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, WEIGHTS_FILE), weights);
  await writeFile(join(dir, MODEL_FILE), JSON.stringify(json, null, 1));
}

export async function loadModel(dir: string): Promise<TrainedModel> {
  let json: ModelJson;
  try {
    json = JSON.parse(await readFile(join(dir, MODEL_FILE), 'utf8'));
  } catch (err) {
    throw new ModelFormatError(`cannot read ${join(dir, MODEL_FILE)}: ${(err as Error).message}`);
  }
  if (json.format !== 'nndl-model') throw new ModelFormatError(`${MODEL_FILE}: format is not "nndl-model"`);
  if (json.version !== 1) throw new ModelFormatError(`${MODEL_FILE}: unsupported version ${json.version}`);
  let experiment;
  try {
    experiment = validateExperiment(json.experiment);
  } catch (err) {
    if (err instanceof SpecError) throw new ModelFormatError(`${MODEL_FILE}: invalid experiment: ${err.message}`);
    throw err;
  }
  const plan = planNetwork(experiment.network);
  const w = json.weights;
  if (!w || w.floatsPerMember !== plan.paramCount || !Array.isArray(json.members) || w.members !== json.members.length || json.members.length < 1) {
    throw new ModelFormatError(`${MODEL_FILE}: weights description does not match the network (${plan.paramCount} parameters per member)`);
  }
  const bytes = await readFile(join(dir, WEIGHTS_FILE)).catch((err: Error) => {
    throw new ModelFormatError(`cannot read ${join(dir, WEIGHTS_FILE)}: ${err.message}`);
  });
  if (bytes.length !== w.members * w.floatsPerMember * 4) {
    throw new ModelFormatError(`${WEIGHTS_FILE}: ${bytes.length} bytes, expected ${w.members * w.floatsPerMember * 4}`);
  }
  if (createHash('sha256').update(bytes).digest('hex') !== w.sha256) throw new ModelFormatError(`${WEIGHTS_FILE}: checksum mismatch`);
  const all = new Float32Array(bytes.length / 4);
  new Uint8Array(all.buffer).set(bytes);
  const { paramLayout: _layout, weights: _weights, members, ...rest } = json;
  return {
    ...rest,
    experiment,
    members: members.map((m, i) => ({
      params: all.slice(i * plan.paramCount, (i + 1) * plan.paramCount),
      history: m.history,
    })),
  };
}
