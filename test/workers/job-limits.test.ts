// Limits a worker puts on one job: JOB_TIMEOUT_S (training time, summed over attempts) ends a job
// as failed (`timeout: ...`) at a mini-batch boundary; a job whose worker is killed under it
// JOB_MAX_WORKER_DEATHS times fails (`worker_died: ...`) instead of killing every worker in turn,
// and the jobs behind it still train.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveExperiment } from '../../src/engine/index.ts';
import { TrainingQueue, type JobRecord } from '../../src/queue/index.ts';
import { CheckpointRepository } from '../../src/store/checkpoint.repository.ts';
import type { Config } from '../../src/config/env.ts';
import {
  cleanup, smallJob, startWorker, stopWorker, tempDataDir, testConfig, uniquePrefix, waitFor, waitForOutput,
  type WorkerProcess,
} from '../queue/queue-helpers.ts';

// Many epochs on a big slice: it runs far longer than the test waits for anything.
const longJob = () => resolveExperiment(smallJob({ epochs: 30, trainSize: 50000, validationSize: 1000 }));

describe('job limits', () => {
  const prefix = uniquePrefix('limits');
  let dataDir: string;
  let config: Config;
  let queue: TrainingQueue;
  let checkpoints: CheckpointRepository;
  const workers: WorkerProcess[] = [];

  before(async () => {
    dataDir = await tempDataDir();
    config = testConfig(prefix, dataDir);
    queue = new TrainingQueue({ config });
    checkpoints = new CheckpointRepository({ dataDir });
  });
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
    await waitForOutput(w, 'worker started', 60_000);
    return w;
  }
  const output = () => workers.map((w, i) => `--- worker ${i}\n${w.output()}`).join('\n');
  const record = async (id: string) => (await queue.get(id))!;
  const ended = (id: string) =>
    waitFor(async () => {
      const r = await queue.get(id);
      return r && ['completed', 'failed', 'cancelled'].includes(r.status) ? r : null;
    }, 240_000, `job ${id} to end\n${output()}`);

  test('a job past JOB_TIMEOUT_S stops at a mini-batch boundary and fails with reason timeout', async () => {
    const worker = await launch({ JOB_TIMEOUT_S: '2' });
    const job = await queue.submit(longJob(), {});
    const done = await ended(job.id);
    assert.equal(done.status, 'failed');
    assert.match(done.error ?? '', /^timeout: the job trained longer than JOB_TIMEOUT_S \(2 s\)/);
    assert.ok(done.metrics.length < 30, 'stopped before its last epoch');
    assert.match(worker.output(), /job time limit reached; stopping it/);
    // the worker deletes it right after writing the record's end (its end hook): this may see the record first
    await waitFor(async () => (await checkpoints.load(job.id)) === null, 30_000, 'no checkpoint left to resume');
    assert.equal(worker.child.exitCode, null, 'the worker goes on');
  });

  test('a job whose worker is SIGKILLed twice fails after 2 deaths; the job behind it still trains', async () => {
    const killer = await queue.submit(longJob(), {});
    const behind = await queue.submit(resolveExperiment(smallJob({ epochs: 1, trainSize: 1000, validationSize: 200 })), {});
    const runningWith = (deaths: number) => async () => {
      const r = await record(killer.id);
      return r.status === 'running' && (r.workerDeaths ?? 0) === deaths && r.attempts === deaths + 1 ? r : null;
    };
    for (let death = 0; death < 2; death++) {
      const w = await launch();
      await waitFor(runningWith(death), 120_000, `the job running after ${death} deaths\n${output()}`);
      w.child.kill('SIGKILL'); // as the kernel's OOM killer would
      await w.exited;
    }
    const last = await launch();
    const failed: JobRecord = await ended(killer.id);
    assert.equal(failed.status, 'failed');
    assert.equal(failed.workerDeaths, 2);
    assert.match(failed.error ?? '', /^worker_died: the worker died while training this job \(possibly out of memory\): 2 times/);
    assert.match(failed.error ?? '', /JOB_MAX_WORKER_DEATHS=2/);
    await waitFor(async () => (await checkpoints.load(killer.id)) === null, 30_000, 'the killer job\'s checkpoint removed');
    const other = await ended(behind.id);
    assert.equal(other.status, 'completed', `${other.error}\n${output()}`);
    assert.equal(last.child.exitCode, null, 'the worker that failed it is still running');
  });
});
