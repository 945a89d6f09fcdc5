// TrainingConsumer in this process, against a real Redis, with a scripted processor instead of the
// engine (no child process, no MNIST): each way a job can go — completed, failed for good, failed
// once then retried, cancelled while running, cancelled while queued (the producer's side), handed
// back on shutdown and finished by the next consumer, past JOB_TIMEOUT_S, and picked up after too
// many worker deaths — checked on the record, the event channel and the end hooks.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import type { Config } from '../../src/config/env.ts';
import { resolveExperiment } from '../../src/engine/index.ts';
import {
  NonRetryableError,
  queueKeys,
  TrainingConsumer,
  TrainingQueue,
  type JobEvent,
  type JobRecord,
  type TrainContext,
  type TrainOutcome,
} from '../../src/queue/index.ts';
import { JobRecordRepository } from '../../src/queue/job-record.repository.ts';
import { REDIS_URL, cleanup, smallJob, tempDataDir, testConfig, uniquePrefix, waitFor } from './queue-helpers.ts';

const WAIT_MS = 60_000;

/** What a scripted job does, by its name. */
type Script = (ctx: TrainContext) => Promise<TrainOutcome>;

const epochMetrics = (epoch: number, epochs: number) => ({
  member: 0, epoch, epochs, trainingCost: 1 / epoch, trainingAccuracy: 0.5, validationCost: null, validationAccuracy: null,
  eta: 3, seconds: 0.01, imagesPerSecond: 1000, gradientNorms: [0.1, 0.2],
});

/** Resolves with the stop reason once the consumer asks the job to stop. */
const stopped = (ctx: TrainContext) => new Promise<string>((resolve) => ctx.stop.onStop(resolve));

describe('TrainingConsumer in process (real Redis, scripted processor)', () => {
  const prefix = uniquePrefix('consumer');
  let dataDir: string;
  let config: Config;
  let queue: TrainingQueue;
  let records: JobRecordRepository;
  let sub: Redis;
  let admin: Redis;
  const events = new Map<string, JobEvent[]>();
  /** onEnded calls: `<side>:<jobId>:<status>` (side: worker or api). */
  const ended: string[] = [];
  /** Jobs whose processor is training (has reported its first epoch). */
  const training = new Set<string>();
  const logs: string[] = [];
  const consumers: TrainingConsumer[] = [];
  const attemptsSeen = new Map<string, number>();

  const scripts: Record<string, Script> = {
    // two epochs and a progress tick, then a model
    ok: async (ctx) => {
      ctx.reportProgress({ member: 0, epoch: 0, batch: 1, batches: 10 });
      await ctx.reportEpoch(epochMetrics(1, 2));
      await ctx.reportEpoch(epochMetrics(2, 2));
      return { status: 'completed', modelId: `model-${ctx.jobId}` };
    },
    // a bad spec, as the worker finds it: never retried
    bad: async () => {
      throw new NonRetryableError('network.layers[0].units: must be positive');
    },
    // the first attempt fails, the second completes
    flaky: async (ctx) => {
      if ((attemptsSeen.get(ctx.jobId) ?? 0) === 0) {
        attemptsSeen.set(ctx.jobId, 1);
        throw new Error('the data went away');
      }
      await ctx.reportEpoch(epochMetrics(1, 1));
      return { status: 'completed', modelId: `model-${ctx.jobId}` };
    },
    // trains until asked to stop, then stops as the engine would
    wait: async (ctx) => {
      await ctx.reportEpoch(epochMetrics(1, 2));
      training.add(ctx.jobId);
      const reason = await stopped(ctx);
      training.delete(ctx.jobId);
      return reason === 'cancel' ? { status: 'cancelled' } : { status: 'interrupted' };
    },
  };

  const startConsumer = async (extra: Record<string, string> = {}, override?: Script): Promise<TrainingConsumer> => {
    const c = new TrainingConsumer({
      config: testConfig(prefix, dataDir, { JOB_ATTEMPTS: '2', ...extra }),
      process: (ctx) => (override ?? scripts[ctx.payload.name ?? ''] ?? scripts.ok!)(ctx),
      resolveBackend: async (requested) => requested ?? 'native',
      hooks: { onEnded: async (id, status) => void ended.push(`worker:${id}:${status}`) },
      log: (msg, extra) => void logs.push(`${msg} ${JSON.stringify(extra ?? {})}`),
    });
    consumers.push(c);
    await c.start();
    return c;
  };

  const stopConsumer = async (c: TrainingConsumer) => {
    consumers.splice(consumers.indexOf(c), 1);
    await c.shutdown();
  };

  before(async () => {
    dataDir = await tempDataDir();
    config = testConfig(prefix, dataDir, { JOB_ATTEMPTS: '2' });
    queue = new TrainingQueue({ config, hooks: { onEnded: async (id, status) => void ended.push(`api:${id}:${status}`) } });
    admin = new Redis(REDIS_URL);
    records = new JobRecordRepository(admin, prefix, { ageSeconds: 3600, count: 100 });
    sub = new Redis(REDIS_URL);
    sub.on('message', (_ch: string, msg: string) => {
      const e = JSON.parse(msg) as JobEvent;
      events.set(e.jobId, [...(events.get(e.jobId) ?? []), e]);
    });
    await sub.subscribe(queueKeys(prefix).eventsChannel);
  });
  after(async () => {
    for (const c of [...consumers]) await stopConsumer(c).catch(() => {});
    await queue.close();
    sub.disconnect();
    admin.disconnect();
    await cleanup(prefix, dataDir);
  });

  const submit = (name: string, backend?: 'native' | 'tfjs') => {
    const experiment = resolveExperiment(smallJob({ epochs: 2 }));
    return queue.submit(backend ? { ...experiment, backend } : experiment, { name });
  };
  /** The job's events as `type` or `status:<status>`, once its end event is in. */
  const eventsOf = async (id: string): Promise<string[]> => {
    const done = (e: JobEvent) => e.type === 'completed' || e.type === 'failed' || e.type === 'cancelled';
    await waitFor(async () => events.get(id)?.some(done), WAIT_MS, `the end event of ${id}\n${logs.join('\n')}`);
    return events.get(id)!.map((e) => (e.type === 'status' ? `status:${e.status}` : e.type));
  };
  const ends = async (id: string, status: JobRecord['status']): Promise<JobRecord> => {
    const rec = await waitFor(async () => {
      const r = await queue.get(id);
      return r && r.status === status ? r : null;
    }, WAIT_MS, `job ${id} to be ${status}: ${JSON.stringify(await queue.get(id))}\n${logs.join('\n')}`);
    await eventsOf(id);
    return rec;
  };
  const endEvent = (id: string) => events.get(id)!.at(-1) as Extract<JobEvent, { job: JobRecord }>;

  test('completed: running, progress, each epoch, then completed with its model; the end event carries the final record', async () => {
    await startConsumer({ WORKER_BACKENDS: 'native' });
    const job = await submit('ok');
    const rec = await ends(job.id, 'completed');
    assert.deepEqual(await eventsOf(job.id), ['status:running', 'progress', 'epoch', 'epoch', 'completed']);
    assert.equal(rec.modelId, `model-${job.id}`);
    assert.deepEqual(rec.metrics.map((m) => m.epoch), [1, 2]);
    assert.deepEqual(rec.progress, { epoch: 2, epochs: 2 });
    assert.equal(rec.attempts, 1);
    assert.equal(rec.backend, 'native', 'the backend resolveBackend chose');
    assert.ok(rec.startedAt && rec.finishedAt && rec.startedAt <= rec.finishedAt);
    assert.equal(rec.error, undefined);
    assert.deepEqual(endEvent(job.id).job, rec);
    assert.ok(ended.includes(`worker:${job.id}:completed`));
  });

  test('a non-retryable error fails the job at once, with its message; the end hook runs', async () => {
    const job = await submit('bad');
    const rec = await ends(job.id, 'failed');
    assert.deepEqual(await eventsOf(job.id), ['status:running', 'failed']);
    assert.equal(rec.error, 'network.layers[0].units: must be positive');
    assert.equal(rec.attempts, 1, 'not retried');
    assert.equal(endEvent(job.id).job.status, 'failed');
    assert.ok(ended.includes(`worker:${job.id}:failed`));
  });

  test('an error with attempts left puts the job back (queued, with the reason); the retry completes it', async () => {
    const job = await submit('flaky');
    const rec = await ends(job.id, 'completed');
    assert.deepEqual(await eventsOf(job.id), ['status:running', 'status:queued', 'status:running', 'epoch', 'completed']);
    assert.equal(rec.attempts, 2);
    assert.equal(rec.error, undefined, 'the retry cleared the first attempt\'s error');
    assert.match(logs.join('\n'), new RegExp(`job attempt failed; will retry.*${job.id}.*the data went away`));
    assert.deepEqual(ended.filter((e) => e.includes(job.id)), [`worker:${job.id}:completed`]);
  });

  test('cancelled while running: the processor is asked to stop with `cancel`, the job ends cancelled', async () => {
    const job = await submit('wait');
    await waitFor(async () => training.has(job.id), WAIT_MS, 'the job to train');
    // running: asked to stop (the record may already say cancelled when this returns)
    assert.notEqual((await queue.cancel(job.id)).status, 'queued');
    const rec = await ends(job.id, 'cancelled');
    assert.deepEqual(await eventsOf(job.id), ['status:running', 'epoch', 'cancelled']);
    assert.equal(rec.modelId, undefined);
    assert.deepEqual(rec.metrics.map((m) => m.epoch), [1]);
    assert.deepEqual(ended.filter((e) => e.includes(job.id)), [`worker:${job.id}:cancelled`]);
  });

  test('cancelled while queued: the producer ends it, through its own hook, with the same end event', async () => {
    // tfjs jobs go to the tfjs queue, which no consumer started so far serves
    const job = await submit('ok', 'tfjs');
    const rec = await queue.cancel(job.id);
    assert.equal(rec.status, 'cancelled');
    assert.deepEqual(await eventsOf(job.id), ['cancelled']);
    assert.deepEqual(endEvent(job.id).job, rec);
    assert.deepEqual(ended.filter((e) => e.includes(job.id)), [`api:${job.id}:cancelled`]);
  });

  test('too many worker deaths: a job picked up still `running` fails worker_died, untrained', async () => {
    const job = await submit('ok', 'tfjs');
    // as if a worker had started it and died: the record still says running, with one death before
    await records.transition(job.id, ['queued'], 'running', { attempt: 'a-dead-worker' });
    const other = await startConsumer({ WORKER_BACKENDS: 'tfjs', JOB_MAX_WORKER_DEATHS: '1' }, async () => {
      throw new Error('must not train');
    });
    const rec = await ends(job.id, 'failed');
    assert.match(rec.error ?? '', /^worker_died: .* 1 times, the most allowed \(JOB_MAX_WORKER_DEATHS=1\)/);
    assert.equal(rec.workerDeaths, 1);
    assert.deepEqual(await eventsOf(job.id), ['status:running', 'failed']);
    assert.deepEqual(ended.filter((e) => e.includes(job.id)), [`worker:${job.id}:failed`]);
    await stopConsumer(other);
  });

  test('past JOB_TIMEOUT_S: the processor is asked to stop with `interrupt`, and the job fails timeout', async () => {
    const timed = await startConsumer({ WORKER_BACKENDS: 'tfjs', JOB_TIMEOUT_S: '1' });
    const job = await submit('wait', 'tfjs');
    const rec = await ends(job.id, 'failed');
    assert.match(rec.error ?? '', /^timeout: the job trained longer than JOB_TIMEOUT_S \(1 s\)/);
    assert.deepEqual(await eventsOf(job.id), ['status:running', 'epoch', 'failed']);
    assert.deepEqual(ended.filter((e) => e.includes(job.id)), [`worker:${job.id}:failed`]);
    await stopConsumer(timed);
  });

  test('shutdown mid-job hands it back (queued, no attempt lost); the next consumer finishes it', async () => {
    const job = await submit('wait');
    await waitFor(async () => training.has(job.id), WAIT_MS, 'the job to train');
    await Promise.all([...consumers].map(stopConsumer));
    const back = await queue.get(job.id);
    assert.equal(back?.status, 'queued');
    assert.deepEqual(events.get(job.id)?.map((e) => (e.type === 'status' ? `status:${e.status}` : e.type)), ['status:running', 'epoch', 'status:queued']);
    assert.deepEqual(ended.filter((e) => e.includes(job.id)), [], 'a hand-back is no end');

    await startConsumer({ WORKER_BACKENDS: 'native' }, scripts.ok);
    const rec = await ends(job.id, 'completed');
    assert.deepEqual(await eventsOf(job.id), ['status:running', 'epoch', 'status:queued', 'status:running', 'progress', 'epoch', 'epoch', 'completed']);
    assert.equal(rec.attempts, 2);
    assert.equal(rec.workerDeaths, undefined, 'handed back, not a death');
    assert.deepEqual(ended.filter((e) => e.includes(job.id)), [`worker:${job.id}:completed`]);
  });
});
