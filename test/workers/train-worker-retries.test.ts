// A job that fails for a reason that may pass (here: MNIST cannot be found or downloaded) is
// retried up to JOB_ATTEMPTS times, then fails with the reason; the worker itself keeps running.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveExperiment } from '../../src/engine/index.ts';
import { TrainingQueue } from '../../src/queue/index.ts';
import { cleanup, smallJob, startWorker, stopWorker, tempDataDir, testConfig, uniquePrefix, waitFor, waitForOutput, type WorkerProcess } from '../queue/queue-helpers.ts';

describe('train worker retries', () => {
  const prefix = uniquePrefix('retries');
  let dataDir: string;
  let queue: TrainingQueue;
  let worker: WorkerProcess;

  before(async () => {
    dataDir = await tempDataDir();
    const config = testConfig(prefix, dataDir, { JOB_ATTEMPTS: '2' });
    queue = new TrainingQueue({ config });
    worker = startWorker(config, { MNIST_DIR: `${dataDir}/no-mnist-here`, MNIST_MIRROR: 'http://127.0.0.1:9/mnist/' });
    await waitForOutput(worker, 'worker started');
  });
  after(async () => {
    await stopWorker(worker);
    await queue.close();
    await cleanup(prefix, dataDir);
  });

  test('retried JOB_ATTEMPTS times, then failed with the reason', async () => {
    const job = await queue.submit(resolveExperiment(smallJob()), {});
    const done = await waitFor(async () => {
      const r = await queue.get(job.id);
      return r?.status === 'failed' ? r : null;
    }, 30_000, `job to fail\n${worker.output()}`);
    assert.equal(done.attempts, 2);
    assert.match(done.error ?? '', /mnist/i);
    assert.match(worker.output(), /job attempt failed; will retry/);
    assert.equal(worker.child.exitCode, null, 'the worker is still running');
  });
});
