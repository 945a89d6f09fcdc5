// The worker containers' healthcheck (scripts/worker-health.ts) against a real worker process:
// unhealthy before it runs, healthy while it beats its heartbeat in Redis, unhealthy again once
// it stopped (the key goes with it), and unhealthy, quickly, when Redis cannot be reached.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import type { Config } from '../../src/config/env.ts';
import { cleanup, REDIS_URL, startWorker, stopWorker, tempDataDir, testConfig, uniquePrefix, waitForOutput } from '../queue/queue-helpers.ts';

function health(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/worker-health.ts'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, output })));
}

describe('worker healthcheck', () => {
  const prefix = uniquePrefix('health');
  let dataDir: string;
  let config: Config;
  let env: Record<string, string>;
  before(async () => {
    dataDir = await tempDataDir();
    config = testConfig(prefix, dataDir);
    env = { REDIS_URL, QUEUE_PREFIX: prefix, DATA_DIR: dataDir };
  });
  after(() => cleanup(prefix, dataDir));

  test('unhealthy without a worker, healthy while one runs, unhealthy after it stopped', async () => {
    const before = await health(env);
    assert.equal(before.code, 1, before.output);
    assert.match(before.output, new RegExp(`no worker heartbeat from ${hostname()}`));

    const worker = startWorker(config);
    try {
      await waitForOutput(worker, 'worker started');
      const during = await health(env);
      assert.equal(during.code, 0, during.output);
      const redis = new Redis(REDIS_URL);
      const [key] = await redis.keys(`${prefix}:workers:*`);
      assert.ok(key?.endsWith(`:${worker.child.pid}`), 'the key names the worker process');
      const ttl = await redis.ttl(key!);
      assert.ok(ttl > 0 && ttl <= 30, `expires unless renewed (ttl ${ttl})`);
      redis.disconnect();
    } finally {
      await stopWorker(worker);
    }
    const afterStop = await health(env);
    assert.equal(afterStop.code, 1, afterStop.output);
  });

  test('unhealthy when Redis cannot be reached', async () => {
    const res = await health({ ...env, REDIS_URL: 'redis://127.0.0.1:1' });
    assert.equal(res.code, 1);
    assert.match(res.output, /unhealthy: .*(ECONNREFUSED|connect)/);
  });
});
