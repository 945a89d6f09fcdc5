// Engine backend routing with real worker processes: a job naming `backend: "tfjs"` goes to the
// train-tfjs queue and is left alone by a worker that does not serve tfjs (WORKER_BACKENDS=native)
// until one that does starts; a job naming none runs on the worker's ENGINE_BACKEND. The record
// and the stored model say which backend trained it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveExperiment } from '../../src/engine/index.ts';
import { TrainingQueue } from '../../src/queue/index.ts';
import { ModelRepository } from '../../src/store/model.repository.ts';
import { Redis } from 'ioredis';
import {
  REDIS_URL, cleanup, smallJob, startWorker, stopWorker, tempDataDir, testConfig, uniquePrefix, waitFor, waitForOutput,
  type WorkerProcess,
} from '../queue/queue-helpers.ts';
import type { Config } from '../../src/config/env.ts';

const prefix = uniquePrefix('routing');
let dataDir: string;
let config: Config;
let queue: TrainingQueue;
const workers: WorkerProcess[] = [];

before(async () => {
  dataDir = await tempDataDir();
  config = testConfig(prefix, dataDir);
  queue = new TrainingQueue({ config });
});
after(async () => {
  for (const w of workers) await stopWorker(w);
  await queue.close();
  await cleanup(prefix, dataDir);
});

const finished = (id: string) => waitFor(async () => {
  const r = await queue.get(id);
  return r && ['completed', 'failed', 'cancelled'].includes(r.status) ? r : null;
}, 90_000, `job ${id} to finish\n${workers.map((w) => w.output()).join('\n')}`);

test('a tfjs job waits for a worker serving tfjs; jobs naming none run on ENGINE_BACKEND', async () => {
  const native = startWorker(config, { WORKER_BACKENDS: 'native', ENGINE_BACKEND: 'native' });
  workers.push(native);
  await waitForOutput(native, 'worker started');
  assert.match(native.output(), /"queues":\["training","train-native"\]/);

  const tfjsJob = await queue.submit(resolveExperiment({ ...smallJob({ epochs: 1, trainSize: 1000, validationSize: 100 }), backend: 'tfjs' }));
  const anyJob = await queue.submit(resolveExperiment(smallJob({ epochs: 1, trainSize: 1000, validationSize: 100 })));
  const anyDone = await finished(anyJob.id);
  assert.equal(anyDone.status, 'completed', anyDone.error);
  assert.equal(anyDone.backend, 'native');
  // the native-only worker has been idle for a while: the tfjs job is still waiting
  assert.equal((await queue.get(tfjsJob.id))!.status, 'queued');

  const tf = startWorker(config, { WORKER_BACKENDS: 'tfjs', ENGINE_BACKEND: 'tfjs' });
  workers.push(tf);
  const done = await finished(tfjsJob.id);
  assert.equal(done.status, 'completed', done.error);
  assert.equal(done.backend, 'tfjs');
  assert.equal(done.metrics.length, 1);
  const redis = new Redis(REDIS_URL);
  const models = new ModelRepository({ dataDir, redis, prefix });
  assert.equal((await models.get(done.modelId!))!.backend, 'tfjs');
  assert.equal((await models.get(anyDone.modelId!))!.backend, 'native');
  redis.disconnect();
  await stopWorker(native);
  await stopWorker(tf);
});

test('WORKER_CONCURRENCY holds across the queues a worker consumes (one job at a time)', async () => {
  const w = startWorker(config, { WORKER_BACKENDS: 'native,tfjs', ENGINE_BACKEND: 'native', WORKER_CONCURRENCY: '1' });
  workers.push(w);
  await waitForOutput(w, 'worker started');
  const job = (backend?: 'native' | 'tfjs') =>
    queue.submit(resolveExperiment({ ...smallJob({ epochs: 1, trainSize: 1000, validationSize: 100 }), ...(backend ? { backend } : {}) }));
  const ids = [(await job()).id, (await job('native')).id, (await job('tfjs')).id];
  const done = await Promise.all(ids.map(finished));
  for (const d of done) assert.equal(d.status, 'completed', d.error);
  // no two jobs ran at the same time on this worker (the workers of the first test are stopped)
  const spans = done.map((d) => [Date.parse(d.startedAt!), Date.parse(d.finishedAt!)] as const).sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++) assert.ok(spans[i]![0] >= spans[i - 1]![1] - 5, `jobs overlapped: ${JSON.stringify(spans)}`);
});
