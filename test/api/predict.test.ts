// Predictions from a real trained model, in every input form, on real MNIST test digits.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import sharp from 'sharp';
import { digitJpeg, digitPng, photoLike, testDigits, toUnitPixels, type Digit } from '../fixtures/mnist-digits.ts';
import { startTestApp, type TestApp } from '../fixtures/test-app.ts';
import { smallModel } from '../fixtures/trained-model.ts';

let t: TestApp;
let modelId: string;
// Digits 100..119 of the test set; the model gets ~90% of all test digits right.
const digits = testDigits(20, 100);
const NEED = 16; // of 20

before(async () => {
  t = await startTestApp('predict');
  const rec = await t.saveModel(await smallModel(), { name: 'small' });
  modelId = rec.id;
  await t.aliases.set('default', modelId);
});
after(() => t.close());

type Body = { modelId: string; predictions: { digit: number; confidence: number; probabilities: number[]; input?: number[] }[] };

function checkShape(body: Body, n: number) {
  assert.equal(body.modelId, modelId);
  assert.equal(body.predictions.length, n);
  for (const p of body.predictions) {
    assert.ok(Number.isInteger(p.digit) && p.digit >= 0 && p.digit <= 9);
    assert.equal(p.probabilities.length, 10);
    const sum = p.probabilities.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - 1) < 1e-3, `probabilities sum to ${sum}`);
    assert.equal(p.confidence, Math.max(...p.probabilities));
    assert.equal(p.confidence, p.probabilities[p.digit]);
  }
}

type P = Body['predictions'][number];
/** Batched and single engine calls sum in a different order: equal up to float rounding. */
function assertSamePrediction(a: P, b: P) {
  assert.equal(a.digit, b.digit);
  a.probabilities.forEach((v, i) => assert.ok(Math.abs(v - b.probabilities[i]!) < 1e-4, `p[${i}] ${v} vs ${b.probabilities[i]}`));
}

function countRight(predicted: number[], ds: Digit[]): number {
  return predicted.filter((d, i) => d === ds[i]!.label).length;
}

async function oneByOne(send: (d: Digit) => Promise<request.Response>): Promise<number> {
  const predicted: number[] = [];
  for (const d of digits) {
    const res = await send(d);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    checkShape(res.body, 1);
    predicted.push(res.body.predictions[0].digit);
  }
  return countRight(predicted, digits);
}

test('raw PNG body', async () => {
  const right = await oneByOne(async (d) =>
    request(t.server).post('/v1/predict').set('content-type', 'image/png').send(await digitPng(d)),
  );
  assert.ok(right >= NEED, `${right}/20 right`);
});

test('raw JPEG body, by model id', async () => {
  const right = await oneByOne(async (d) =>
    request(t.server).post(`/v1/models/${modelId}/predict`).set('content-type', 'image/jpeg').send(await digitJpeg(d)),
  );
  assert.ok(right >= NEED, `${right}/20 right`);
});

test('multipart field "image", by alias name', async () => {
  await t.aliases.set('small', modelId);
  const right = await oneByOne(async (d) =>
    request(t.server).post('/v1/models/small/predict').attach('image', await digitPng(d), { filename: 'd.png', contentType: 'image/png' }),
  );
  assert.ok(right >= NEED, `${right}/20 right`);
});

test('JSON pixels', async () => {
  const right = await oneByOne((d) => request(t.server).post('/v1/predict').send({ pixels: toUnitPixels(d) }));
  assert.ok(right >= NEED, `${right}/20 right`);
});

test('JSON pixels give the same answer as the PNG of the same digit (normalisation is near-identity on MNIST)', async () => {
  for (const d of digits.slice(0, 5)) {
    const a = await request(t.server).post('/v1/predict').send({ pixels: toUnitPixels(d) });
    const b = await request(t.server).post('/v1/predict').set('content-type', 'image/png').send(await digitPng(d));
    assert.equal(a.body.predictions[0].digit, b.body.predictions[0].digit);
    assert.ok(Math.abs(a.body.predictions[0].confidence - b.body.predictions[0].confidence) < 0.15);
  }
});

test('a batch of instances (numbers), one prediction each, in order', async () => {
  const res = await request(t.server).post('/v1/predict').send({ instances: digits.map(toUnitPixels) });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  checkShape(res.body, digits.length);
  const right = countRight(res.body.predictions.map((p: { digit: number }) => p.digit), digits);
  assert.ok(right >= NEED, `${right}/20 right`);
  // same answers as one by one
  const single = await request(t.server).post('/v1/predict').send({ pixels: toUnitPixels(digits[3]!) });
  assertSamePrediction(single.body.predictions[0], res.body.predictions[3]);
});

test('instances as base64 PNG/JPEG mixed with numbers', async () => {
  const instances = await Promise.all(
    digits.map(async (d, i) =>
      i % 3 === 0 ? toUnitPixels(d) : { b64: (await (i % 3 === 1 ? digitPng(d) : digitJpeg(d))).toString('base64') },
    ),
  );
  instances[1] = { b64: `data:image/png;base64,${(instances[1] as { b64: string }).b64}` };
  const res = await request(t.server).post('/v1/predict').send({ instances });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  checkShape(res.body, digits.length);
  const right = countRight(res.body.predictions.map((p: { digit: number }) => p.digit), digits);
  assert.ok(right >= NEED, `${right}/20 right`);
});

test('photo-like images: enlarged, dark ink on light paper, off-centre, noisy (JPEG, PNG, RGB)', async () => {
  const ds = digits.slice(0, 10);
  const forms = [
    (d: Digit) => photoLike(d, { format: 'jpeg' }),
    (d: Digit) => photoLike(d, { format: 'png', scale: 5, offsetX: -60, offsetY: 30 }),
    (d: Digit) => photoLike(d, { format: 'jpeg', scale: 12, rgb: true, noise: 20 }),
  ];
  for (const [k, form] of forms.entries()) {
    const instances = await Promise.all(ds.map(async (d) => ({ b64: (await form(d)).toString('base64') })));
    const res = await request(t.server).post('/v1/predict').send({ instances });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const right = countRight(res.body.predictions.map((p: { digit: number }) => p.digit), ds);
    assert.ok(right >= 8, `form ${k}: ${right}/10 right`);
  }
  // and as a raw upload
  const raw = await request(t.server).post('/v1/predict').set('content-type', 'image/jpeg').send(await photoLike(ds[0]!));
  assert.equal(raw.status, 200);
});

test('?debug=1 returns the 28×28 input the model saw: ink bright, centred', async () => {
  const d = digits[0]!;
  const res = await request(t.server).post('/v1/predict?debug=1').set('content-type', 'image/jpeg').send(await photoLike(d));
  assert.equal(res.status, 200);
  const input: number[] = res.body.predictions[0].input;
  assert.equal(input.length, 784);
  assert.ok(input.every((v) => v >= 0 && v <= 1));
  assert.ok(input[0] === 0 && input[783] === 0, 'background is dark');
  let s = 0, sx = 0, sy = 0;
  input.forEach((v, i) => { s += v; sx += v * (i % 28); sy += v * Math.floor(i / 28); });
  assert.ok(Math.abs(sx / s - 14) < 1 && Math.abs(sy / s - 14) < 1, `centre of mass ${sx / s}, ${sy / s}`);
  const plain = await request(t.server).post('/v1/predict').send({ pixels: toUnitPixels(d) });
  assert.equal(plain.body.predictions[0].input, undefined);
  assert.equal(plain.body.predictions[0].stages, undefined);
});

test('?debug=1 shows each preprocessing stage of an image as a PNG; the last is the model\'s input', async () => {
  const d = digits[1]!;
  const png = await photoLike(d);
  const res = await request(t.server).post('/v1/predict?debug=1').set('content-type', 'image/jpeg').send(png);
  assert.equal(res.status, 200);
  const { stages, input } = res.body.predictions[0] as { stages: { stage: string; width: number; height: number; png: string }[]; input: number[] };
  assert.deepEqual(stages.map((s) => s.stage), ['decoded', 'ink', 'digit component', 'outline fill', 'stroke width', 'mnist 28×28']);
  for (const s of stages) {
    assert.match(s.png, /^data:image\/png;base64,/);
    const meta = await sharp(Buffer.from(s.png.slice(s.png.indexOf(',') + 1), 'base64')).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([meta.info.width, meta.info.height], [s.width, s.height], s.stage);
    if (s.stage === 'mnist 28×28') assert.deepEqual(Array.from(meta.data), input.map((v) => Math.round(v * 255)));
  }
  // JSON instances: an image instance has stages, a pixels instance has none
  const mixed = await request(t.server).post('/v1/predict?debug=1').send({ instances: [toUnitPixels(d), { b64: png.toString('base64') }] });
  assert.equal(mixed.status, 200);
  assert.equal(mixed.body.predictions[0].stages, undefined);
  assert.equal(mixed.body.predictions[1].stages.length, 5);
  const quiet = await request(t.server).post('/v1/predict').set('content-type', 'image/jpeg').send(png);
  assert.equal(quiet.body.predictions[0].stages, undefined);
});

test('concurrent requests are answered correctly (micro-batched) and counted in /metrics', async () => {
  const res = await Promise.all(
    digits.map((d) => request(t.server).post('/v1/predict').send({ pixels: toUnitPixels(d) })),
  );
  const sequential = await request(t.server).post('/v1/predict').send({ instances: digits.map(toUnitPixels) });
  res.forEach((r, i) => assertSamePrediction(r.body.predictions[0], sequential.body.predictions[i]));
  const metrics = await request(t.server).get('/metrics');
  assert.match(metrics.text, /nndl_predictions_total\{model="[^"]+"\} \d+/);
  assert.match(metrics.text, /nndl_predict_batch_size_count \d+/);
  assert.match(metrics.text, /nndl_model_cache\{what="models"\} 1\n/);
  assert.match(metrics.text, /nndl_model_cache\{what="bytes"\} [1-9]\d*\n/);
  assert.match(metrics.text, /nndl_engine_images_per_second\{source="predict"\} [1-9]/);
});
