// The consumer of the `sweeps` queue: a wave's parent job becomes runnable once all its trials
// have finished, and the worker that takes it hands it to `advance` (src/sweeps/sweep-coordinator.ts:
// plan the next wave or finish the sweep). Light work (a few Redis reads and writes), so it has its
// own BullMQ worker beside the training ones and never waits for a training slot.
import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../config/env.ts';
import { QUEUES, type SweepStepPayload } from './catalogue.ts';
import { createRedis } from './redis-connection.ts';

export type SweepConsumerOptions = {
  config: Config;
  advance: (step: SweepStepPayload) => Promise<void>;
  log?: (message: string, extra?: Record<string, unknown>) => void;
};

export class SweepConsumer {
  private readonly redis: Redis;
  private worker: Worker<SweepStepPayload, void, 'step'> | null = null;

  constructor(private readonly opts: SweepConsumerOptions) {
    this.redis = createRedis(opts.config.REDIS_URL, 'worker', 'nndl-sweeps');
    this.redis.on('error', (e: Error) => opts.log?.('redis error', { error: e.message }));
  }

  async start(): Promise<void> {
    const { config } = this.opts;
    this.worker = new Worker<SweepStepPayload, void, 'step'>(QUEUES.sweeps, async (job) => this.opts.advance(job.data), {
      connection: this.redis,
      prefix: config.QUEUE_PREFIX,
      concurrency: 4,
      lockDuration: config.JOB_LOCK_MS,
      stalledInterval: config.JOB_STALLED_INTERVAL_MS,
      maxStalledCount: 10,
    });
    this.worker.on('error', (e) => this.opts.log?.('sweep worker error', { error: e.message }));
    this.worker.on('failed', (job, err) => this.opts.log?.('sweep step failed', { sweepId: job?.data.sweepId, step: job?.data.step, error: err.message }));
    await this.worker.waitUntilReady();
  }

  async shutdown(): Promise<void> {
    await this.worker?.close();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
