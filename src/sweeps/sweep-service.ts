// The API's side of sweeps: create (resolve, cost, record, queue the first wave), read as views,
// list, cancel (the sweep, then every trial not yet ended). The waves after the first are queued
// by the workers (sweep-coordinator.ts), so the API may restart mid-sweep without harm.
import type { Redis } from 'ioredis';
import type { Config } from '../config/env.ts';
import { jobBudgets } from '../engine/index.ts';
import { ApiError } from '../errors.ts';
import { isTerminal, type JobRecord, type TrainingQueue } from '../queue/index.ts';
import { publishJobEvent } from '../queue/job-events.ts';
import { queueKeys } from '../queue/catalogue.ts';
import { JobRecordRepository } from '../queue/job-record.repository.ts';
import { SweepFlow } from '../queue/sweep-flow.ts';
import { CheckpointRepository } from '../store/checkpoint.repository.ts';
import { waveTrials } from './sweep-coordinator.ts';
import { nextStep } from './sweep-planner.ts';
import { resolveSweep, type CreateSweepBody, type SweepPlan } from './sweep-spec.ts';
import { sweepView, type SweepView } from './sweep-view.ts';
import { SweepRepository, type SweepRecord } from './sweep.repository.ts';

export class SweepService {
  private readonly sweeps: SweepRepository;
  private readonly records: JobRecordRepository;
  private readonly checkpoints: CheckpointRepository;
  private flow: SweepFlow | null = null;
  private readonly channel: string;

  constructor(
    private readonly opts: { config: Config; redis: Redis; queue: TrainingQueue },
  ) {
    const { config, redis } = opts;
    this.sweeps = new SweepRepository(redis, config.QUEUE_PREFIX, config.JOB_RETENTION_AGE_S);
    this.records = new JobRecordRepository(redis, config.QUEUE_PREFIX, { ageSeconds: config.JOB_RETENTION_AGE_S, count: config.JOB_RETENTION_COUNT });
    this.checkpoints = new CheckpointRepository({ dataDir: config.DATA_DIR });
    this.channel = queueKeys(config.QUEUE_PREFIX).eventsChannel;
  }

  /** Resolves and costs the request (SpecError, BudgetError, SweepBudgetError), queuing nothing. */
  plan(body: CreateSweepBody): SweepPlan {
    const { config } = this.opts;
    const plan = resolveSweep(body, jobBudgets(config), config.MAX_SWEEP_IMAGE_STEPS);
    if (plan.concurrency > config.MAX_JOBS_PER_KEY) {
      throw new ApiError(422, 'unprocessable', `concurrency ${plan.concurrency} is above MAX_JOBS_PER_KEY = ${config.MAX_JOBS_PER_KEY}`, [
        { path: 'concurrency', message: `at most MAX_JOBS_PER_KEY = ${config.MAX_JOBS_PER_KEY} trials at once` },
      ]);
    }
    return plan;
  }

  async create(plan: SweepPlan, owner?: string): Promise<SweepView> {
    const rec = await this.sweeps.create(plan, owner);
    const first = nextStep(plan, [], () => ({ status: 'queued', validationAccuracy: null, validationCost: null }));
    if (first.kind !== 'wave') throw new Error('a sweep plan without trials'); // resolveSweep never makes one
    const { refs, wave } = waveTrials(rec, first.trials, 0);
    await this.sweeps.setTrials(rec.id, refs, 1);
    await this.flowProducer().launch({ sweepId: rec.id, step: 0, ...(owner !== undefined ? { owner } : {}), trials: wave });
    return (await this.view(rec.id))!;
  }

  get(id: string): Promise<SweepRecord | null> {
    return this.sweeps.get(id);
  }

  async view(id: string): Promise<SweepView | null> {
    const rec = await this.sweeps.get(id);
    return rec && this.toView(rec);
  }

  async toView(rec: SweepRecord): Promise<SweepView> {
    const jobs = new Map<string, JobRecord | null>();
    await Promise.all(rec.trials.map(async (t) => jobs.set(t.jobId, await this.records.get(t.jobId))));
    return sweepView(rec, jobs);
  }

  list(opts: { owner?: string; limit: number; offset: number }): Promise<{ items: SweepRecord[]; total: number }> {
    return this.sweeps.list(opts);
  }

  /**
   * Cancels the sweep (no further wave; a trial a worker has not started yet is cancelled when it
   * does) and every trial not yet ended: queued ones at once, running ones at their next mini-batch.
   */
  async cancel(id: string): Promise<SweepView | null> {
    const rec = await this.sweeps.get(id);
    if (!rec) return null;
    await this.sweeps.finish(id, 'cancelled');
    // read again: a wave queued meanwhile is in the record now
    const now = (await this.sweeps.get(id)) ?? rec;
    for (const t of now.trials) {
      const job = await this.records.getSummary(t.jobId);
      if (!job || isTerminal(job.status)) continue;
      await this.opts.queue.cancel(t.jobId).catch((err: unknown) => {
        if (!(err instanceof ApiError)) throw err; // 404/409: it ended meanwhile
      });
    }
    for (const t of now.trials) {
      const job = await this.records.getSummary(t.jobId);
      if (!job || isTerminal(job.status)) await this.checkpoints.delete(t.jobId).catch(() => {});
    }
    await publishJobEvent(this.opts.redis, this.channel, { type: 'status', jobId: id, status: 'cancelled' }).catch(() => {});
    return this.view(id);
  }

  async close(): Promise<void> {
    await this.flow?.close();
  }

  private flowProducer(): SweepFlow {
    this.flow ??= new SweepFlow(this.opts.config, this.checkpoints);
    return this.flow;
  }
}
