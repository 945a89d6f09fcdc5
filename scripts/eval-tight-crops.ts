// Accuracy of a model on MNIST's test digits cropped tight and stretched to fill 16×16, 48×48 and
// 100×100 (as USPS's digits are), black on white and white on black, through the same decoding and
// normalisation as POST /v1/predict (src/eval/tight-crops.ts).
//   npm run eval:tight -- [--model DIR] [--count N] [--json]
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createModelPredictor, loadMnist, loadStoredModel } from '../src/engine/index.ts';
import { evaluateTightCrops } from '../src/eval/tight-crops.ts';

const { values: a } = parseArgs({
  options: { model: { type: 'string', default: 'models/bundled' }, count: { type: 'string', default: '2000' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
});
if (a.help) {
  console.log('usage: npm run eval:tight -- [--model DIR (default models/bundled)] [--count N (default 2000)] [--json]');
  process.exit(0);
}
const count = Number(a.count);
if (!Number.isInteger(count) || count < 1 || count > 10_000) {
  console.error(`--count: an integer from 1 to 10000, got ${a.count}`);
  process.exit(2);
}
const model = await loadStoredModel(resolve(a.model!));
const predictor = createModelPredictor(model, { threads: 1 });
try {
  const results = await evaluateTightCrops(predictor, (await loadMnist()).test, count);
  if (a.json) console.log(JSON.stringify({ model: resolve(a.model!), results }));
  else {
    console.log(`model ${resolve(a.model!)}: the first ${count} MNIST test digits, cropped tight and stretched`);
    for (const r of results) console.log(`${r.variant.padEnd(28)} ${(100 * r.correct / r.count).toFixed(1).padStart(5)}%   no digit ${r.noDigit}`);
  }
} finally {
  predictor.dispose();
}
