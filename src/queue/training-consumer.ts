// The consumer side of training jobs: a BullMQ Worker that hands each job to a processor
// (workers/train.processor.ts: engine + store) with a small context — the job's stop request
// (cancel / interrupt), and callbacks that move the job through its life (job-lifecycle.ts) and
// keep BullMQ's progress in step. The retry/stall/shutdown/time-limit rules live here; what the
// worker does besides (its engine backend, deleting checkpoints) comes in through the options.
import { randomUUID } from 'node:crypto';
import { DelayedError, UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../config/env.ts';
import type { EngineBackend, EpochMetrics, TrainProgress } from '../engine/index.ts';
import { CancelChannel } from './cancel-channel.ts';
import { queueKeys, trainingQueuesServed, type TrainingJobName, type TrainPayload, type TrainResult } from './catalogue.ts';
import { createLogger, logFn } from '../observability/logger.ts';
import { JobLifecycle, SupersededError, type Fence, type JobLifecycleHooks } from './job-lifecycle.ts';
import type { JobProgress, JobRecord } from './job-record.ts';
import { JobRecordRepository } from './job-record.repository.ts';
import { JobStop, type JobStopView, type StopReason } from './job-stop.ts';
import { createRedis } from './redis-connection.ts';

export { SupersededError } from './job-lifecycle.ts';

/** A job that must not be retried (bad spec): it fails once with this message. */
export class NonRetryableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NonRetryableError';
  }
}

/** Thrown once the record already says `failed` (timeout, worker deaths): BullMQ fails it, no retry. */
class JobFailedForGood extends UnrecoverableError {}

export type TrainContext = {
  jobId: string;
  payload: TrainPayload;
  /** The record as it was when this attempt started (metrics of earlier attempts included). */
  record: JobRecord;
  /** The job's stop request (cancel, or interrupt: shutdown or time limit); the processor hands it on to the engine. */
  stop: JobStopView;
  /** Engine backend to train on: the job's own choice, else this worker's (`resolveBackend`). */
  backend: EngineBackend;
  reportEpoch(m: EpochMetrics): Promise<void>;
  /** The engine's progress, every PROGRESS_INTERVAL_MS while an epoch runs: published as a `progress` event. */
  reportProgress(p: TrainProgress): void;
  markResumed(fromEpoch: number): Promise<void>;
  log(message: string, extra?: Record<string, unknown>): void;
};

export type TrainOutcome = { status: 'completed'; modelId: string } | { status: 'cancelled' } | { status: 'interrupted' };

export type TrainingConsumerOptions = {
  config: Config;
  process: (ctx: TrainContext) => Promise<TrainOutcome>;
  /** The backend a job runs on: `requested` (the job's own choice) when set, else the worker's. */
  resolveBackend: (requested: EngineBackend | undefined) => Promise<EngineBackend>;
  /** What the worker does when a job ends (the worker deletes a failed or cancelled job's checkpoint). */
  hooks: JobLifecycleHooks;
  log?: (message: string, extra?: Record<string, unknown>) => void;
};

/** Kills/stalls a job survives before BullMQ gives up on it. */
const MAX_STALLED = 10;
const CANCEL_POLL_MS = 1000;

export class TrainingConsumer {
  private readonly redis: Redis;
  private readonly subscriber: Redis;
  private readonly records: JobRecordRepository;
  private readonly cancels: CancelChannel;
  private readonly lifecycle: JobLifecycle;
  private readonly keys;
  private readonly active = new Map<string, JobStop>();
  /** One BullMQ worker per queue served (the shared one and each WORKER_BACKENDS backend's own). */
  private workers: Worker<TrainPayload, TrainResult, TrainingJobName>[] = [];
  private readonly log: NonNullable<TrainingConsumerOptions['log']>;
  private cancelPoll: NodeJS.Timeout | null = null;

  constructor(private readonly opts: TrainingConsumerOptions) {
    const { config } = opts;
    this.log = opts.log ?? logFn(createLogger('worker', config));
    this.keys = queueKeys(config.QUEUE_PREFIX);
    this.redis = createRedis(config.REDIS_URL, 'worker');
    this.subscriber = createRedis(config.REDIS_URL, 'subscriber');
    for (const r of [this.redis, this.subscriber]) r.on('error', (e: Error) => this.log('redis error', { error: e.message }));
    const retention = { ageSeconds: config.JOB_RETENTION_AGE_S, count: config.JOB_RETENTION_COUNT, maxEpochMetrics: config.MAX_EPOCH_METRICS };
    this.records = new JobRecordRepository(this.redis, config.QUEUE_PREFIX, retention);
    this.cancels = new CancelChannel(this.redis, config.QUEUE_PREFIX, config.JOB_RETENTION_AGE_S);
    this.lifecycle = new JobLifecycle(this.redis, this.records, this.keys.eventsChannel, opts.hooks);
  }

  async start(): Promise<void> {
    const { config } = this.opts;
    await this.cancels.listen(this.subscriber, (id) => this.signalJob(id, 'cancel'));
    this.cancelPoll = setInterval(() => void this.pollCancels(), CANCEL_POLL_MS);
    const backends = [...new Set(config.WORKER_BACKENDS.split(','))] as EngineBackend[];
    const queues = trainingQueuesServed(backends);
    this.workers = queues.map((name) => new Worker<TrainPayload, TrainResult, TrainingJobName>(name, (job, token) => this.runLimited(job, token), {
      connection: this.redis,
      prefix: config.QUEUE_PREFIX,
      concurrency: config.WORKER_CONCURRENCY,
      lockDuration: config.JOB_LOCK_MS,
      stalledInterval: config.JOB_STALLED_INTERVAL_MS,
      maxStalledCount: MAX_STALLED,
      removeOnComplete: { age: config.JOB_RETENTION_AGE_S, count: config.JOB_RETENTION_COUNT },
      removeOnFail: { age: config.JOB_RETENTION_AGE_S, count: config.JOB_RETENTION_COUNT },
    }));
    for (const w of this.workers) {
      w.on('error', (e) => this.log('worker error', { error: e.message }));
      // Failures decided outside our processor (too many stalls) still have to reach the record.
      w.on('failed', (job, err) => void this.onFailed(job, err));
    }
    await Promise.all(this.workers.map((w) => w.waitUntilReady()));
    this.log('worker ready', { queues, prefix: config.QUEUE_PREFIX, concurrency: config.WORKER_CONCURRENCY });
  }

  /** Graceful stop: running jobs are interrupted at a mini-batch boundary and left to resume elsewhere. */
  async shutdown(): Promise<void> {
    this.closing = true;
    for (const id of this.active.keys()) this.signalJob(id, 'interrupt');
    if (this.cancelPoll) clearInterval(this.cancelPoll);
    await Promise.all(this.workers.map((w) => w.close()));
    this.subscriber.disconnect();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  private signalJob(id: string, reason: StopReason): void {
    if (this.active.get(id)?.request(reason)) this.log(reason === 'cancel' ? 'cancel requested' : 'interrupt requested', { jobId: id });
  }

  private async pollCancels(): Promise<void> {
    for (const id of this.active.keys()) {
      if (await this.cancels.isRequested(id).catch(() => false)) this.signalJob(id, 'cancel');
    }
  }

  private async run(job: Job<TrainPayload, TrainResult, TrainingJobName>, token?: string): Promise<TrainResult> {
    const id = job.data.jobId;
    const started = new Date().toISOString();
    // This attempt owns the record from here on (its BullMQ lock token): every later write of it is
    // fenced on it, so a worker cut off from Redis whose job another worker has taken over since
    // writes nothing when its link comes back (at-least-once delivery, exactly-once in effect).
    const fence = { attempt: token ?? randomUUID() };
    const backend = await this.opts.resolveBackend(job.data.experiment.backend);
    const start = await this.lifecycle.started(id, fence, { startedAt: started, backend });
    if (!start) {
      this.log('job has no live record; skipped', { jobId: id });
      return { cancelled: true };
    }
    // Still `running` in our record: the worker that had it stopped without handing it back
    // (SIGKILL, out of memory, a crash, or it lost its lock) — one more death of this job.
    const { record, workerDeaths: deaths } = start;
    if (start.previous === 'running') this.log('job picked up after its worker died', { jobId: id, workerDeaths: deaths });

    // The durable flag: a cancel whose message no worker heard (or asked before the last worker
    // died) ends the job here, before any training, whatever its death count.
    if (await this.cancels.isRequested(id)) {
      this.log('job cancelled before this worker trained it', { jobId: id });
      return this.finishCancelled(id, fence);
    }
    // a trial of a sweep cancelled after this wave was queued (the cancel may have missed it)
    if (job.data.sweepId && (await this.redis.hget(this.keys.sweep(job.data.sweepId), 'status')) === 'cancelled') return this.finishCancelled(id, fence);

    const { JOB_MAX_WORKER_DEATHS: maxDeaths, JOB_TIMEOUT_S: timeoutS } = this.opts.config;
    if (deaths >= maxDeaths) {
      return this.failFinal(id, `worker_died: the worker died while training this job (possibly out of memory): ${deaths} times, the most allowed (JOB_MAX_WORKER_DEATHS=${maxDeaths})`, fence);
    }
    const timedOutMessage = () => `timeout: the job trained longer than JOB_TIMEOUT_S (${timeoutS} s) and was stopped`;
    const ranBefore = await this.records.runSeconds(id);
    if (timeoutS > 0 && ranBefore >= timeoutS) return this.failFinal(id, timedOutMessage(), fence);

    const stop = new JobStop();
    this.active.set(id, stop);
    // Training time is summed over attempts and saved with each epoch and on hand-back, so a job
    // handed back (or whose worker died) does not get a fresh JOB_TIMEOUT_S on every resume.
    const attemptStarted = Date.now();
    const runSeconds = () => Math.round((ranBefore + (Date.now() - attemptStarted) / 1000) * 1000) / 1000;
    let timedOut = false;
    const deadline = timeoutS > 0
      ? setTimeout(() => {
          // the engine stops at the next mini-batch boundary as for a shutdown; a cancel already on its way wins
          if (stop.request('interrupt')) {
            timedOut = true;
            this.log('job time limit reached; stopping it', { jobId: id, timeoutS });
          }
        }, (timeoutS - ranBefore) * 1000)
      : null;
    let progress: JobProgress = record.progress;
    const ctx: TrainContext = {
      jobId: id,
      payload: job.data,
      record,
      stop,
      backend,
      reportEpoch: async (m) => {
        progress = { ...progress, epoch: m.epoch, epochs: m.epochs, ...(progress.members ? { member: m.member } : {}) };
        await this.lifecycle.epoch(id, fence, m, progress, runSeconds());
        await job.updateProgress(progress);
      },
      reportProgress: (p) => {
        void this.lifecycle.progress(id, { ...progress, batch: p.batch, batches: p.batches });
      },
      markResumed: (fromEpoch) => this.lifecycle.resumed(id, fence, fromEpoch),
      log: (msg, extra) => this.log(msg, { jobId: id, ...extra }),
    };
    try {
      const outcome = await this.opts.process(ctx);
      if (outcome.status === 'completed') {
        await this.lifecycle.completed(id, fence, outcome.modelId);
        return { modelId: outcome.modelId };
      }
      if (outcome.status === 'cancelled') return await this.finishCancelled(id, fence);
      if (timedOut) return await this.failFinal(id, timedOutMessage(), fence);
      // Interrupted (shutdown): back to the queue without spending an attempt; the checkpoint
      // the processor saved lets whichever worker takes it next resume mid-epoch.
      await this.lifecycle.requeued(id, fence, { runSeconds: runSeconds() });
      await job.moveToWait(token);
      throw new WaitingError();
    } catch (err) {
      if (err instanceof WaitingError || err instanceof JobFailedForGood) throw err;
      if (err instanceof SupersededError) {
        // another worker has the job now (our lock lapsed while we were cut off): leave everything to it
        this.log('job taken over by another worker while this one was cut off; dropping this attempt', { jobId: id });
        throw err;
      }
      const message = err instanceof Error ? err.message : String(err);
      const final = err instanceof NonRetryableError || err instanceof UnrecoverableError || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      this.log(final ? 'job failed' : 'job attempt failed; will retry', { jobId: id, error: message });
      if (final) {
        await this.lifecycle.failed(id, message, { fence });
        if (err instanceof NonRetryableError) throw new UnrecoverableError(message);
      } else {
        await this.lifecycle.requeued(id, fence, { error: `attempt ${job.attemptsMade + 1} failed: ${message}`, runSeconds: runSeconds() });
      }
      throw err;
    } finally {
      if (deadline) clearTimeout(deadline);
      this.active.delete(id);
    }
  }

  /** Ends the job as failed for good (no retry): the lifecycle's end, then BullMQ. */
  private async failFinal(id: string, message: string, fence: Fence): Promise<never> {
    this.log('job failed', { jobId: id, error: message });
    await this.lifecycle.failed(id, message, { fence });
    throw new JobFailedForGood(message);
  }

  private running = 0;
  private closing = false;

  /**
   * WORKER_CONCURRENCY across all the queues this process consumes (each BullMQ worker limits only
   * its own): at the limit every worker pauses fetching; a job fetched in the same instant by
   * another queue's worker goes back to its queue (delayed 0.5 s, no attempt spent) for anyone.
   */
  private async runLimited(job: Job<TrainPayload, TrainResult, TrainingJobName>, token?: string): Promise<TrainResult> {
    const limit = this.opts.config.WORKER_CONCURRENCY;
    if (this.running >= limit) {
      await job.moveToDelayed(Date.now() + 500, token);
      throw new DelayedError();
    }
    this.running++;
    if (this.running >= limit && this.workers.length > 1) await Promise.all(this.workers.map((w) => w.pause(true)));
    try {
      return await this.run(job, token);
    } finally {
      this.running--;
      if (this.running < limit && !this.closing) for (const w of this.workers) void w.resume();
    }
  }

  private async finishCancelled(id: string, fence: Fence): Promise<TrainResult> {
    await this.lifecycle.cancelled(id, { fence });
    return { cancelled: true };
  }

  private async onFailed(job: Job<TrainPayload, TrainResult, TrainingJobName> | undefined, err: Error): Promise<void> {
    if (!job) return;
    try {
      if ((await job.getState()) !== 'failed') return;
      await this.lifecycle.failed(job.data.jobId, err.message);
    } catch (e) {
      this.log('could not record a failure', { jobId: job.data.jobId, error: (e as Error).message });
    }
  }
}
