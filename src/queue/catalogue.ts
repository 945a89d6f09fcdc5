// The one typed catalogue of queues, job names and payloads. Producers and consumers
// both go through it, so a job name can never be paired with the wrong payload.
import type { EngineBackend, Experiment } from '../engine/index.ts';

// Jobs that name no engine backend go to `training`, which every worker consumes (it runs them on
// its ENGINE_BACKEND); a job naming one goes to that backend's queue, consumed only by workers
// that list it in WORKER_BACKENDS. So a worker never takes a job it cannot serve.
export const QUEUES = {
  training: 'training',
  trainNative: 'train-native',
  trainTfjs: 'train-tfjs',
  /** A sweep's waves: each a parent job whose children are the wave's trials (a BullMQ flow). */
  sweeps: 'sweeps',
} as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

/** The queue a job goes to: its backend's own queue, or the shared one when it names none. */
export function trainingQueueFor(backend: EngineBackend | undefined): QueueName {
  return backend === 'native' ? QUEUES.trainNative : backend === 'tfjs' ? QUEUES.trainTfjs : QUEUES.training;
}

/** Queues a worker serving these backends consumes: the shared one, then each backend's own. */
export function trainingQueuesServed(backends: readonly EngineBackend[]): QueueName[] {
  return [QUEUES.training, ...backends.map(trainingQueueFor)];
}

/** Payload of a training job: the fully resolved experiment (validated before enqueueing). */
export type TrainPayload = {
  /** Our id; also BullMQ's jobId so both sides agree. */
  jobId: string;
  name?: string;
  /** Name of the API key that submitted it (`anonymous` when the API runs open); its model gets it too. */
  owner?: string;
  experiment: Experiment;
  /** Set for a sweep's trial: the sweep it belongs to. */
  sweepId?: string;
  /** Keep the last checkpoint after completing (a halving trial that may be promoted resumes from it). */
  keepCheckpoint?: boolean;
};

/** Payload of a sweep's wave job: run once every trial of wave `step` has finished. */
export type SweepStepPayload = { sweepId: string; step: number };

/** Every job name of the training queue tied to its payload type. */
export type TrainingJob = { name: 'train'; data: TrainPayload };

export type TrainingJobName = TrainingJob['name'];

/** What a finished train job returns to BullMQ (kept small: the record holds the rest). */
export type TrainResult = { modelId: string } | { cancelled: true };

/** Redis key layout under the configured prefix, in one place. */
export function queueKeys(prefix: string) {
  return {
    record: (id: string) => `${prefix}:job:${id}`,
    metrics: (id: string) => `${prefix}:job:${id}:metrics`,
    cancelFlag: (id: string) => `${prefix}:job:${id}:cancel`,
    all: `${prefix}:jobs:all`,
    byStatus: (status: string) => `${prefix}:jobs:status:${status}`,
    /** zset of one owner's jobs by creation sequence (key names are [A-Za-z0-9_.-] only) */
    byOwner: (owner: string) => `${prefix}:jobs:owner:${owner}`,
    /** set of one owner's jobs that were queued or running when last looked at */
    ownerActive: (owner: string) => `${prefix}:jobs:owner:${owner}:active`,
    expiry: `${prefix}:jobs:expiry`,
    seq: `${prefix}:jobs:seq`,
    eventsChannel: `${prefix}:jobs:events`,
    cancelChannel: `${prefix}:jobs:cancel`,
    sweep: (id: string) => `${prefix}:sweep:${id}`,
    /** zset of every sweep by creation time (ms) */
    sweepsAll: `${prefix}:sweeps:all`,
  };
}
export type QueueKeys = ReturnType<typeof queueKeys>;
