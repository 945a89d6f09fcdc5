import { test } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import { ConfigError, loadConfig } from '../../src/config/env.ts';

test('defaults for every variable', () => {
  const c = loadConfig({});
  assert.equal(c.PORT, 3000);
  assert.equal(c.HOST, '0.0.0.0');
  assert.equal(c.REDIS_URL, 'redis://127.0.0.1:6379');
  assert.equal(c.QUEUE_PREFIX, 'nndl');
  assert.equal(c.DATA_DIR, './data');
  assert.equal(c.ENGINE_THREADS, os.availableParallelism());
  assert.equal(c.JOB_ATTEMPTS, 5);
  assert.equal(c.BODY_LIMIT_BYTES, 5 * 1024 * 1024);
  assert.equal(c.MAX_IMAGE_PIXELS, 25_000_000);
  assert.equal(c.MAX_INSTANCES, 256);
  assert.equal(c.PREDICT_MAX_BATCH, 64);
  assert.equal(c.PREDICT_MAX_WAIT_MS, 2);
  assert.equal(c.MODEL_CACHE_BYTES, 268_435_456);
  assert.equal(c.PREDICT_SCRATCH_BYTES, 64 * 1024 * 1024);
  assert.equal(c.MAX_JOB_PARAMS, 10_000_000);
  assert.equal(c.MAX_JOB_MACS_PER_IMAGE, 20_000_000);
  assert.equal(c.MAX_JOB_SCRATCH_BYTES, 512 * 1024 * 1024);
  assert.equal(c.MAX_JOB_IMAGE_STEPS, 100_000_000);
  assert.equal(c.MNIST_DIR, undefined);
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
