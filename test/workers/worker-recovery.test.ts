// Worker failures: a SIGKILLed worker's job is picked up by another worker and resumes from
// its last checkpoint; a SIGTERMed worker checkpoints mid-epoch and hands the job back.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveExperiment } from '../../src/engine/index.ts';
import { createTrainingQueue } from '../../src/app.ts';
import type { JobRecord, TrainingQueue } from '../../src/queue/index.ts';
import { CheckpointRepository } from '../../src/store/checkpoint.repository.ts';
import {
  cleanup, smallJob, startWorker, stopWorker, tempDataDir, testConfig, uniquePrefix, waitFor, waitForOutput,
  type WorkerProcess,
} from '../queue/queue-helpers.ts';
import type { Config } from '../../src/config/env.ts';

// Big enough that an epoch takes a while on one thread, small enough for a test.
const EPOCHS = 6;
const recoveryJob = () => resolveExperiment(smallJob({ epochs: EPOCHS, trainSize: 50000, validationSize: 1000 }));

describe('worker recovery', () => {
  const prefix = uniquePrefix('recovery');
  let dataDir: string;
  let config: Config;
  let queue: TrainingQueue;
  let checkpoints: CheckpointRepository;
  const workers: WorkerProcess[] = [];

  before(async () => {
    dataDir = await tempDataDir();
    config = testConfig(prefix, dataDir);
    queue = createTrainingQueue(config); // the API's, hooks included
    checkpoints = new CheckpointRepository({ dataDir });
  });
  // Each test starts from no worker at all, so the job goes to the worker the test means.
  afterEach(async () => {
    for (const w of workers.splice(0)) await stopWorker(w, 'SIGKILL');
  });
  after(async () => {
    await queue.close();
    await cleanup(prefix, dataDir);
  });

  async function launch(env: Record<string, string> = {}): Promise<WorkerProcess> {
    const w = startWorker(config, env);
    workers.push(w);
    await waitForOutput(w, 'worker started');
    return w;
  }

  const output = () => workers.map((w, i) => `--- worker ${i}\n${w.output()}`).join('\n');
  const finished = (id: string) =>
    waitFor(async () => {
      const r = await queue.get(id);
      return r && ['completed', 'failed', 'cancelled'].includes(r.status) ? r : null;
    }, 120_000, `job ${id} to finish\n${output()}`);

  function assertEpochsOnce(done: JobRecord) {
    assert.deepEqual(done.metrics.map((m) => m.epoch), Array.from({ length: EPOCHS }, (_, i) => i + 1), 'each epoch once');
  }

  test('SIGKILL mid-job: another worker resumes from the last checkpoint and completes', async () => {
    const first = await launch();
    const job = await queue.submit(recoveryJob(), {});
    // After the first epoch's checkpoint is on disk, before the job is done.
    await waitFor(async () => (await queue.get(job.id))!.metrics.length >= 1 && (await checkpoints.load(job.id)) !== null, 60_000, `first checkpoint\n${output()}`);
    const atKill = (await queue.get(job.id))!;
    first.child.kill('SIGKILL');
    await first.exited;
    assert.equal(atKill.status, 'running', 'killed while running');
    assert.ok(atKill.metrics.length < EPOCHS, 'killed before the end');

    await launch();
    const done = await finished(job.id);
    assert.equal(done.status, 'completed', done.error);
    assert.ok((done.resumedFromEpoch ?? 0) >= 1, `resumed from epoch ${done.resumedFromEpoch}, not from the start`);
    assert.ok(done.attempts >= 2, `attempts ${done.attempts}`);
    assertEpochsOnce(done);
    assert.ok(done.modelId);
  });

  test('SIGTERM mid-epoch: the worker checkpoints, exits, and another worker finishes the job', async () => {
    const first = await launch();
    const job = await queue.submit(recoveryJob(), {});
    await waitFor(async () => (await queue.get(job.id))!.metrics.length >= 1, 60_000, `first epoch\n${output()}`);
    await new Promise((r) => setTimeout(r, 200)); // into the second epoch
    first.child.kill('SIGTERM');
    const code = await first.exited;
    assert.equal(code, 0, `graceful exit\n${first.output()}`);
    assert.match(first.output(), /job interrupted; checkpoint saved/);
    const handedBack = (await queue.get(job.id))!;
    assert.equal(handedBack.status, 'queued');
    assert.ok(await checkpoints.load(job.id), 'checkpoint saved');

    await launch();
    const done = await finished(job.id);
    assert.equal(done.status, 'completed', done.error);
    assert.ok((done.resumedFromEpoch ?? 0) >= 1, `resumed from epoch ${done.resumedFromEpoch}`);
    assertEpochsOnce(done);
  });

  test('a job handed back by a stopped worker can be cancelled while queued; its checkpoint goes', async () => {
    // Nothing here waits on a lapsed lock: a long one, so that under load the job cannot be
    // taken for stalled (and moved, or failed on hand-back) while the worker is still training it.
    const first = await launch({ JOB_LOCK_MS: '30000', JOB_STALLED_INTERVAL_MS: '30000' });
    const job = await queue.submit(recoveryJob(), {});
    await waitFor(async () => (await queue.get(job.id))!.metrics.length >= 1, 60_000, `first epoch\n${output()}`);
    first.child.kill('SIGTERM');
    assert.equal(await first.exited, 0);
    assert.ok(await checkpoints.load(job.id), 'checkpoint saved');
    const cancelled = await queue.cancel(job.id);
    assert.equal(cancelled.status, 'cancelled');
    assert.equal(await checkpoints.load(job.id), null, 'checkpoint removed');
  });
});
