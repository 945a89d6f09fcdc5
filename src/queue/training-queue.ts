// The producer side of training jobs, used by the API: submit, read, list, cancel and
// follow jobs. BullMQ carries the work to the workers; our own record (job-record.repository)
// is what clients read, so cancelled jobs and jobs BullMQ has already cleaned up stay readable.
import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../config/env.ts';
import type { EpochMetrics, Experiment } from '../engine/index.ts';
import { ApiError, conflict, notFound } from '../errors.ts';
import { CancelChannel } from './cancel-channel.ts';
import { QUEUES, queueKeys, trainingQueueFor, type QueueName, type QueueKeys, type TrainingJobName, type TrainPayload, type TrainResult } from './catalogue.ts';
import { JobEventBus } from './job-events.ts';
import { JobLifecycle, type JobLifecycleHooks } from './job-lifecycle.ts';
import { isEndEvent, isTerminal, type JobEvent, type JobRecord, type JobStatus, type JobSummary } from './job-record.ts';
import { JobLimitError, JobRecordRepository } from './job-record.repository.ts';
import { createRedis } from './redis-connection.ts';

export type TrainingQueueOptions = {
  config: Config;
  /** Defaults to config.REDIS_URL. */
  redisUrl?: string;
  /** Defaults to config.QUEUE_PREFIX. */
  prefix?: string;
  /**
   * What ending a job here (cancelling a queued one) also does: the API deletes the job's
   * checkpoint (src/store/checkpoint.repository.ts's dropCheckpointOnEnd), as a worker does.
   */
  hooks?: JobLifecycleHooks;
};

/**
 * Followers are pushed (pub/sub); this is only the safety net for a message lost in between
 * (a worker's publish that failed, a subscriber reconnect we did not see): a follower checks the
 * record's status and last epoch (one HMGET) this often, and reads the whole record only when it
 * missed something. A subscriber reconnect triggers the same check at once.
 */
export const EVENTS_SAFETY_CHECK_MS = 30_000;

/** The SSE id of an epoch event: `<member>.<epoch>`; the end event's is `end`. */
export const epochEventId = (m: { member?: number; epoch: number }) => `${m.member ?? 0}.${m.epoch}`;
export const END_EVENT_ID = 'end';

type Cursor = { member: number; epoch: number } | 'end' | null;

/** A Last-Event-ID sent back by a reconnecting client: where its stream stopped (null: replay all). */
export function parseEventId(id: string | undefined): Cursor {
  if (id === END_EVENT_ID) return 'end';
  const m = /^(\d{1,6})\.(\d{1,9})$/.exec(id ?? '');
  return m ? { member: Number(m[1]), epoch: Number(m[2]) } : null;
}

const afterCursor = (c: Cursor, m: { member?: number; epoch: number }) =>
  c === null ? true : c === 'end' ? false : (m.member ?? 0) > c.member || ((m.member ?? 0) === c.member && m.epoch > c.epoch);

export class TrainingQueue {
  readonly prefix: string;
  private readonly redis: Redis;
  private subscriber: Redis | null = null;
  private bus: JobEventBus | null = null;
  /** One BullMQ queue per name (catalogue.ts: shared `training`, `train-native`, `train-tfjs`), opened on first use. */
  private readonly queues = new Map<QueueName, Queue<TrainPayload, TrainResult, TrainingJobName>>();
  private readonly queueOptions: ConstructorParameters<typeof Queue<TrainPayload, TrainResult, TrainingJobName>>[1];
  private readonly records: JobRecordRepository;
  private readonly cancels: CancelChannel;
  private readonly keys: QueueKeys;
  private readonly redisUrl: string;
  private readonly lifecycle: JobLifecycle;

  constructor(opts: TrainingQueueOptions) {
    const { config } = opts;
    this.prefix = opts.prefix ?? config.QUEUE_PREFIX;
    this.redisUrl = opts.redisUrl ?? config.REDIS_URL;
    this.keys = queueKeys(this.prefix);
    this.redis = createRedis(this.redisUrl, 'producer');
    this.redis.on('error', () => {}); // surfaced by the failing command (and /readyz), not as a crash
    this.queueOptions = {
      connection: this.redis,
      prefix: this.prefix,
      defaultJobOptions: {
        attempts: config.JOB_ATTEMPTS,
        backoff: { type: 'fixed', delay: 1000 },
        removeOnComplete: { age: config.JOB_RETENTION_AGE_S, count: config.JOB_RETENTION_COUNT },
        removeOnFail: { age: config.JOB_RETENTION_AGE_S, count: config.JOB_RETENTION_COUNT },
      },
    };
    this.queueFor(QUEUES.training);
    const retention = { ageSeconds: config.JOB_RETENTION_AGE_S, count: config.JOB_RETENTION_COUNT, maxEpochMetrics: config.MAX_EPOCH_METRICS };
    this.records = new JobRecordRepository(this.redis, this.prefix, retention);
    this.cancels = new CancelChannel(this.redis, this.prefix, config.JOB_RETENTION_AGE_S);
    this.lifecycle = new JobLifecycle(this.redis, this.records, this.keys.eventsChannel, opts.hooks);
  }

  /**
   * Enqueues an already resolved experiment. `owner` (the submitting key's name) goes into the
   * record, the payload and so the model; with `maxActive`, an owner who already has that many
   * queued or running jobs is refused with 429 too_many_jobs.
   */
  async submit(experiment: Experiment, meta: { name?: string; owner?: string; maxActive?: number } = {}): Promise<JobRecord> {
    const id = randomUUID();
    const name = meta.name ?? experiment.name;
    const { owner } = meta;
    let record: JobRecord;
    try {
      record = await this.records.create({
        id, experiment,
        ...(name !== undefined ? { name } : {}),
        ...(owner !== undefined ? { owner } : {}),
        ...(meta.maxActive !== undefined ? { maxActive: meta.maxActive } : {}),
      });
    } catch (err) {
      if (err instanceof JobLimitError) {
        throw new ApiError(
          429, 'too_many_jobs',
          `the key "${err.owner}" already has ${err.active} queued or running jobs, the most it may have (MAX_JOBS_PER_KEY=${err.limit}); ` +
            'wait for one to finish or cancel one',
          { owner: err.owner, active: err.active, limit: err.limit },
        );
      }
      throw err;
    }
    try {
      const payload: TrainPayload = {
        jobId: id, experiment, ...(name !== undefined ? { name } : {}), ...(owner !== undefined ? { owner } : {}),
      };
      await this.queueFor(trainingQueueFor(experiment.backend)).add('train', payload, { jobId: id });
    } catch (err) {
      await this.records.remove(id, owner).catch(() => {});
      throw err;
    }
    return record;
  }

  get(id: string): Promise<JobRecord | null> {
    return this.records.get(id);
  }

  /** Newest first, as summaries (no metric history, no spec); with `owner`, only that owner's. */
  list(opts: { status?: JobStatus; owner?: string; limit: number; offset: number }): Promise<{ items: JobSummary[]; total: number }> {
    return this.records.list(opts);
  }

  counts(): Promise<Record<JobStatus, number>> {
    return this.records.counts();
  }

  /**
   * Cancels a queued job at once (removed from the queue) or asks a running one to stop at
   * its next mini-batch boundary (cancelRequested: true until the worker confirms).
   * Throws ApiError 404 (unknown) or 409 (already finished).
   */
  async cancel(id: string): Promise<JobRecord> {
    const rec = await this.records.get(id);
    if (!rec) throw notFound(`job ${id} not found`);
    if (isTerminal(rec.status)) throw conflict(`job ${id} is already ${rec.status}`, { status: rec.status });
    // The flag first: a worker that picks the job up from now on sees it before training.
    await this.cancels.request(id);
    const job = await this.queueFor(trainingQueueFor(rec.experiment.backend)).getJob(id);
    let removed = !job;
    if (job) {
      const state = await job.getState();
      if (state !== 'active') removed = await job.remove().then(() => true, () => false); // fails when locked
    }
    // A job handed back by a stopped worker has a checkpoint nobody will resume now: the hook's.
    if (removed && (await this.lifecycle.cancelled(id, { from: ['queued'] }))) {
      const done = await this.records.get(id);
      if (done) return done;
    }
    await this.lifecycle.cancelRequested(id);
    const now = await this.records.get(id);
    if (!now) throw notFound(`job ${id} not found`);
    return now;
  }

  /**
   * Follows a job: replays the epochs so far (those after `lastEventId`, for a client that
   * reconnects), then yields live events, pushed by pub/sub, until the end event (completed |
   * failed | cancelled) or until `signal` aborts. Throws ApiError 404 if unknown.
   */
  async *events(id: string, signal: AbortSignal, opts: { lastEventId?: string } = {}): AsyncIterable<JobEvent> {
    const bus = this.eventBus();
    const pending: JobEvent[] = [];
    let wake: (() => void) | null = null;
    let checkNow = false;
    const off = bus.on(id, (e) => {
      pending.push(e);
      wake?.();
    });
    const offReconnect = bus.onResubscribed(() => {
      checkNow = true;
      wake?.();
    });
    const onAbort = () => wake?.();
    signal.addEventListener('abort', onAbort);
    try {
      await bus.ready();
      const first = await this.records.get(id);
      if (!first) throw notFound(`job ${id} not found`);
      const cursor = parseEventId(opts.lastEventId);
      const seen = new Set<string>();
      const isNew = (m: EpochMetrics) => !seen.has(epochEventId(m)) && afterCursor(cursor, m);
      // Yields the record's epochs not streamed yet (its last one too, if thinned away), then its
      // end event if it has ended.
      const catchUp = function* (rec: JobRecord): Generator<JobEvent, boolean> {
        for (const m of rec.lastEpoch && !rec.metrics.some((x) => epochEventId(x) === epochEventId(rec.lastEpoch!)) ? [...rec.metrics, rec.lastEpoch] : rec.metrics) {
          if (!isNew(m)) continue;
          seen.add(epochEventId(m));
          yield { type: 'epoch', jobId: id, metrics: m };
        }
        if (!isTerminal(rec.status)) return false;
        yield { type: rec.status as 'completed' | 'failed' | 'cancelled', jobId: id, job: rec };
        return true;
      };
      if (yield* catchUp(first)) return;
      while (!signal.aborted) {
        const e = pending.shift();
        if (!e) {
          const timedOut = checkNow || (await new Promise<boolean>((resolve) => {
            const t = setTimeout(() => resolve(true), EVENTS_SAFETY_CHECK_MS);
            wake = () => {
              clearTimeout(t);
              resolve(false);
            };
          }));
          wake = null;
          if ((timedOut || checkNow) && !signal.aborted) {
            checkNow = false;
            // cheap check first: did we miss an epoch or the end?
            const peek = await this.records.peek(id);
            if (!peek) return;
            if (isTerminal(peek.status) || (peek.lastEpoch && isNew(peek.lastEpoch))) {
              const rec = await this.records.get(id);
              if (!rec || (yield* catchUp(rec))) return;
            }
          }
          continue;
        }
        if (e.type === 'epoch') {
          if (!isNew(e.metrics)) continue;
          seen.add(epochEventId(e.metrics));
        } else if (isEndEvent(e)) {
          // Epochs published just before the end may still be in flight: replay from the record.
          yield* catchUp({ ...e.job, status: 'running' });
          yield e;
          return;
        }
        yield e;
      }
    } finally {
      off();
      offReconnect();
      signal.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Calls `listener` with every event published for `id` (a job, or a sweep: its coordinator
   * publishes a status event when it queues a wave or ends) until the returned function is called.
   * Resolves once subscribed, so nothing published afterwards is missed.
   */
  async follow(id: string, listener: (e: JobEvent) => void): Promise<() => void> {
    const bus = this.eventBus();
    const off = bus.on(id, listener);
    await bus.ready();
    return off;
  }

  /** Throws when Redis does not answer (for /readyz). */
  async ping(): Promise<void> {
    await this.redis.ping();
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close().catch(() => {})));
    this.subscriber?.disconnect();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  private queueFor(name: QueueName): Queue<TrainPayload, TrainResult, TrainingJobName> {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue<TrainPayload, TrainResult, TrainingJobName>(name, this.queueOptions);
      q.on('error', () => {});
      this.queues.set(name, q);
    }
    return q;
  }

  private eventBus(): JobEventBus {
    if (!this.bus) {
      this.subscriber = createRedis(this.redisUrl, 'subscriber');
      this.subscriber.on('error', () => {});
      this.bus = new JobEventBus(this.subscriber, this.keys.eventsChannel);
    }
    return this.bus;
  }
}
