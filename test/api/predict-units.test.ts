// The predict pipeline's parts on their own: image normalisation, the micro-batcher,
// the model cache (with real engine predictors).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { decodeDigit } from '../../src/api/predict/decode-image.ts';
import { MicroBatcher } from '../../src/api/predict/micro-batcher.ts';
import { parsePixelsJson, PixelsBodyFast } from '../../src/api/predict/pixels-json.ts';
import { ModelCache } from '../../src/api/predict/model-cache.ts';
import { centreByMass, inkImage } from '../../src/api/predict/normalize-image.ts';
import { ApiError } from '../../src/errors.ts';
import { fakeModel } from '../fixtures/fake-model.ts';
import { digitPng, photoLike, testDigits } from '../fixtures/mnist-digits.ts';

const limits = { maxPixels: 25_000_000 };
const l1 = (a: Float32Array, b: ArrayLike<number>) => a.reduce((s, v, i) => s + Math.abs(v - b[i]!), 0);

test('normalising an MNIST digit is nearly the identity (it was made this way)', async () => {
  // tolerance: resampling and rounding move a little ink; a shifted digit would be off by ~100
  const ds = testDigits(30, 500);
  let total = 0;
  for (const d of ds) total += l1(await decodeDigit(await digitPng(d), limits), Array.from(d.pixels, (v) => v / 255));
  assert.ok(total / ds.length < 3, `mean L1 distance ${total / ds.length}`);
});

test('photo-like digits come out close to the MNIST original', async () => {
  const ds = testDigits(10, 700);
  let total = 0, mass = 0;
  for (const d of ds) {
    const ref = Array.from(d.pixels, (v) => v / 255);
    total += l1(await decodeDigit(await photoLike(d), limits), ref);
    mass += ref.reduce((s, v) => s + v, 0);
  }
  // the digit's own ink is the scale: far closer than a wrong or misplaced digit (~2× the mass)
  assert.ok(total / mass < 0.4, `L1 / ink mass ${total / mass}`);
});

test('polarity: light paper is inverted, dark paper is not', () => {
  const w = 20, h = 20;
  const light = new Uint8Array(w * h).fill(230);
  const dark = new Uint8Array(w * h).fill(10);
  for (let y = 5; y < 15; y++) { light[y * w + 10] = 20; dark[y * w + 10] = 240; }
  for (const img of [light, dark]) {
    const ink = inkImage({ data: img, width: w, height: h });
    assert.equal(ink[0], 0, 'paper is black');
    assert.equal(ink[7 * w + 10], 255, 'ink is bright');
  }
});

test('centre of mass lands in the middle; a blank image is a 422', async () => {
  const patch = new Uint8Array(4 * 2).fill(255);
  const out = centreByMass(patch, 4, 2);
  let s = 0, sx = 0, sy = 0;
  out.forEach((v, i) => { s += v; sx += v * (i % 28); sy += v * Math.floor(i / 28); });
  assert.ok(Math.abs(sx / s - 14) <= 0.5 && Math.abs(sy / s - 14) <= 0.5);
  const blank = await sharp({ create: { width: 40, height: 40, channels: 3, background: '#808080' } }).jpeg().toBuffer();
  await assert.rejects(decodeDigit(blank, limits), (e) => e instanceof ApiError && e.status === 422);
});

const vec = (k: number) => new Float32Array(784).fill(k);

test('micro-batcher: concurrent calls merge into one engine call, answers go back in order', async () => {
  const calls: number[] = [];
  const b = new MicroBatcher(async (input, n) => {
    calls.push(n);
    const out = new Float32Array(n * 10);
    for (let i = 0; i < n; i++) out[i * 10] = input[i * 784]!; // echo each instance's first pixel
    return out;
  }, { maxBatch: 64, maxWaitMs: 5 });
  const res = await Promise.all([b.predict([vec(1), vec(2)]), b.predict([vec(3)]), b.predict([vec(4), vec(5), vec(6)])]);
  assert.deepEqual(calls, [6]);
  assert.deepEqual(res.map((r) => r.map((o) => o[0])), [[1, 2], [3], [4, 5, 6]]);
});

test('micro-batcher: batches are capped at maxBatch; one call at a time, the rest waits and merges', async () => {
  const calls: number[] = [];
  let running = 0, maxRunning = 0;
  const b = new MicroBatcher(async (_input, n) => {
    calls.push(n);
    maxRunning = Math.max(maxRunning, ++running);
    await new Promise((r) => setTimeout(r, 10));
    running--;
    return new Float32Array(n * 10);
  }, { maxBatch: 4, maxWaitMs: 1 });
  const all = await Promise.all(Array.from({ length: 10 }, () => b.predict([vec(0)])));
  assert.equal(all.length, 10);
  assert.deepEqual(calls, [4, 4, 2]);
  assert.equal(maxRunning, 1);
});

test('micro-batcher: an engine error rejects every request of that batch; close waits for work in flight', async () => {
  const b = new MicroBatcher(async () => { throw new RangeError('engine says no'); }, { maxBatch: 8, maxWaitMs: 1 });
  const results = await Promise.allSettled([b.predict([vec(0)]), b.predict([vec(1)])]);
  assert.ok(results.every((r) => r.status === 'rejected' && /engine says no/.test(String(r.reason))));
  let finished = false;
  const slow = new MicroBatcher(async (_i, n) => { await new Promise((r) => setTimeout(r, 20)); finished = true; return new Float32Array(n * 10); }, { maxBatch: 8, maxWaitMs: 1 });
  const p = slow.predict([vec(0)]);
  await new Promise((r) => setTimeout(r, 5));
  await slow.close();
  assert.equal(finished, true);
  await p;
  await assert.rejects(slow.predict([vec(0)]), /unloaded/);
});

// one image through the 784→10 layer: its input and output floats
const ROW = (784 + 10) * 4;

test('model cache: one load for concurrent gets, LRU eviction by bytes, evict on delete', async () => {
  const loads: string[] = [];
  const model = fakeModel(); // one dense layer 784→10: ~31 KB of weights
  const cache = new ModelCache({
    maxBytes: 150_000, // room for two predictors (each counts 63 KB: weights and scratch)
    threads: 1,
    scratchBytes: 10 * ROW, // chunks of 10 images
    batching: { maxBatch: 8, maxWaitMs: 0 },
    load: async (id) => {
      loads.push(id);
      if (id === 'missing') throw new Error('no such model');
      await new Promise((r) => setTimeout(r, 5));
      return model;
    },
  });
  const [x, y] = await Promise.all([cache.get('a'), cache.get('a')]);
  assert.equal(x, y);
  assert.equal(x.bytes, 7850 * 4 + 10 * ROW, 'the weights and the scratch cap');
  assert.deepEqual(loads, ['a']);
  const out = await x.batcher.predict([vec(0.5)]);
  assert.equal(out[0]!.length, 10);
  await cache.get('b');
  await cache.get('a'); // a is now most recently used
  await cache.get('c'); // over budget: b goes
  assert.ok(cache.has('a') && cache.has('c') && !cache.has('b'));
  assert.ok(cache.totalBytes <= 150_000);
  const b = await cache.get('b');
  assert.deepEqual(loads, ['a', 'b', 'c', 'b']);
  const inFlight = b.batcher.predict([vec(0.25)]);
  cache.evict('b');
  assert.equal(cache.has('b'), false);
  assert.equal((await inFlight)[0]!.length, 10, 'a prediction in flight finishes');
  await new Promise((r) => setImmediate(r));
  // then its native network is gone (scratch freed, threads joined), not left to the GC
  await assert.rejects(b.predictor.predict(new Float32Array(784)), /disposed/);
  await assert.rejects(cache.get('missing'), /no such model/);
  await assert.rejects(cache.get('missing'), /no such model/); // a failed load is not cached
  await cache.close();
  assert.equal(cache.size, 0);
});

test('fast PNG decoder: same pixels as sharp for grey, grey+alpha, RGB, RGBA, all filters; declines the rest', async () => {
  const { decodeSmallPng } = await import('../../src/api/predict/png-fast.ts');
  const { decodeGreyWithSharp } = await import('../../src/api/predict/decode-image.ts');
  const d = testDigits(1, 42)[0]!;
  const grey = sharp(Buffer.from(d.pixels), { raw: { width: 28, height: 28, channels: 1 } });
  const rgba = Buffer.alloc(40 * 30 * 4);
  for (let i = 0; i < 40 * 30; i++) rgba.set([(i * 7) % 256, (i * 13) % 256, (i * 3) % 256, (i * 11) % 256], i * 4);
  const pngs = [
    await grey.clone().png().toBuffer(),
    await grey.clone().png({ compressionLevel: 0, adaptiveFiltering: true }).toBuffer(),
    await grey.clone().toColourspace('srgb').png().toBuffer(),
    await sharp(rgba, { raw: { width: 40, height: 30, channels: 4 } }).png().toBuffer(),
    await sharp(rgba, { raw: { width: 40, height: 30, channels: 4 } }).removeAlpha().png({ adaptiveFiltering: true }).toBuffer(),
    await sharp(rgba, { raw: { width: 40, height: 30, channels: 4 } }).greyscale().png().toBuffer(), // grey + alpha
    await photoLike(d, { format: 'png', scale: 2 }), // 256×196
  ];
  for (const [k, png] of pngs.entries()) {
    const fast = decodeSmallPng(png, 25_000_000);
    assert.ok(fast, `case ${k} takes the fast path`);
    const ref = await decodeGreyWithSharp(png, limits);
    assert.equal(fast.width, ref.width);
    assert.equal(fast.height, ref.height);
    let worst = 0;
    for (let i = 0; i < ref.data.length; i++) worst = Math.max(worst, Math.abs(fast.data[i]! - ref.data[i]!));
    assert.ok(worst <= 2, `case ${k}: max difference ${worst} grey levels`);
  }
  const png = pngs[0]!;
  assert.equal(decodeSmallPng(png.subarray(0, png.length - 20), 25_000_000), null, 'truncated');
  const corrupt = Buffer.from(png);
  corrupt[40] = corrupt[40]! ^ 0xff;
  assert.equal(decodeSmallPng(corrupt, 25_000_000), null, 'bad CRC');
  assert.equal(decodeSmallPng(png, 100), null, 'over the pixel limit');
  assert.equal(decodeSmallPng(await grey.clone().resize(300, 300).png().toBuffer(), 25_000_000), null, 'big: sharp shrinks it');
  assert.equal(decodeSmallPng(await grey.clone().png({ palette: true }).toBuffer(), 25_000_000), null, 'palette');
  assert.equal(decodeSmallPng(await grey.clone().png({ progressive: true }).toBuffer(), 25_000_000), null, 'interlaced');
  assert.equal(decodeSmallPng(await grey.clone().toColourspace('grey16').png().toBuffer(), 25_000_000), null, '16-bit');
});

test('a canvas exported without a background: black or white strokes on transparency read as the same digit, on both decoding paths', async () => {
  const d = testDigits(1, 7)[0]!;
  for (const side of [200, 280]) { // 200: the fast PNG path; 280: over its 256 px, sharp's
    const strokes = await sharp(Buffer.from(d.pixels), { raw: { width: 28, height: 28, channels: 1 } }).resize(side, side).extractChannel(0).raw().toBuffer();
    const raw = { raw: { width: side, height: side, channels: 1 as const } };
    const onTransparency = (level: number) =>
      sharp(Buffer.alloc(side * side * 3, level), { raw: { width: side, height: side, channels: 3 } }).joinChannel(strokes, raw).png().toBuffer();
    const opaque = await decodeDigit(await sharp(strokes, raw).negate().png().toBuffer(), limits);
    for (const level of [0, 255]) { // white strokes used to land on white paper: blank
      const x = await decodeDigit(await onTransparency(level), limits);
      let diff = 0;
      for (let i = 0; i < 784; i++) diff += Math.abs(x[i]! - opaque[i]!);
      assert.ok(diff / 784 < 0.02, `${side} px, strokes of level ${level}: mean difference ${(diff / 784).toFixed(4)} from the opaque drawing`);
    }
  }
});

test('fast pixels JSON: same Float32 values as JSON.parse; anything unusual goes to the normal parser (null)', () => {
  const rand = Array.from({ length: 784 }, (_, i) => (i % 7 === 0 ? 0 : i % 11 === 0 ? 1 : Math.round(Math.random() * 10 ** (i % 7)) / 10 ** (i % 7)));
  for (const body of [JSON.stringify({ pixels: rand }), ` { "pixels" : [ ${rand.join(' , ')} ] } \n`, JSON.stringify({ pixels: rand.map(() => 1) })]) {
    const fast = parsePixelsJson(Buffer.from(body));
    assert.ok(fast instanceof PixelsBodyFast, body.slice(0, 40));
    assert.deepEqual(fast.pixels, Float32Array.from((JSON.parse(body) as { pixels: number[] }).pixels));
  }
  const zeros = Array<string>(784).fill('0');
  const bad = (k: number, v: string) => `{"pixels":[${zeros.map((z, i) => (i === k ? v : z)).join(',')}]}`;
  for (const body of [
    '', '{}', '[]', `{"pixels":[${zeros.slice(1).join(',')}]}`, `{"pixels":[${zeros.join(',')},0]}`,
    `{"pixels":[${zeros.join(',')}],"x":1}`, `{"x":1,"pixels":[${zeros.join(',')}]}`, `{"pixels":[${zeros.join(',')}]}x`,
    bad(3, '-0'), bad(3, '1.5'), bad(3, '2'), bad(3, '1e-3'), bad(3, '0.5E1'), bad(3, '01'), bad(3, '1.'), bad(3, '.5'),
    bad(3, '0.1234567890123456'), bad(3, '"0.5"'), bad(3, 'null'), bad(783, '0,'),
  ]) assert.equal(parsePixelsJson(Buffer.from(body)), null, body.slice(0, 60));
});
