// Queues one wave of a sweep as a BullMQ flow: a parent `step` job on the `sweeps` queue whose
// children are the wave's trials, ordinary training jobs on the training queue (each with its own
// job record, so they show in /v1/jobs, stream events and checkpoint like any other). BullMQ runs
// the parent only once every child has finished — completed, or failed (ignoreDependencyOnFailure),
// or removed by a cancel — and whichever worker takes it plans the next wave (sweep-consumer.ts).
// Everything is keyed by deterministic ids, so launching the same wave twice queues it once.
import { FlowProducer } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../config/env.ts';
import type { Experiment } from '../engine/index.ts';
import { QUEUES, trainingQueueFor, type SweepStepPayload, type TrainPayload } from './catalogue.ts';
import { JobRecordRepository } from './job-record.repository.ts';
import { createRedis } from './redis-connection.ts';

export type WaveTrial = {
  jobId: string;
  experiment: Experiment;
  name: string;
  /** Keep the final checkpoint (a halving trial that may be promoted). */
  keepCheckpoint: boolean;
  /** Start from this trial's checkpoint (a promoted halving trial). */
  resumeFrom?: string;
};

/** What a wave needs of the store: a promoted trial's checkpoint (CheckpointRepository has it). */
export type TrialCheckpoints = {
  /** Gives `jobId` a copy of `fromJobId`'s checkpoint unless it has a usable one already. */
  inherit(jobId: string, fromJobId: string): Promise<void>;
};

/** The id of wave `step`'s parent job. */
export const waveJobId = (sweepId: string, step: number) => `${sweepId}-w${step}`;
/** A trial's job id: one per plan index and rung. */
export const trialJobId = (sweepId: string, index: number, rung: number) => `${sweepId}-t${index}-r${rung}`;

export class SweepFlow {
  private readonly redis: Redis;
  private readonly flows: FlowProducer;
  private readonly records: JobRecordRepository;

  constructor(
    private readonly config: Config,
    private readonly checkpoints: TrialCheckpoints,
  ) {
    this.redis = createRedis(config.REDIS_URL, 'producer', 'nndl-sweeps');
    this.redis.on('error', () => {}); // surfaced by the failing command
    this.flows = new FlowProducer({ connection: this.redis, prefix: config.QUEUE_PREFIX });
    this.flows.on('error', () => {});
    const retention = { ageSeconds: config.JOB_RETENTION_AGE_S, count: config.JOB_RETENTION_COUNT, maxEpochMetrics: config.MAX_EPOCH_METRICS };
    this.records = new JobRecordRepository(this.redis, config.QUEUE_PREFIX, retention);
  }

  async launch(args: { sweepId: string; step: number; owner?: string; trials: WaveTrial[] }): Promise<void> {
    const { config } = this;
    const { sweepId, step, owner } = args;
    for (const t of args.trials) {
      if (!(await this.records.get(t.jobId))) {
        await this.records.create({ id: t.jobId, experiment: t.experiment, name: t.name, ...(owner !== undefined ? { owner } : {}) });
      }
      // a promoted trial "resumes" from where its previous rung stopped: that checkpoint, under its own id
      if (t.resumeFrom) await this.checkpoints.inherit(t.jobId, t.resumeFrom);
    }
    const keep = { age: config.JOB_RETENTION_AGE_S, count: config.JOB_RETENTION_COUNT };
    const data: SweepStepPayload = { sweepId, step };
    await this.flows.add({
      name: 'step',
      queueName: QUEUES.sweeps,
      data,
      opts: { jobId: waveJobId(sweepId, step), attempts: 20, backoff: { type: 'fixed', delay: 1000 }, removeOnComplete: keep, removeOnFail: keep },
      children: args.trials.map((t) => {
        const payload: TrainPayload = {
          jobId: t.jobId, name: t.name, experiment: t.experiment, sweepId,
          ...(owner !== undefined ? { owner } : {}), ...(t.keepCheckpoint ? { keepCheckpoint: true } : {}),
        };
        return {
          name: 'train',
          queueName: trainingQueueFor(t.experiment.backend),
          data: payload,
          opts: {
            jobId: t.jobId, attempts: config.JOB_ATTEMPTS, backoff: { type: 'fixed', delay: 1000 },
            removeOnComplete: keep, removeOnFail: keep, ignoreDependencyOnFailure: true,
          },
        };
      }),
    });
  }

  async close(): Promise<void> {
    await this.flows.close().catch(() => {});
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
