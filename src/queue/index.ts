// The queue module's public surface (the rest of the service imports from here only).
export { QUEUES, queueKeys, type TrainPayload, type TrainingJob, type TrainingJobName, type TrainResult } from './catalogue.ts';
export { JOB_STATUSES, JobProgressSchema, TERMINAL_STATUSES, isTerminal, isEndEvent, toSummary, type JobEvent, type JobProgress, type JobRecord, type JobStatus, type JobSummary } from './job-record.ts';
export { TrainingQueue, type TrainingQueueOptions } from './training-queue.ts';
export { JobLifecycle, SupersededError, type Fence, type JobLifecycleHooks, type Started } from './job-lifecycle.ts';
export { JobStop, type JobStopView, type StopReason } from './job-stop.ts';
export {
  NonRetryableError,
  TrainingConsumer,
  type TrainContext,
  type TrainOutcome,
  type TrainingConsumerOptions,
} from './training-consumer.ts';
export { assertRedisReachable, createRedis, isRedisUnavailable, redactUrl } from './redis-connection.ts';
export { WorkerHeartbeat, HEARTBEAT_MS, heartbeatPattern } from './worker-heartbeat.ts';
