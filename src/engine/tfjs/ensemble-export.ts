// Any stored model as TensorFlow.js files: a trained model as exportTfjs writes it; an ensemble of
// trained models (model-ensemble.ts) as ensemble.json + each member's own export under member-<i>/
// (model.json + weights.bin, or for a member that is itself a trained ensemble, its ensemble.json
// and member-<i>/member-<j>/ files). ensemble.json says how to combine the members.
import { isModelEnsemble, type StoredModel } from '../model-ensemble.ts';
import { exportTfjs, type ExportedModel } from './layers-export.ts';

const COMBINE_TEXT = {
  mean: "mean of the members' probabilities (softmax outputs as they are; other outputs clamped at 0 and divided by their sum)",
  vote: "plurality vote: each member votes for its most probable digit; a tie goes to the smallest digit",
} as const;

export function exportStoredModel(model: StoredModel, name = 'nndl'): ExportedModel {
  if (!isModelEnsemble(model)) return exportTfjs(model, name);
  const files: Record<string, Uint8Array> = {};
  const members = model.members.map((m, i) => {
    const dir = `member-${i}`;
    for (const [path, bytes] of Object.entries(exportTfjs(m.model, `${name}_member_${i}`).files)) files[`${dir}/${path}`] = bytes;
    return m.model.members.length === 1
      ? { modelId: m.modelId, modelJson: `${dir}/model.json` }
      : { modelId: m.modelId, ensembleJson: `${dir}/ensemble.json` };
  });
  const manifest = { format: 'nndl-tfjs-ensemble', version: 1, members, combine: COMBINE_TEXT[model.combine], testAccuracy: model.testAccuracy };
  files['ensemble.json'] = new TextEncoder().encode(JSON.stringify(manifest, null, 2));
  return { files };
}
