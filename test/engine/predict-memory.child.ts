// Child of predict-memory.test.ts: loads the issue's example network into a predictor with the
// configured PREDICT_SCRATCH_BYTES, predicts one image, then batches of 12 and 30 (more than one
// chunk per thread at any of the budgets tested), disposes of it, and prints the RSS figures (bytes)
// as one JSON line.
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../../src/config/env.ts';
import { createPredictor } from '../../src/engine/index.ts';
import { issueExampleModel } from '../fixtures/issue-example.ts';

const gc = () => (globalThis as { gc?: () => void }).gc?.();
const maxRss = () => process.resourceUsage().maxRSS * 1024;
const rss = () => process.memoryUsage().rss;
const images = (n: number) => new Float32Array(n * 784).map((_, i) => ((i * 13) % 29) / 29);

const config = loadConfig();
const model = issueExampleModel();
// warm up: the addon, the libuv pool and the code paths, on a tiny network
const warm = createPredictor({ ...model, experiment: { ...model.experiment, network: { ...model.experiment.network,
  layers: [{ type: 'dense', units: 10, activation: 'softmax' }] } }, members: [{ params: new Float32Array(7850), history: [] }] }, { threads: 2 });
await Promise.all([warm.predict(images(300)), warm.predict(images(1)), warm.predict(images(64))]);
warm.dispose();
const inputs = [images(1), images(12), images(30)];
gc();
await sleep(50);
const baseline = rss();
const peakBefore = maxRss();

const predictor = createPredictor(model, { threads: config.ENGINE_THREADS, scratchBytes: config.PREDICT_SCRATCH_BYTES });
let digits = 0;
for (const input of inputs) digits += (await predictor.predict(input)).length / 10;
const peak = maxRss();
const held = rss();
predictor.dispose();
gc();
await sleep(50);
console.log(JSON.stringify({ baseline, peakBefore, peak, held, after: rss(), bytes: predictor.bytes, budget: config.PREDICT_SCRATCH_BYTES, digits }));
