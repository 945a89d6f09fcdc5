// GET /v1/models/{id}/export?format=tfjs: the zip opens with tf.loadLayersModel (through
// tf.io.fromMemory, from the unzipped files) and predicts real MNIST test digits as /predict does:
// the same digit for every image, probabilities within 1e-4 (softmax output; a sigmoid output is
// normalised here the way /predict does it). Also: ensembles (manifest + members), models trained
// by the tfjs backend, batch-norm conv layers, L2 pooling (422), unknown model (404), bad format (400).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { unzipSync } from 'fflate';
import { loadMnist, planNetwork, resolveExperiment, splitData, train, type TrainedModel } from '../../src/engine/index.ts';
import { loadTf, type Tf } from '../../src/engine/tfjs/tfjs-loader.ts';
import { testDigits, toUnitPixels } from '../fixtures/mnist-digits.ts';
import { startTestApp, type TestApp } from '../fixtures/test-app.ts';
import { smallModel } from '../fixtures/trained-model.ts';

let t: TestApp;
let tf: Tf;
const digits = testDigits(40, 200);

before(async () => {
  t = await startTestApp('export');
  tf = (await loadTf()).tf;
});
after(() => t.close());

async function trainSmall(input: object): Promise<TrainedModel> {
  const exp = resolveExperiment(input);
  const mnist = await loadMnist();
  const data = splitData(mnist, exp.data);
  data.test = { images: data.test.images.subarray(0, 200 * 784), labels: data.test.labels.subarray(0, 200), count: 200 };
  const r = await train(exp, { data, threads: 1 });
  if (r.status !== 'completed') throw new Error(r.status);
  return r.model;
}

async function download(id: string): Promise<Record<string, Uint8Array>> {
  const res = await request(t.server).get(`/v1/models/${id}/export?format=tfjs`).buffer(true)
    .parse((r, cb) => { const bufs: Buffer[] = []; r.on('data', (b: Buffer) => bufs.push(b)); r.on('end', () => cb(null, Buffer.concat(bufs))); });
  assert.equal(res.status, 200, String(res.body));
  assert.match(res.headers['content-type']!, /application\/zip/);
  return unzipSync(new Uint8Array(res.body as Buffer));
}

async function load(files: Record<string, Uint8Array>, prefix = '') {
  const json = JSON.parse(new TextDecoder().decode(files[`${prefix}model.json`]!));
  assert.equal(json.format, 'layers-model');
  assert.deepEqual(json.weightsManifest[0].paths, ['weights.bin']);
  const bin = files[`${prefix}weights.bin`]!;
  const weightData = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) as ArrayBuffer;
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData }));
}

function probabilities(out: Float32Array, softmax: boolean): Float32Array {
  if (softmax) return out;
  const p = new Float32Array(out.length);
  for (let at = 0; at < out.length; at += 10) {
    let s = 0;
    for (let j = 0; j < 10; j++) s += Math.max(0, out[at + j]!);
    for (let j = 0; j < 10; j++) p[at + j] = s > 0 ? Math.max(0, out[at + j]!) / s : 0.1;
  }
  return p;
}

async function predictApi(id: string) {
  const res = await request(t.server).post(`/v1/models/${id}/predict`).send({ instances: digits.map(toUnitPixels) });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.predictions as { digit: number; probabilities: number[] }[];
}

async function checkSame(id: string, files: Record<string, Uint8Array>, softmax: boolean, prefix = '') {
  const m = await load(files, prefix);
  const x = tf.tensor2d(digits.flatMap(toUnitPixels), [digits.length, 784]);
  const out = probabilities((m.predict(x) as ReturnType<Tf['tensor']>).dataSync() as Float32Array, softmax);
  const api = await predictApi(id);
  api.forEach((p, i) => {
    const row = out.subarray(i * 10, i * 10 + 10);
    assert.equal(row.indexOf(Math.max(...row)), p.digit, `digit ${i}`);
    p.probabilities.forEach((v, j) => assert.ok(Math.abs(v - row[j]!) <= 1e-4, `image ${i} p[${j}]: api ${v} tfjs ${row[j]}`));
  });
  m.dispose();
}

test('a dense sigmoid model (ch1-mlp30) exports and predicts as /predict', async () => {
  const rec = await t.saveModel(await smallModel());
  await checkSame(rec.id, await download(rec.id), false);
});

test('a conv net trained by the tfjs backend exports and predicts as /predict (softmax)', async () => {
  const model = await trainSmall({
    network: { layers: [{ type: 'conv', filters: 4, kernel: 5, activation: 'relu' }, { type: 'pool', kind: 'max' },
      { type: 'conv', filters: 4, kernel: 3, activation: 'tanh' }, { type: 'pool', kind: 'avg' },
      { type: 'dense', units: 20, activation: 'relu', dropout: 0.2 }, { type: 'dense', units: 10, activation: 'softmax' }] },
    training: { epochs: 1, eta: 0.1, seed: 4 }, data: { trainSize: 1000, validationSize: 0 }, backend: 'tfjs',
  });
  assert.equal(model.backend, 'tfjs');
  const rec = await t.saveModel(model);
  const detail = await request(t.server).get(`/v1/models/${rec.id}`);
  assert.equal(detail.body.backend, 'tfjs');
  await checkSame(rec.id, await download(rec.id), true);
});

test('a batch-norm conv net exports as Conv2D + BatchNormalization + Activation and predicts as /predict', async () => {
  const model = await trainSmall({
    network: { layers: [{ type: 'conv', filters: 4, kernel: 5, activation: 'relu', batchNorm: true }, { type: 'pool', kind: 'max' },
      { type: 'conv', filters: 6, kernel: 3, activation: 'linear', batchNorm: true }, { type: 'pool', kind: 'avg' },
      { type: 'dense', units: 10, activation: 'softmax' }] },
    training: { epochs: 1, eta: 0.1, seed: 5 }, data: { trainSize: 1000, validationSize: 0 },
  });
  assert.equal(model.backend, 'native');
  const rec = await t.saveModel(model);
  const files = await download(rec.id);
  const json = JSON.parse(new TextDecoder().decode(files['model.json']!));
  const classes = json.modelTopology.config.layers.map((l: { class_name: string }) => l.class_name);
  assert.deepEqual(classes, ['Reshape', 'Conv2D', 'BatchNormalization', 'Activation', 'MaxPooling2D', 'Conv2D', 'BatchNormalization',
    'AveragePooling2D', 'Flatten', 'Dense']);
  const names = json.weightsManifest[0].weights.map((w: { name: string }) => w.name);
  assert.ok(names.includes('batch_normalization_1/moving_variance'));
  // training moved the running statistics off their start (mean 0, variance 1): the match below needs them
  const norm = planNetwork(model.experiment.network).segments[0]!.norm!;
  assert.ok(model.members[0]!.params.subarray(norm.offset + 4, norm.offset + 12).every((v, i) => v !== (i < 4 ? 0 : 1)));
  await checkSame(rec.id, files, true);
});

test('an ensemble exports its members and a manifest', async () => {
  const model = await trainSmall({
    network: { layers: [{ type: 'dense', units: 16, activation: 'relu' }, { type: 'dense', units: 10, activation: 'softmax' }] },
    training: { epochs: 1, eta: 0.1, seed: 9 }, data: { trainSize: 1000, validationSize: 0 }, ensemble: { size: 2 },
  });
  const rec = await t.saveModel(model);
  const files = await download(rec.id);
  const manifest = JSON.parse(new TextDecoder().decode(files['ensemble.json']!));
  assert.deepEqual(manifest.members.map((m: { modelJson: string }) => m.modelJson), ['member-0/model.json', 'member-1/model.json']);
  // the mean of the members' softmax outputs is what /predict answers
  const x = tf.tensor2d(digits.flatMap(toUnitPixels), [digits.length, 784]);
  const outs: Float32Array[] = [];
  for (const prefix of ['member-0/', 'member-1/']) {
    const m = await load(files, prefix);
    outs.push((m.predict(x) as ReturnType<Tf['tensor']>).dataSync() as Float32Array);
  }
  const api = await predictApi(rec.id);
  api.forEach((p, i) => p.probabilities.forEach((v, j) => {
    const mean = (outs[0]![i * 10 + j]! + outs[1]![i * 10 + j]!) / 2;
    assert.ok(Math.abs(v - mean) <= 1e-4, `image ${i} p[${j}]`);
  }));
});

test('L2 pooling cannot be exported (422), unknown models 404, unknown formats 400', async () => {
  const model = await trainSmall({
    network: { layers: [{ type: 'conv', filters: 2, kernel: 5, activation: 'relu' }, { type: 'pool', kind: 'l2' }, { type: 'dense', units: 10, activation: 'softmax' }] },
    training: { epochs: 1, eta: 0.1, seed: 4 }, data: { trainSize: 200, validationSize: 0 },
  });
  const rec = await t.saveModel(model);
  const res = await request(t.server).get(`/v1/models/${rec.id}/export?format=tfjs`);
  assert.equal(res.status, 422);
  assert.equal(res.body.error.code, 'unprocessable');
  assert.match(res.body.error.message, /L2 pool/);
  const missing = await request(t.server).get('/v1/models/nope-123/export?format=tfjs');
  assert.equal(missing.status, 404);
  assert.equal(missing.body.error.code, 'not_found');
  const bad = await request(t.server).get(`/v1/models/${rec.id}/export?format=onnx`);
  assert.equal(bad.status, 400);
});
