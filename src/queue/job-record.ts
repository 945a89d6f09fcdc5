// The job as clients see it. BullMQ's own states do not cover "cancelled" and vanish
// with retention, so we keep this small record in Redis ourselves (job-record.repository.ts).
import { z } from 'zod';
import type { EngineBackend, EpochMetrics, Experiment } from '../engine/index.ts';

export const JOB_STATUSES = ['queued', 'running', 'completed', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const TERMINAL_STATUSES: readonly JobStatus[] = ['completed', 'failed', 'cancelled'];
export const isTerminal = (s: JobStatus) => TERMINAL_STATUSES.includes(s);

/**
 * How far a job is: the one statement of its shape (the record's `progress`, the `progress` event
 * of its stream, the OpenAPI component JobProgress). The record holds epoch/epochs/member/members;
 * a live `progress` event adds the engine's mini-batch count (TrainProgress's batch and batches).
 */
export const JobProgressSchema = z.object({
  epoch: z.number().int().describe('epochs finished (of the member being trained, for ensembles)'),
  epochs: z.number().int(),
  member: z.number().int().optional().describe('ensembles: the member being trained (0-based)'),
  members: z.number().int().optional().describe('ensembles: networks in the ensemble'),
  batch: z.number().int().optional().describe('live progress events only: mini-batches done in the epoch under way'),
  batches: z.number().int().optional().describe('live progress events only: mini-batches per epoch'),
}).describe('how far a job is');
export type JobProgress = z.infer<typeof JobProgressSchema>;

export type JobRecord = {
  id: string;
  name?: string;
  /** Name of the API key that submitted it (`anonymous` when the API runs open). */
  owner?: string;
  status: JobStatus;
  progress: JobProgress;
  /**
   * One entry per finished epoch (per member for ensembles), at most MAX_EPOCH_METRICS: beyond
   * that only epochs 1, 1+k, 1+2k… of each member are kept, k = `metricsEvery` (doubled each time
   * the bound is reached again).
   */
  metrics: EpochMetrics[];
  /** k above: set once the history has been thinned (k > 1). */
  metricsEvery?: number;
  /** The latest epoch reported (kept whatever the thinning). */
  lastEpoch?: EpochMetrics;
  experiment: Experiment;
  modelId?: string;
  error?: string;
  /** How many times a worker has started this job (resumes included). */
  attempts: number;
  /**
   * Workers that stopped without handing the job back (killed, out of memory, lost their lock)
   * while it ran; at JOB_MAX_WORKER_DEATHS the job fails instead of being tried again.
   */
  workerDeaths?: number;
  /** Set when a worker resumed from a checkpoint: the epochs already done then. */
  resumedFromEpoch?: number;
  /** A cancel was asked for while the job was running; it stops at the next mini-batch. */
  cancelRequested?: boolean;
  /** The engine backend the job runs on: the one it asked for, else the worker's, set when a worker starts it. */
  backend?: EngineBackend;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
};

/** What lists show of a job: no metric history and no spec, the last epoch's figures instead. */
export type JobSummary = Omit<JobRecord, 'metrics' | 'experiment' | 'metricsEvery'> & {
  preset?: string;
  members?: number;
};

export function toSummary(r: JobRecord): JobSummary {
  const { metrics: _m, experiment, metricsEvery: _k, ...rest } = r;
  return {
    ...rest,
    ...(experiment.preset !== undefined ? { preset: experiment.preset } : {}),
    ...(experiment.ensemble ? { members: experiment.ensemble.size } : {}),
  };
}

export type JobEndType = 'completed' | 'failed' | 'cancelled';

/** What GET /v1/jobs/:id/events streams. */
export type JobEvent =
  | { type: 'epoch'; jobId: string; metrics: EpochMetrics }
  | { type: 'progress'; jobId: string; progress: JobProgress }
  | { type: 'status'; jobId: string; status: JobStatus }
  | { type: JobEndType; jobId: string; job: JobRecord };

export const isEndEvent = (e: JobEvent): e is Extract<JobEvent, { type: JobEndType }> =>
  e.type === 'completed' || e.type === 'failed' || e.type === 'cancelled';
