// Each caller's image decoding per minute (RATE_LIMIT_PREDICT_IMAGE_MS_PER_MIN): every image above
// 64×64 pixels is charged its estimated cost, from its header, before it is decoded; the image that
// would pass the budget is refused with 429 + Retry-After and charges nothing. Small images are
// never charged; each API key has its own budget; instances of one request are charged one by one.
// Real app, real Redis, real HTTP, real PNGs.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import sharp from 'sharp';
import { estimatedImageMicros, WORK_SIDE } from '../../src/api/predict/image-cost.ts';
import type { Redis } from 'ioredis';
import { FREE_IMAGE_PIXELS, ImageCpuBudget } from '../../src/api/predict/image-cpu-budget.ts';
import { loadConfig } from '../../src/config/env.ts';
import { startTestApp, type TestApp } from '../fixtures/test-app.ts';
import { smallModel } from '../fixtures/trained-model.ts';
import { keysEnv, KEYS } from '../fixtures/api-keys.ts';

// A ring drawn with a pen on white paper, `side` pixels square.
async function ringPng(side: number): Promise<Buffer> {
  const px = Buffer.alloc(side * side, 255);
  const c = side / 2, r = side / 4, w = Math.max(1, side / 20);
  for (let y = 0; y < side; y++) for (let x = 0; x < side; x++) if (Math.abs(Math.hypot(x - c, y - c) - r) < w) px[y * side + x] = 0;
  return sharp(px, { raw: { width: side, height: side, channels: 1 } }).png().toBuffer();
}

const LIMIT_MS = 40;
const perImageMs = estimatedImageMicros(256 * 256) / 1000; // ~7.2 ms: five fit in 40 ms, not six
let t: TestApp;
let big: Buffer;
let small: Buffer;

before(async () => {
  t = await startTestApp('image-budget', keysEnv({ RATE_LIMIT_PREDICT_IMAGE_MS_PER_MIN: String(LIMIT_MS), MAX_IMAGE_PIXELS: '1000000' }));
  await t.aliases.set('default', (await t.saveModel(await smallModel())).id);
  big = await ringPng(256);
  small = await ringPng(64);
});
after(() => t.close());

const post = (key: string, body: Buffer) =>
  request(t.server).post('/v1/predict').set('authorization', `Bearer ${key}`).set('content-type', 'image/png').send(body);

function assertImageLimited(res: request.Response) {
  assert.equal(res.status, 429, res.text);
  assert.equal(res.body.error.code, 'rate_limited');
  assert.match(res.body.error.message, /image budget reached/);
  const d = res.body.error.details;
  assert.equal(d.budget, 'predict-image-ms');
  assert.equal(d.limit, LIMIT_MS);
  const retryAfter = Number(res.headers['retry-after']);
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After ${res.headers['retry-after']}`);
  assert.equal(d.retryAfterSeconds, retryAfter);
}

test('the estimate: small images are free, the cost grows with the pixels, the working picture is bounded', () => {
  assert.equal(FREE_IMAGE_PIXELS, 64 * 64);
  assert.ok(estimatedImageMicros(5000 * 5000) > 150_000, 'a 5000² image is over 0.15 s');
  assert.ok(estimatedImageMicros(256 * 256) > 5_000 && estimatedImageMicros(256 * 256) < 10_000);
  // past the working size only the decoding grows
  const w = WORK_SIDE * WORK_SIDE;
  assert.equal(estimatedImageMicros(4 * w) - estimatedImageMicros(2 * w), Math.ceil(4 * w * 0.01) - Math.ceil(2 * w * 0.01));
});

test('a caller spends its minute image by image; the image past it is refused, charged nothing, and small images still pass', async () => {
  const fits = Math.floor(LIMIT_MS / perImageMs);
  assert.equal(fits, 5);
  for (let i = 0; i < fits; i++) assert.equal((await post(KEYS.predict, big)).status, 200);
  const refused = await post(KEYS.predict, big);
  assertImageLimited(refused);
  assert.equal(refused.body.error.details.spentMs, Math.ceil((fits * estimatedImageMicros(256 * 256)) / 1000));
  // refusing charged nothing: the counter is what the five images cost
  const keys = await t.redis.keys(`${t.config.QUEUE_PREFIX}:imagecpu:*`);
  assert.equal(keys.length, 1);
  assert.equal(Number(await t.redis.get(keys[0]!)), fits * estimatedImageMicros(256 * 256));
  const ttl = await t.redis.pttl(keys[0]!);
  assert.ok(ttl > 0 && ttl <= 60_000, `window ttl ${ttl}`);
  // 64×64 and MNIST-sized images are not charged and pass
  for (let i = 0; i < 3; i++) assert.equal((await post(KEYS.predict, small)).status, 200);
  // another key has its own minute
  assert.equal((await post(KEYS.admin, big)).status, 200);
});

test('instances: each image is charged before it is decoded; the one past the budget refuses the request with Retry-After', async () => {
  // the admin key has spent one image above: four more fit
  const b64 = big.toString('base64');
  const res = await request(t.server)
    .post('/v1/predict')
    .set('authorization', `Bearer ${KEYS.admin}`)
    .send({ instances: Array.from({ length: 8 }, () => ({ b64 })) });
  assertImageLimited(res);
  assert.match(res.body.error.message, /^instances\.[4-7]: image budget reached/);
  const spent = Number(await t.redis.get(`${t.config.QUEUE_PREFIX}:imagecpu:key:root`));
  assert.equal(spent, 5 * estimatedImageMicros(256 * 256));
});

test('config: a budget below one image of MAX_IMAGE_PIXELS stops the boot, named; 0 turns it off', () => {
  assert.throws(
    () => loadConfig({ RATE_LIMIT_PREDICT_IMAGE_MS_PER_MIN: '100', MAX_IMAGE_PIXELS: '25000000' }),
    /RATE_LIMIT_PREDICT_IMAGE_MS_PER_MIN: must be 0 or at least 257/,
  );
  assert.equal(loadConfig({ RATE_LIMIT_PREDICT_IMAGE_MS_PER_MIN: '0' }).RATE_LIMIT_PREDICT_IMAGE_MS_PER_MIN, 0);
  assert.equal(loadConfig({}).RATE_LIMIT_PREDICT_IMAGE_MS_PER_MIN, 30_000);
});

test('no Redis call for a free image; Redis not answering lets an image through (as the request-rate limiter does)', async () => {
  let calls = 0;
  const down = { eval: async () => { calls++; throw new Error('connect ECONNREFUSED'); } } as unknown as Redis;
  const budget = new ImageCpuBudget(down, 'p', LIMIT_MS);
  await budget.charge('ip:10.0.0.1', 28 * 28);
  await budget.charge('ip:10.0.0.1', FREE_IMAGE_PIXELS);
  assert.equal(calls, 0);
  await budget.charge('ip:10.0.0.1', 256 * 256);
  assert.equal(calls, 1);
  assert.equal(new ImageCpuBudget(down, 'p', 0).enabled, false);
});
