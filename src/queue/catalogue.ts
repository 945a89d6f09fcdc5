// The one typed catalogue of queues, job names and payloads. Producers and consumers
// both go through it, so a job name can never be paired with the wrong payload.
import type { Experiment } from '../engine/index.ts';

export const QUEUES = {
  training: 'training',
} as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

/** Payload of a training job: the fully resolved experiment (validated before enqueueing). */
export type TrainPayload = {
  /** Our id; also BullMQ's jobId so both sides agree. */
  jobId: string;
  name?: string;
  experiment: Experiment;
};

/** Every job name of the training queue tied to its payload type. */
export type TrainingJob = { name: 'train'; data: TrainPayload };

export type TrainingJobName = TrainingJob['name'];
export type PayloadOf<N extends TrainingJobName> = Extract<TrainingJob, { name: N }>['data'];

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
    expiry: `${prefix}:jobs:expiry`,
    seq: `${prefix}:jobs:seq`,
    eventsChannel: `${prefix}:jobs:events`,
    cancelChannel: `${prefix}:jobs:cancel`,
  };
}
export type QueueKeys = ReturnType<typeof queueKeys>;
