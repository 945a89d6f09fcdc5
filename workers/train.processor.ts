// What a worker does with one training job: engine + store. The queue bookkeeping (status,
// events, retries, the cancel/interrupt signal) is src/queue/training-consumer.ts's part.
import type { Config } from '../src/config/env.ts';
import {
  assertWithinBudgets,
  BudgetError,
  decodeCheckpoint,
  encodeCheckpoint,
  jobBudgets,
  loadMnist,
  splitDataAsync,
  SpecError,
  train,
  validateExperiment,
  type Checkpoint,
  type Experiment,
  type Mnist,
} from '../src/engine/index.ts';
import { NonRetryableError, type TrainContext, type TrainOutcome } from '../src/queue/index.ts';
import type { AliasRepository } from '../src/store/alias.repository.ts';
import type { CheckpointRepository } from '../src/store/checkpoint.repository.ts';
import type { ModelRepository } from '../src/store/model.repository.ts';

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
    }).catch((err: unknown) => {
      mnist = null; // a later job may find the data (e.g. after a mirror came back)
      throw err;
    });
    return mnist;
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

    let checkpoint: Checkpoint | undefined;
    const saved = await checkpoints.load(ctx.jobId);
    if (saved) {
      try {
        checkpoint = decodeCheckpoint(saved);
      } catch (err) {
        ctx.log('checkpoint unreadable; starting over', { error: (err as Error).message });
      }
    }
    if (checkpoint) {
      const fromEpoch = epochsDone(checkpoint, experiment);
      await ctx.markResumed(fromEpoch);
      ctx.log('resuming from checkpoint', { fromEpoch });
    }

    const split = await splitDataAsync(await data(), experiment.data);
    const result = await train(experiment, {
      data: split,
      threads,
      maxThreads: config.ENGINE_THREADS, // a checkpoint from a worker with more threads continues on ours
      backend: ctx.backend,
      ...(checkpoint ? { checkpoint } : {}),
      signal: ctx.signal,
      onEpoch: async (metrics, ckpt) => {
        // Metrics first, then the checkpoint: a kill in between redoes the epoch, and the
        // redone epoch's metrics replace these (they are keyed by member and epoch).
        await ctx.reportEpoch(metrics);
        await checkpoints.save(ctx.jobId, encodeCheckpoint(ckpt));
      },
      onProgress: (p) => ctx.reportProgress(p),
    });

    if (result.status === 'completed') {
      const record = await models.save(result.model, {
        jobId: ctx.jobId,
        ...(ctx.payload.name ? { name: ctx.payload.name } : {}),
        ...(ctx.payload.owner ? { owner: ctx.payload.owner } : {}),
      });
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
    await checkpoints.save(ctx.jobId, encodeCheckpoint(result.checkpoint));
    ctx.log('job interrupted; checkpoint saved for the next worker');
    return { status: 'interrupted' };
  };
  return Object.assign(processor, { warm: () => data().then(() => true, () => false) });
}

/** Whole epochs (over all ensemble members) a checkpoint has behind it. */
function epochsDone(c: Checkpoint, e: Experiment): number {
  const member = c.member ?? 0;
  return member * e.training.epochs + c.epoch;
}
