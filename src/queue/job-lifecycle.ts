// A training job's life, one call per transition: each writes the record (one Lua script,
// job-record.repository.ts) and publishes its event (job-events.ts) in the one order every
// caller gets — the record first, so a follower that reads it on an event sees the new state.
// Ends run the injected hook between the two (the worker and the API delete the job's
// checkpoint there): the queue knows nothing of the store or the engine.
//
//   queued ─started─▶ running ─epoch/progress/resumed─▶ running
//   running ─completed─▶ completed        queued|running ─failed─▶ failed
//   queued|running ─cancelled─▶ cancelled running ─requeued─▶ queued (handed back, or a retry)
import type { Redis } from 'ioredis';
import type { EngineBackend, EpochMetrics } from '../engine/index.ts';
import { publishJobEvent } from './job-events.ts';
import type { JobEndType, JobEvent, JobProgress, JobRecord, JobStatus } from './job-record.ts';
import type { JobRecordRepository, RecordPatch } from './job-record.repository.ts';

/** What the callers add to the bare transitions. */
export type JobLifecycleHooks = {
  /**
   * A job just ended (its record says `status`), before its end event is published. The worker and
   * the API delete a failed or cancelled job's checkpoint here; a failure is logged by no one and
   * does not stop the end event.
   */
  onEnded?: (jobId: string, status: JobEndType) => Promise<void>;
};

/** An attempt's fence: its writes apply only while the record's `attempt` is this one. */
export type Fence = { attempt?: string };

/** This attempt no longer owns the job: another worker took it over (the record's `attempt` is not ours). */
export class SupersededError extends Error {
  constructor(jobId: string) {
    super(`job ${jobId} was taken over by another worker`);
    this.name = 'SupersededError';
  }
}

export type Started = {
  /** `running`: the worker before this one stopped without handing the job back. */
  previous: 'queued' | 'running';
  /** Worker deaths so far, this one counted. */
  workerDeaths: number;
  /** The record as it is now (this start counted in `attempts`). */
  record: JobRecord;
};

export class JobLifecycle {
  constructor(
    private readonly redis: Redis,
    private readonly records: JobRecordRepository,
    private readonly channel: string,
    private readonly hooks: JobLifecycleHooks = {},
  ) {}

  /**
   * queued (or running, after a worker death) → running for this attempt: the fence written, a
   * death counted when the record still said running, startedAt (first start only), the backend,
   * one more attempt; then the `status: running` event. Null when the job has no live record.
   */
  async started(id: string, fence: Required<Fence>, meta: { startedAt: string; backend: EngineBackend }): Promise<Started | null> {
    const previous = await this.records.transition(id, ['queued', 'running'], 'running', { error: null, attempt: fence.attempt });
    if (!previous) return null;
    if (previous === 'running') await this.records.incrementWorkerDeaths(id);
    const before = await this.records.get(id);
    if (!before) return null;
    const workerDeaths = before.workerDeaths ?? 0;
    const startedAt = before.startedAt ?? meta.startedAt;
    await this.records.transition(id, ['running'], null, { startedAt, backend: meta.backend }, fence);
    const attempts = await this.records.incrementAttempts(id);
    await this.publish({ type: 'status', jobId: id, status: 'running' });
    return { previous: previous as Started['previous'], workerDeaths, record: { ...before, startedAt, backend: meta.backend, attempts } };
  }

  /** One epoch done: metrics, progress and training time into the record, then the `epoch` event. SupersededError when fenced out. */
  async epoch(id: string, fence: Fence, m: EpochMetrics, progress: JobProgress, runSeconds: number): Promise<void> {
    if (!(await this.records.putEpoch(id, m, progress, fence))) throw new SupersededError(id);
    await this.records.transition(id, ['running'], null, { runSeconds }, fence);
    await this.publish({ type: 'epoch', jobId: id, metrics: m });
  }

  /** Mid-epoch progress: an event only (nothing stored). */
  progress(id: string, progress: JobProgress & { batch: number; batches: number }): Promise<void> {
    return this.publish({ type: 'progress', jobId: id, progress });
  }

  /** The attempt resumed from a checkpoint with `fromEpoch` epochs behind it. */
  async resumed(id: string, fence: Fence, fromEpoch: number): Promise<void> {
    await this.records.transition(id, ['running'], null, { resumedFromEpoch: fromEpoch }, fence);
  }

  /** A cancel was asked while the job was queued or running (no event: the worker's stop ends it). */
  async cancelRequested(id: string): Promise<boolean> {
    return (await this.records.transition(id, ['queued', 'running'], null, { cancelRequested: true })) !== null;
  }

  /** running → queued (handed back on shutdown, or an attempt failed and will be retried), then `status: queued`. */
  async requeued(id: string, fence: Fence, patch: { runSeconds: number; error?: string }): Promise<boolean> {
    const applied = (await this.records.transition(id, ['running'], 'queued', patch, fence)) !== null;
    if (applied) await this.publish({ type: 'status', jobId: id, status: 'queued' });
    return applied;
  }

  /** running → completed with its model. SupersededError when fenced out (the job is another worker's now). */
  async completed(id: string, fence: Fence, modelId: string): Promise<void> {
    if (!(await this.end(id, 'completed', ['running'], fence, { modelId }))) throw new SupersededError(id);
  }

  /** → failed for good with `message` (from queued or running unless `from` says otherwise). False when not applied. */
  failed(id: string, message: string, opts: { fence?: Fence; from?: readonly JobStatus[] } = {}): Promise<boolean> {
    return this.end(id, 'failed', opts.from ?? ['queued', 'running'], opts.fence ?? {}, { error: message });
  }

  /** → cancelled (from queued or running unless `from` says otherwise). False when not applied. */
  cancelled(id: string, opts: { fence?: Fence; from?: readonly JobStatus[] } = {}): Promise<boolean> {
    return this.end(id, 'cancelled', opts.from ?? ['queued', 'running'], opts.fence ?? {}, {});
  }

  /** The one end sequence: record (finishedAt), hook, end event with the final record. Nothing after a refused write. */
  private async end(id: string, status: JobEndType, from: readonly JobStatus[], fence: Fence, patch: RecordPatch): Promise<boolean> {
    const applied = await this.records.transition(id, from, status, { ...patch, finishedAt: new Date().toISOString() }, fence);
    if (!applied) return false;
    await this.hooks.onEnded?.(id, status).catch(() => {});
    const job = await this.records.get(id);
    if (job) await this.publish({ type: status, jobId: id, job });
    return true;
  }

  /** Events are best effort: followers fall back on the record (training-queue.ts's safety check). */
  private async publish(e: JobEvent): Promise<void> {
    await publishJobEvent(this.redis, this.channel, e).catch(() => {});
  }
}
