// `npm run eval:realworld [-- --model <id|alias|path>] [--set DIR] [--json] [--misses]`:
// a model's accuracy on the real-world set (eval/realworld/: photos, scans and pen drawings that
// are not MNIST's images), per category and overall, through the same preprocessing as
// POST /v1/predict. --model is a model directory (model.json + weights.bin) or a model id or
// alias in the store (REDIS_URL, QUEUE_PREFIX, DATA_DIR as the service uses them); default: the
// store's `default` alias.
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { loadConfig } from '../src/config/env.ts';
import { createModelPredictor, isModelEnsemble, loadStoredModel as loadModel } from '../src/engine/index.ts';
import type { StoredModel } from '../src/engine/index.ts';
import { decodeDigit } from '../src/api/predict/decode-image.ts';
import { DEFAULT_STAGES, PREPROCESS_STAGES, setPreprocessStages, type PreprocessStage } from '../src/api/predict/normalize-image.ts';
import { parseStages } from '../src/api/predict/stages/stage-names.ts';
import { evaluateRealWorld, preprocessSet, readManifest, REALWORLD_DIR } from '../src/eval/realworld.ts';
import { AliasRepository } from '../src/store/alias.repository.ts';
import { ModelRepository } from '../src/store/model.repository.ts';

const { values: a } = parseArgs({
  options: {
    model: { type: 'string', default: 'default' }, set: { type: 'string' }, json: { type: 'boolean' },
    misses: { type: 'boolean' }, stages: { type: 'string' }, help: { type: 'boolean', short: 'h' },
  },
});
if (a.help) {
  console.log('usage: npm run eval:realworld -- [--model <id|alias|dir>] [--set DIR] [--json] [--misses] [--stages LIST|none]');
  console.log(`  --stages: the optional preprocessing stages to run, comma-separated (${PREPROCESS_STAGES.join(', ')}), or none;`);
  console.log(`            default: PREPROCESS_STAGES, else ${DEFAULT_STAGES.join(', ')}`);
  process.exit(0);
}

const config = loadConfig();
let stages: PreprocessStage[];
try {
  stages = a.stages === undefined ? config.PREPROCESS_STAGES : parseStages(a.stages);
} catch (err) {
  console.error((err as Error).message);
  process.exit(2);
}
setPreprocessStages(stages);

async function findModel(ref: string): Promise<{ model: StoredModel; name: string }> {
  if (await stat(join(ref, 'model.json')).then((s) => s, () => stat(join(ref, 'ensemble.json'))).catch(() => null)) return { model: await loadModel(resolve(ref)), name: resolve(ref) };
  const redis = new Redis(config.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    const models = new ModelRepository({ dataDir: config.DATA_DIR, redis, prefix: config.QUEUE_PREFIX });
    const aliases = new AliasRepository({ redis, prefix: config.QUEUE_PREFIX });
    const id = (await models.exists(ref)) ? ref : await aliases.resolve(ref);
    if (!id) throw new Error(`no model directory, model id or alias named ${JSON.stringify(ref)} (store ${config.QUEUE_PREFIX} at ${config.REDIS_URL})`);
    return { model: await models.load(id), name: id === ref ? id : `${ref} -> ${id}` };
  } finally {
    redis.disconnect();
  }
}

const dir = resolve(a.set ?? REALWORLD_DIR);
const { model, name } = await findModel(a.model!);
const manifest = await readManifest(dir);
const started = performance.now();
const inputs = await preprocessSet(manifest, dir, (b) => decodeDigit(b, { maxPixels: config.MAX_IMAGE_PIXELS }));
const preprocessMs = performance.now() - started;
const presetOf = isModelEnsemble(model) ? undefined : model.experiment.preset;
const predictor = createModelPredictor(model, { threads: 1 });
const result = await evaluateRealWorld(predictor, { dir, manifest, inputs });
predictor.dispose();

if (a.json) {
  console.log(JSON.stringify({ model: name, stages, preset: presetOf ?? null, testAccuracy: model.testAccuracy ?? null, preprocessMs, ...result, misses: a.misses ? result.misses : undefined }));
} else {
  const pct = (x: number) => `${(x * 100).toFixed(1).padStart(5)}%`;
  // MNIST's figure to two decimals: 99.65% is not 99.7%
  console.log(`model ${name} (${presetOf ?? (isModelEnsemble(model) ? 'ensemble' : 'custom')}, MNIST test ${model.testAccuracy !== undefined ? `${(model.testAccuracy * 100).toFixed(2)}%` : 'n/a'})`);
  console.log(`set ${dir} (${result.count} images), stages: ${stages.join(', ') || 'none'}, preprocessing ${(preprocessMs / result.count).toFixed(2)} ms/image`);
  console.log(`${'category'.padEnd(18)} ${'n'.padStart(4)}  accuracy  no digit`);
  for (const c of result.categories) console.log(`${c.category.padEnd(18)} ${String(c.count).padStart(4)}  ${pct(c.accuracy)}    ${String(c.noDigit).padStart(4)}`);
  console.log(`${'overall'.padEnd(18)} ${String(result.count).padStart(4)}  ${pct(result.accuracy)}    (mean of categories ${pct(result.meanCategoryAccuracy)})`);
  if (a.misses) for (const m of result.misses) console.log(`miss ${m.file}: label ${m.label}, read ${m.predicted ?? 'no digit'}`);
}
