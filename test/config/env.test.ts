import { test } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import { ConfigError, loadConfig } from '../../src/config/env.ts';

test('defaults for every variable', () => {
  const c = loadConfig({});
  assert.equal(c.PORT, 3000);
  assert.equal(c.HOST, '127.0.0.1'); // loopback: without keys the API is open only to this machine
  assert.equal(c.REDIS_URL, 'redis://127.0.0.1:6379');
  assert.equal(c.QUEUE_PREFIX, 'nndl');
  assert.equal(c.DATA_DIR, './data');
  assert.equal(c.ENGINE_THREADS, os.availableParallelism());
  assert.equal(c.JOB_ATTEMPTS, 5);
  assert.equal(c.BODY_LIMIT_BYTES, 5 * 1024 * 1024);
  assert.equal(c.MAX_IMAGE_PIXELS, 25_000_000);
  assert.equal(c.MAX_REQUEST_PIXELS, 100_000_000);
  assert.equal(c.MAX_INSTANCES, 256);
  assert.equal(c.PREDICT_MAX_BATCH, 64);
  assert.equal(c.PREDICT_MAX_WAIT_MS, 2);
  assert.equal(c.MODEL_CACHE_BYTES, 268_435_456);
  assert.equal(c.PREDICT_SCRATCH_BYTES, 64 * 1024 * 1024);
  assert.equal(c.MAX_JOB_PARAMS, 10_000_000);
  assert.equal(c.MAX_JOB_MACS_PER_IMAGE, 25_000_000);
  assert.equal(c.MAX_JOB_SCRATCH_BYTES, 512 * 1024 * 1024);
  assert.equal(c.MAX_JOB_IMAGE_STEPS, 100_000_000);
  assert.equal(c.MNIST_DIR, undefined);
  assert.equal(c.AUTH, 'keys');
  assert.equal(c.API_KEYS, undefined);
  assert.equal(c.API_KEYS_FILE, undefined);
  assert.deepEqual(c.CORS_ORIGINS, []);
  assert.equal(c.MAX_JOBS_PER_KEY, 20);
});

test('API_KEYS: a bad entry stops the boot, named, without echoing any secret', () => {
  const secret = 'short-secret';
  try {
    loadConfig({ API_KEYS: `ok:predict:${'s'.repeat(32)},ci:train+fly:${secret},:admin:${'x'.repeat(40)}` });
    assert.fail('should throw');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    assert.ok(err.issues.every((i) => i.path === 'API_KEYS'));
    assert.match(err.message, /entry 2 \(ci\): unknown scope "fly"/);
    assert.match(err.message, /entry 2 \(ci\): the secret has 12 characters; at least 32/);
    assert.match(err.message, /entry 3: name ""/);
    assert.ok(!err.message.includes(secret) && !err.message.includes('x'.repeat(40)), 'no secret in the message');
  }
});

test('CORS_ORIGINS: a comma list of origins; anything else is refused', () => {
  assert.deepEqual(loadConfig({ CORS_ORIGINS: 'https://a.example, http://localhost:5173' }).CORS_ORIGINS, ['https://a.example', 'http://localhost:5173']);
  for (const bad of ['*', 'https://a.example/path', 'a.example']) {
    assert.throws(() => loadConfig({ CORS_ORIGINS: bad }), /CORS_ORIGINS/, bad);
  }
});

test('values are coerced from strings; empty strings mean unset', () => {
  const c = loadConfig({ PORT: '8080', PREDICT_MAX_WAIT_MS: '0', LOG_LEVEL: 'silent', DATA_DIR: '', MNIST_DIR: '/m' });
  assert.equal(c.PORT, 8080);
  assert.equal(c.PREDICT_MAX_WAIT_MS, 0);
  assert.equal(c.DATA_DIR, './data');
  assert.equal(c.MNIST_DIR, '/m');
});

test('invalid values are all reported, by name', () => {
  try {
    loadConfig({ PORT: '70000', REDIS_URL: 'http://x', LOG_LEVEL: 'loud', PREDICT_MAX_BATCH: '0', QUEUE_PREFIX: 'a b', MNIST_MIRROR: 'not a url' });
    assert.fail('should throw');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    const paths = err.issues.map((i) => i.path).sort();
    assert.deepEqual(paths, ['LOG_LEVEL', 'MNIST_MIRROR', 'PORT', 'PREDICT_MAX_BATCH', 'QUEUE_PREFIX', 'REDIS_URL']);
    assert.match(err.message, /invalid configuration/);
  }
});

test('MAX_REQUEST_PIXELS below MAX_IMAGE_PIXELS stops the boot (one valid image must always pass)', () => {
  assert.throws(() => loadConfig({ MAX_IMAGE_PIXELS: '2000000', MAX_REQUEST_PIXELS: '1000000' }), (e: unknown) =>
    e instanceof ConfigError && /MAX_REQUEST_PIXELS/.test(e.message));
  assert.equal(loadConfig({ MAX_IMAGE_PIXELS: '2000000', MAX_REQUEST_PIXELS: '2000000' }).MAX_REQUEST_PIXELS, 2_000_000);
});
