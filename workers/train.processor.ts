// What a worker does with one training job: engine + store. The queue bookkeeping (status,
// events, retries, the cancel/interrupt request) is src/queue/training-consumer.ts's part; this
// side turns its stop request into the engine's signal and picks the engine backend.
import type { Config } from '../src/config/env.ts';
import {
  assertWithinBudgets,
  BudgetError,
  decodeCheckpoint,
  encodeCheckpoint,
  jobBudgets,
  loadMnist,
  resolveEngineBackend,
  SIGNAL_CANCEL,
  SIGNAL_INTERRUPT,
  splitDataAsync,
  SpecError,
  train,
  validateExperiment,
  type Checkpoint,
  type EngineBackend,
  type Experiment,
  type Mnist,
} from '../src/engine/index.ts';
import { NonRetryableError, type JobStopView, type TrainContext, type TrainOutcome } from '../src/queue/index.ts';
import type { AliasRepository } from '../src/store/alias.repository.ts';
import type { CheckpointRepository } from '../src/store/checkpoint.repository.ts';
import { StoreFullError } from '../src/store/durable-fs.ts';
import { ModelDeletedError, type JobModel, type ModelRecord, type ModelRepository } from '../src/store/model.repository.ts';

export type TrainProcessorDeps = {
  config: Config;
  models: ModelRepository;
  aliases: AliasRepository;
  checkpoints: CheckpointRepository;
};

export type TrainProcessor = ((ctx: TrainContext) => Promise<TrainOutcome>) & {
  /** Loads MNIST ahead of the first job; false when it failed (that job will report why). */
  warm(): Promise<boolean>;
};

export function createTrainProcessor(deps: TrainProcessorDeps): TrainProcessor {
  const { config, models, aliases, checkpoints } = deps;
  // MNIST once per process: every job after the first starts training at once.
  let mnist: Promise<Mnist> | null = null;
  const data = () => {
    mnist ??= loadMnist({
      ...(config.MNIST_DIR ? { dir: config.MNIST_DIR } : {}),
      ...(config.MNIST_MIRROR ? { mirror: config.MNIST_MIRROR } : {}),
      download: {
        attempts: config.MNIST_DOWNLOAD_ATTEMPTS,
        timeoutMs: config.MNIST_DOWNLOAD_TIMEOUT_S * 1000,
        maxBytes: config.MNIST_DOWNLOAD_MAX_BYTES,
      },
    }).catch((err: unknown) => {
      mnist = null; // a later job may find the data (e.g. after a mirror came back)
      throw err;
    });
    return mnist;
  };

  const finishWithEarlierModel = async (ctx: TrainContext, earlier: JobModel): Promise<TrainOutcome> => {
    if (!ctx.payload.keepCheckpoint) await checkpoints.delete(ctx.jobId);
    if (earlier.state === 'deleted') {
      ctx.log('this job\'s model was saved by an earlier attempt and deleted since; not training it again', { modelId: earlier.id });
      return { status: 'completed', modelId: earlier.id };
    }
    if (await aliases.setIfAbsent('default', earlier.record.id)) ctx.log('model set as default', { modelId: earlier.record.id });
    ctx.log('model already saved by an earlier attempt of this job; completing without a second one', { modelId: earlier.record.id });
    return { status: 'completed', modelId: earlier.record.id };
  };

  const processor = async (ctx: TrainContext): Promise<TrainOutcome> => {
    let experiment: Experiment;
    try {
      // Validated and costed again here: the payload crossed Redis and may come from any producer.
      experiment = validateExperiment(ctx.payload.experiment);
      assertWithinBudgets(experiment, jobBudgets(config));
    } catch (err) {
      if (err instanceof SpecError || err instanceof BudgetError) throw new NonRetryableError(err.message);
      throw err;
    }
    // training.threads may lower this worker's ENGINE_THREADS, never raise it; the model records what ran.
    const asked = experiment.training.threads;
    const threads = Math.min(asked ?? config.ENGINE_THREADS, config.ENGINE_THREADS);
    if (asked !== undefined && asked > threads) {
      ctx.log('training.threads lowered to this worker\'s ENGINE_THREADS', { asked, threads });
      experiment = { ...experiment, training: { ...experiment.training, threads } };
    }

    // One model per job: an earlier attempt that saved it and died before the job was marked
    // completed (a redelivery) has nothing left to train.
    const earlier = await models.findForJob(ctx.jobId);
    if (earlier) return finishWithEarlierModel(ctx, earlier);

    let checkpoint: Checkpoint | undefined;
    try {
      const saved = await checkpoints.load(ctx.jobId);
      if (saved) checkpoint = decodeCheckpoint(saved);
    } catch (err) {
      // damaged on disk (checksum), cut short, or unreadable: never resumed, the job starts over
      ctx.log('checkpoint corrupt or unreadable; restarting the job from the start', { error: (err as Error).message });
      await checkpoints.delete(ctx.jobId).catch(() => {});
    }
    if (checkpoint) {
      const fromEpoch = epochsDone(checkpoint, experiment);
      await ctx.markResumed(fromEpoch);
      ctx.log('resuming from checkpoint', { fromEpoch });
    }

    const split = await splitDataAsync(await data(), experiment.data);
    const { signal, off } = engineSignal(ctx.stop);
    const result = await train(experiment, {
      data: split,
      threads,
      maxThreads: config.ENGINE_THREADS, // a checkpoint from a worker with more threads continues on ours
      backend: ctx.backend,
      ...(checkpoint ? { checkpoint } : {}),
      signal,
      onEpoch: async (metrics, ckpt) => {
        // Metrics first, then the checkpoint: a kill in between redoes the epoch, and the
        // redone epoch's metrics replace these (they are keyed by member and epoch).
        await ctx.reportEpoch(metrics);
        await failCleanlyWhenFull(checkpoints.save(ctx.jobId, encodeCheckpoint(ckpt)));
      },
      onProgress: (p) => ctx.reportProgress(p),
    }).finally(off);

    if (result.status === 'completed') {
      let record: ModelRecord;
      try {
        // keyed by the job: a second attempt that got here too gets the first one's model back
        record = await failCleanlyWhenFull(models.save(result.model, {
          jobId: ctx.jobId,
          ...(ctx.payload.name ? { name: ctx.payload.name } : {}),
          ...(ctx.payload.owner ? { owner: ctx.payload.owner } : {}),
        }));
      } catch (err) {
        if (err instanceof ModelDeletedError) return finishWithEarlierModel(ctx, { state: 'deleted', id: err.id });
        throw err;
      }
      // only ever set to a registered model (checked atomically): never to an orphan
      if (await aliases.setIfAbsent('default', record.id)) ctx.log('model set as default', { modelId: record.id });
      // a halving trial keeps its last checkpoint: if promoted, the next rung resumes from it
      if (!ctx.payload.keepCheckpoint) await checkpoints.delete(ctx.jobId);
      ctx.log('job completed', { modelId: record.id, testAccuracy: record.testAccuracy });
      return { status: 'completed', modelId: record.id };
    }
    if (result.status === 'cancelled') {
      await checkpoints.delete(ctx.jobId);
      ctx.log('job cancelled');
      return { status: 'cancelled' };
    }
    await failCleanlyWhenFull(checkpoints.save(ctx.jobId, encodeCheckpoint(result.checkpoint)));
    ctx.log('job interrupted; checkpoint saved for the next worker');
    return { status: 'interrupted' };
  };
  return Object.assign(processor, { warm: () => data().then(() => true, () => false) });
}

/**
 * The engine's signal for a job's stop request: an Int32Array on a SharedArrayBuffer that the
 * addon's threads read at each mini-batch boundary (SIGNAL_CANCEL or SIGNAL_INTERRUPT, the first
 * request's). `off` stops following the request.
 */
export function engineSignal(stop: JobStopView): { signal: Int32Array; off: () => void } {
  const signal = new Int32Array(new SharedArrayBuffer(4));
  const off = stop.onStop((reason) => Atomics.store(signal, 0, reason === 'cancel' ? SIGNAL_CANCEL : SIGNAL_INTERRUPT));
  return { signal, off };
}

/**
 * The worker's engine backend for a job: the one the job names, else ENGINE_BACKEND resolved once
 * per process (auto: tfjs when tfjs-node-gpu sees a GPU, else native).
 */
export function createBackendResolver(config: Pick<Config, 'ENGINE_BACKEND'>): (requested: EngineBackend | undefined) => Promise<EngineBackend> {
  let choice: Promise<EngineBackend> | null = null;
  return (requested) => {
    if (requested) return Promise.resolve(requested);
    choice ??= resolveEngineBackend(config.ENGINE_BACKEND);
    return choice;
  };
}

/** Disk full is not worth a retry: the job fails at once with the reason (the store stays as it was). */
async function failCleanlyWhenFull<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof StoreFullError) throw new NonRetryableError(err.message);
    throw err;
  }
}

/** Whole epochs (over all ensemble members) a checkpoint has behind it. */
function epochsDone(c: Checkpoint, e: Experiment): number {
  const member = c.member ?? 0;
  return member * e.training.epochs + c.epoch;
}
