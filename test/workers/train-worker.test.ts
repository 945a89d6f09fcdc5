// Real worker processes against a real Redis, the real engine and slices of MNIST:
// a job runs to completion (metrics per epoch, model stored, default alias), a spec that
// cannot train fails once, a running job is cancelled.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { resolveExperiment, type Experiment } from '../../src/engine/index.ts';
import { TrainingQueue, type JobEvent, type JobRecord } from '../../src/queue/index.ts';
import { AliasRepository } from '../../src/store/alias.repository.ts';
import { CheckpointRepository } from '../../src/store/checkpoint.repository.ts';
import { ModelRepository } from '../../src/store/model.repository.ts';
import {
  REDIS_URL, cleanup, smallJob, startWorker, stopWorker, tempDataDir, testConfig, uniquePrefix, waitFor, waitForOutput,
  type WorkerProcess,
} from '../queue/queue-helpers.ts';
import { OVER_SCRATCH_EXAMPLE } from '../fixtures/issue-example.ts';
import type { TrainedModel } from '../../src/engine/index.ts';

describe('train worker', () => {
  const prefix = uniquePrefix('worker');
  let dataDir: string;
  let queue: TrainingQueue;
  let worker: WorkerProcess;
  let redis: Redis;

  before(async () => {
    dataDir = await tempDataDir();
    const config = testConfig(prefix, dataDir);
    queue = new TrainingQueue({ config });
    redis = new Redis(REDIS_URL);
    worker = startWorker(config);
    await waitForOutput(worker, 'worker started');
  });
  after(async () => {
    await stopWorker(worker);
    await queue.close();
    redis.disconnect();
    await cleanup(prefix, dataDir);
  });

  const finished = (id: string, timeoutMs = 60_000) =>
    waitFor(async () => {
      const r = await queue.get(id);
      return r && ['completed', 'failed', 'cancelled'].includes(r.status) ? r : null;
    }, timeoutMs, `job ${id} to finish\n${worker.output()}`);

  test('a small job trains to completion: metrics per epoch, stored model, default alias, events', async () => {
    const job = await queue.submit(resolveExperiment(smallJob({ epochs: 2, trainSize: 3000 })), { name: 'small' });
    const events: JobEvent[] = [];
    const following = (async () => {
      for await (const e of queue.events(job.id, new AbortController().signal)) events.push(e);
    })();
    const done = await finished(job.id);
    await following;

    assert.equal(done.status, 'completed', done.error);
    assert.deepEqual(done.metrics.map((m) => m.epoch), [1, 2]);
    for (const m of done.metrics) {
      assert.ok(m.trainingAccuracy > 0.2 && m.trainingAccuracy <= 1, `training accuracy ${m.trainingAccuracy}`);
      assert.ok(m.validationAccuracy !== null && m.validationAccuracy > 0.3, `validation accuracy ${m.validationAccuracy}`);
    }
    assert.deepEqual(done.progress, { epoch: 2, epochs: 2 });
    assert.equal(done.attempts, 1);
    assert.ok(done.startedAt && done.finishedAt && done.createdAt <= done.startedAt && done.startedAt <= done.finishedAt);
    assert.ok(done.modelId);

    const models = new ModelRepository({ dataDir, redis, prefix });
    const model = await models.get(done.modelId);
    assert.ok(model, 'the model is in the store');
    assert.equal(model.jobId, job.id);
    assert.ok(model.testAccuracy > 0.3, `test accuracy ${model.testAccuracy}`);
    assert.equal(await new AliasRepository({ redis, prefix }).resolve('default'), done.modelId);
    assert.equal(await new CheckpointRepository({ dataDir }).load(job.id), null, 'checkpoint removed when done');

    const epochs = events.filter((e) => e.type === 'epoch').map((e) => (e as { metrics: { epoch: number } }).metrics.epoch);
    assert.deepEqual(epochs, [1, 2]);
    assert.equal(events.at(-1)?.type, 'completed');
  });

  test('a second model does not take over the default alias', async () => {
    const aliases = new AliasRepository({ redis, prefix });
    const before = await aliases.resolve('default');
    const job = await queue.submit(resolveExperiment(smallJob({ epochs: 1, trainSize: 2000 })), {});
    const done = await finished(job.id);
    assert.equal(done.status, 'completed', done.error);
    assert.notEqual(done.modelId, before);
    assert.equal(await aliases.resolve('default'), before);
  });

  test('a spec that cannot train fails once, without retries, with a clear error', async () => {
    const bad = { ...resolveExperiment(smallJob()) } as Experiment;
    bad.network = { ...bad.network, layers: [{ type: 'dense', units: -5, activation: 'sigmoid' }] } as Experiment['network'];
    const job = await queue.submit(bad, {});
    const done = await finished(job.id);
    assert.equal(done.status, 'failed');
    assert.match(done.error ?? '', /network\.layers\.0\.units/);
    await new Promise((r) => setTimeout(r, 1500)); // a retry would have started by now
    const later = (await queue.get(job.id))!;
    assert.equal(later.status, 'failed');
    assert.equal(later.attempts, 1);
  });

  test('a job over a budget (queued by another producer) fails once, naming the budget', async () => {
    // straight onto the queue, past the API's own check
    const job = await queue.submit(resolveExperiment(OVER_SCRATCH_EXAMPLE), {});
    const done = await finished(job.id);
    assert.equal(done.status, 'failed');
    assert.match(done.error ?? '', /over budget: training scratch per thread: 561,478,016 bytes .* above MAX_JOB_SCRATCH_BYTES/);
    await new Promise((r) => setTimeout(r, 1500)); // a retry would have started by now
    assert.equal((await queue.get(job.id))!.attempts, 1);
  });

  test('training.threads above the worker\'s ENGINE_THREADS (1) is lowered, logged and recorded', async () => {
    const spec = smallJob({ epochs: 1, trainSize: 1000, validationSize: 100 });
    const job = await queue.submit(resolveExperiment({ ...spec, training: { ...spec.training, threads: 8 } }), {});
    const done = await finished(job.id);
    assert.equal(done.status, 'completed', done.error);
    assert.ok(worker.output().split('\n').some((l) => /training\.threads lowered to this worker's ENGINE_THREADS/.test(l) && /"asked":8,"threads":1/.test(l)), worker.output());
    const model = (await new ModelRepository({ dataDir, redis, prefix }).load(done.modelId!)) as TrainedModel;
    assert.equal(model.experiment.training.threads, 1);
  });

  test('a running job is cancelled at a mini-batch boundary', async () => {
    const job = await queue.submit(resolveExperiment(smallJob({ epochs: 30, trainSize: 20000, validationSize: 500 })), {});
    await waitFor(async () => (await queue.get(job.id))?.status === 'running', 30_000, 'job to start');
    const asked: JobRecord = await queue.cancel(job.id);
    assert.ok(asked.status === 'cancelled' || asked.cancelRequested, 'cancel accepted');
    const done = await finished(job.id, 30_000);
    assert.equal(done.status, 'cancelled');
    assert.ok(done.metrics.length < 30, 'it stopped early');
    assert.equal(done.modelId, undefined);
    assert.equal(await new CheckpointRepository({ dataDir }).load(job.id), null, 'checkpoint removed');
  });
});
