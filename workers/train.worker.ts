// A training worker process (`npm run start:worker`): takes jobs from Redis, trains them with
// the engine, stores the models. Start as many as you like, on any host that reaches Redis
// and the shared DATA_DIR. SIGTERM/SIGINT: running jobs stop at a mini-batch boundary, are
// checkpointed and go back to the queue for another worker to resume.
import { mkdir } from 'node:fs/promises';
import { loadConfigOrExit } from '../src/config/env.ts';
import { assertRedisReachable, createRedis, redactUrl, TrainingConsumer, WorkerHeartbeat } from '../src/queue/index.ts';
import { JobRecordRepository } from '../src/queue/job-record.repository.ts';
import { SweepConsumer } from '../src/queue/sweep-consumer.ts';
import { SweepFlow } from '../src/queue/sweep-flow.ts';
import { SweepCoordinator } from '../src/sweeps/sweep-coordinator.ts';
import { SweepRepository } from '../src/sweeps/sweep.repository.ts';
import { AliasRepository } from '../src/store/alias.repository.ts';
import { CheckpointRepository, dropCheckpointOnEnd } from '../src/store/checkpoint.repository.ts';
import { ModelRepository } from '../src/store/model.repository.ts';
import { onParentGone } from '../src/process/parent-watch.ts';
import { createLogger, logFn } from '../src/observability/logger.ts';
import { createBackendResolver, createTrainProcessor } from './train.processor.ts';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const log = logFn(createLogger('worker', config));
  try {
    await assertRedisReachable(config.REDIS_URL);
  } catch (err) {
    console.error(`worker: ${(err as Error).message}`);
    process.exit(1);
  }
  await mkdir(config.DATA_DIR, { recursive: true });
  const redis = createRedis(config.REDIS_URL, 'worker', 'nndl-store');
  redis.on('error', (e: Error) => log('redis error', { error: e.message }));
  const prefix = config.QUEUE_PREFIX;
  const aliases = new AliasRepository({ redis, prefix });
  const checkpoints = new CheckpointRepository({ dataDir: config.DATA_DIR });
  const processor = createTrainProcessor({
    config,
    models: new ModelRepository({ dataDir: config.DATA_DIR, redis, prefix }),
    aliases,
    checkpoints,
  });
  const consumer = new TrainingConsumer({
    config, process: processor, log,
    resolveBackend: createBackendResolver(config),
    // a job that failed or was cancelled leaves no checkpoint behind (nobody will resume it)
    hooks: dropCheckpointOnEnd(checkpoints),
  });
  // sweeps: whichever worker takes a finished wave plans the next one
  const flow = new SweepFlow(config, checkpoints);
  const coordinator = new SweepCoordinator({
    redis, prefix, flow, aliases, checkpoints, log,
    sweeps: new SweepRepository(redis, prefix, config.JOB_RETENTION_AGE_S),
    records: new JobRecordRepository(redis, prefix, { ageSeconds: config.JOB_RETENTION_AGE_S, count: config.JOB_RETENTION_COUNT, maxEpochMetrics: config.MAX_EPOCH_METRICS }),
  });
  const sweepConsumer = new SweepConsumer({ config, advance: (step) => coordinator.advance(step), log });
  // what the container healthcheck (scripts/worker-health.ts) looks for
  const heartbeat = new WorkerHeartbeat(redis, prefix, { service: 'worker', backends: config.WORKER_BACKENDS });

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      log('second signal; exiting at once', { signal });
      process.exit(1);
    }
    stopping = true;
    log('shutting down', { signal });
    // Whatever Redis does (down, retrying forever), we are gone within the grace period: a job
    // not handed back by then is picked up again once its lock lapses (a worker death).
    const deadline = setTimeout(() => {
      log('shutdown took longer than SHUTDOWN_GRACE_MS; exiting', { graceMs: config.SHUTDOWN_GRACE_MS });
      process.exit(1);
    }, config.SHUTDOWN_GRACE_MS);
    deadline.unref();
    Promise.all([consumer.shutdown(), sweepConsumer.shutdown()])
      .then(() => flow.close())
      .then(() => heartbeat.stop())
      .then(() => redis.quit())
      .then(() => {
        log('worker stopped');
        process.exit(0);
      })
      .catch((err: Error) => {
        log('shutdown failed', { error: err.message });
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // Started by src/main.ts: if it goes away, even SIGKILLed, so do we (after handing our job back).
  onParentGone(() => stop('parent exited'));

  await consumer.start();
  await sweepConsumer.start();
  await heartbeat.start();
  void processor.warm().then((ok) => log(ok ? 'MNIST loaded' : 'MNIST not loaded yet; the first job will retry'));
  log('worker started', { redis: redactUrl(config.REDIS_URL), prefix, dataDir: config.DATA_DIR, threads: config.ENGINE_THREADS });
}

main().catch((err: Error) => {
  console.error(`worker: ${err.stack ?? err.message}`);
  process.exit(1);
});
