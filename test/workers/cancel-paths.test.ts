// Every way a cancel reaches a job, with real API instances and real worker processes: through a
// second API instance (not the one that took the job); the durable flag alone, its pub/sub message
// lost — the worker's poll stops a running job, and a worker that picks the job up sees it before
// training; and a worker that dies after the cancel was asked: the job ends cancelled, not resumed.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import request from 'supertest';
import { buildApp } from '../../src/app.ts';
import type { Config } from '../../src/config/env.ts';
import { queueKeys } from '../../src/queue/catalogue.ts';
import { CheckpointRepository } from '../../src/store/checkpoint.repository.ts';
import {
  cleanup, REDIS_URL, smallJob, startWorker, stopWorker, tempDataDir, testConfig, uniquePrefix, waitFor, waitForOutput,
  type WorkerProcess,
} from '../queue/queue-helpers.ts';

/** A worker log line (pino JSON) with this message about this job, whatever the order of its fields. */
const logged = (output: string, msg: string, jobId: string) =>
  output.split('\n').some((l) => l.includes(`"msg":"${msg}"`) && l.includes(`"jobId":"${jobId}"`));

type Job = { id: string; status: string; metrics: unknown[]; cancelRequested?: boolean; resumedFromEpoch?: number; modelId?: string; workerDeaths?: number };

// Far longer than any test waits: only a cancel ends it.
const longJob = () => smallJob({ epochs: 30, trainSize: 50000, validationSize: 1000 });

describe('cancel paths', () => {
  const prefix = uniquePrefix('cancel');
  let dataDir: string;
  let config: Config;
  let apiA: FastifyInstance;
  let apiB: FastifyInstance;
  let redis: Redis;
  let checkpoints: CheckpointRepository;
  const workers: WorkerProcess[] = [];
  const keys = queueKeys(prefix);

  before(async () => {
    dataDir = await tempDataDir();
    config = testConfig(prefix, dataDir);
    // two API instances on one Redis, as behind a load balancer
    apiA = await buildApp({ config });
    apiB = await buildApp({ config });
    await Promise.all([apiA.ready(), apiB.ready()]);
    redis = new Redis(REDIS_URL);
    checkpoints = new CheckpointRepository({ dataDir });
  });
  afterEach(async () => {
    for (const w of workers.splice(0)) await stopWorker(w, 'SIGKILL');
  });
  after(async () => {
    await apiA.close();
    await apiB.close();
    redis.disconnect();
    await cleanup(prefix, dataDir);
  });

  // Tests that wait on no lapsed lock use a long one: on a loaded machine a 2 s lock can lapse while
  // a worker loads MNIST, and the job would go back to the queue under the test's feet.
  const steadyLock = { JOB_LOCK_MS: '30000', JOB_STALLED_INTERVAL_MS: '30000' };
  async function launch(env: Record<string, string> = {}): Promise<WorkerProcess> {
    const w = startWorker(config, env);
    workers.push(w);
    await waitForOutput(w, 'worker started', 60_000);
    return w;
  }
  const output = () => workers.map((w, i) => `--- worker ${i}\n${w.output()}`).join('\n');
  const get = async (api: FastifyInstance, id: string) => (await request(api.server).get(`/v1/jobs/${id}`).expect(200)).body as Job;
  const until = (id: string, check: (j: Job) => boolean, what: string) =>
    waitFor(async () => {
      const j = await get(apiA, id);
      return check(j) ? j : null;
    }, 180_000, `${what}\n${output()}`);
  const submit = async (body = longJob()) => ((await request(apiA.server).post('/v1/jobs').send(body).expect(202)).body as Job).id;
  /** What the API's cancel writes, without its pub/sub message: as if the message were lost. */
  const setFlagOnly = (id: string) => redis.set(keys.cancelFlag(id), '1', 'EX', 600);

  test('a job submitted through one API instance is cancelled through another', async () => {
    await launch(steadyLock);
    const id = await submit();
    await until(id, (j) => j.status === 'running', 'the job to run');
    const res = await request(apiB.server).post(`/v1/jobs/${id}/cancel`);
    // 202 while the job still runs; a worker quick enough to stop it before the API has answered makes
    // it 200, already cancelled (the flag and its message go out before the API's last read)
    if (res.status === 200) assert.equal(res.body.status, 'cancelled', JSON.stringify(res.body));
    else assert.deepEqual([res.status, res.body.cancelRequested], [202, true], JSON.stringify(res.body));
    const done = await until(id, (j) => j.status === 'cancelled', 'the job to be cancelled');
    assert.equal(done.modelId, undefined);
    assert.equal((await get(apiB, id)).status, 'cancelled');
    await request(apiA.server).post(`/v1/jobs/${id}/cancel`).expect(409);
  });

  test('pub/sub message lost: the worker polls the durable flag and stops the running job', async () => {
    const worker = await launch(steadyLock);
    const id = await submit();
    // training, not still starting (a flag set then is seen by the check at pick-up instead)
    await until(id, (j) => j.status === 'running' && j.metrics.length >= 1, 'the job to train');
    await setFlagOnly(id);
    const done = await until(id, (j) => j.status === 'cancelled', 'the job to be cancelled');
    assert.ok(done.metrics.length < 30);
    assert.ok(logged(worker.output(), 'cancel requested', id), worker.output());
    assert.equal(await checkpoints.load(id), null);
  });

  test('pub/sub message lost before any worker had the job: the worker that takes it sees the flag and never trains it', async () => {
    const id = await submit(); // no worker running: it waits in the queue
    await setFlagOnly(id);
    const worker = await launch(steadyLock);
    const done = await until(id, (j) => j.status === 'cancelled', 'the job to be cancelled');
    assert.deepEqual(done.metrics, []);
    assert.ok(logged(worker.output(), 'job cancelled before this worker trained it', id), worker.output());
  });

  test('the worker dies after the cancel was asked: the job ends cancelled, not resumed', async () => {
    const first = await launch(); // its lock (2 s) must lapse for the next worker to take the job
    const id = await submit();
    await waitFor(async () => (await get(apiA, id)).metrics.length >= 1 && (await checkpoints.load(id)) !== null, 180_000, `a checkpoint\n${output()}`);
    // Frozen, the worker cannot act on the cancel; then it dies with the job still running.
    first.child.kill('SIGSTOP');
    const res = await request(apiB.server).post(`/v1/jobs/${id}/cancel`).expect(202);
    assert.equal(res.body.cancelRequested, true);
    const epochsAtDeath = (await get(apiA, id)).metrics.length;
    first.child.kill('SIGKILL');
    await first.exited;

    const second = await launch();
    const done = await until(id, (j) => j.status === 'cancelled', 'the job to be cancelled');
    assert.equal(done.metrics.length, epochsAtDeath, 'no epoch trained after the death');
    assert.equal(done.resumedFromEpoch, undefined, 'not resumed');
    assert.ok((done.workerDeaths ?? 0) >= 1, 'its death was counted');
    // the worker deletes it right after writing the record's end (its end hook): this may see the record first
    await waitFor(async () => (await checkpoints.load(id)) === null, 30_000, 'its checkpoint is gone');
    assert.doesNotMatch(second.output(), /resuming from checkpoint/);
    assert.ok(logged(second.output(), 'job cancelled before this worker trained it', id), second.output());
  });
});
