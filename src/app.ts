// The service as a Fastify app: buildApp wires config, access control, Redis, the store, the
// training queue, the model cache and every route; app.close() releases all of it. No listening
// here (src/server.ts does that), so tests drive the very same app through supertest.
// buildApp refuses (AuthConfigError) a non-loopback HOST without API keys: see src/auth/.
import { readFileSync } from 'node:fs';
import Fastify, { type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { Redis } from 'ioredis';
import type { AppContext } from './api/context.ts';
import { setPreprocessStages } from './api/predict/normalize-image.ts';
import { ErrorResponse } from './api/schemas/common.schemas.ts';
import { registerSecurityHeaders } from './api/security-headers.ts';
import authPlugin from './auth/auth.plugin.ts';
import { decideAuth } from './auth/auth-mode.ts';
import { KeyStore } from './auth/key-store.ts';
import { frameworkErrors, installErrorHandlers } from './api/error-handler.ts';
import { httpServerOptions } from './api/http-server-options.ts';
import { registerOpenApi } from './api/openapi.ts';
import { registerRateLimits } from './api/rate-limit.ts';
import { ModelCache } from './api/predict/model-cache.ts';
import { PredictAdmission } from './api/predict/predict-admission.ts';
import { ImageCpuBudget } from './api/predict/image-cpu-budget.ts';
import { PredictService } from './api/predict/predict-service.ts';
import aliasesRoutes from './api/routes/aliases.routes.ts';
import jobsRoutes from './api/routes/jobs.routes.ts';
import ensemblesRoutes from './api/routes/ensembles.routes.ts';
import inferenceV2Routes from './api/routes/inference-v2.routes.ts';
import modelExamplesRoutes from './api/routes/model-examples.routes.ts';
import modelExportRoutes from './api/routes/model-export.routes.ts';
import modelFiltersRoutes from './api/routes/model-filters.routes.ts';
import modelsRoutes from './api/routes/models.routes.ts';
import opsRoutes from './api/routes/ops.routes.ts';
import predictRoutes from './api/routes/predict.routes.ts';
import presetsRoutes from './api/routes/presets.routes.ts';
import sweepsRoutes from './api/routes/sweeps.routes.ts';
import type { Config } from './config/env.ts';
import { jobBudgets } from './engine/index.ts';
import { loggerOptions, REQUEST_ID_HEADER } from './observability/logger.ts';
import { ServiceMetrics } from './observability/metrics.ts';
import { TrainingQueue } from './queue/index.ts';
import { AliasRepository } from './store/alias.repository.ts';
import { CheckpointRepository, dropCheckpointOnEnd } from './store/checkpoint.repository.ts';
import { ModelRepository } from './store/model.repository.ts';
import pagesRoutes from './web/pages.routes.ts';

export type BuildAppOptions = {
  config: Config;
  /** A queue to use instead of creating one (the app then leaves closing it to the caller). */
  queue?: TrainingQueue;
};

/**
 * zod validation, except that an empty query string (most requests) gets a copy of the result
 * computed once for `{}` instead of a zod pass per request.
 */
const queryAwareValidator: typeof validatorCompiler = (route) => {
  const validate = validatorCompiler(route);
  if (route.httpPart !== 'querystring') return validate;
  let empty: { value?: unknown; error?: unknown };
  try {
    empty = validate({}) as typeof empty;
  } catch {
    return validate;
  }
  if (empty.error || typeof empty.value !== 'object' || empty.value === null) return validate;
  const value = empty.value;
  return (data) => {
    for (const _ in data as object) return validate(data);
    return { value: { ...value } };
  };
};

/**
 * The API's training queue: a queued job cancelled here (one a stopped worker handed back)
 * leaves no checkpoint behind, as a job a worker ends does (src/queue/job-lifecycle.ts hooks).
 */
export function createTrainingQueue(config: Config): TrainingQueue {
  return new TrainingQueue({ config, hooks: dropCheckpointOnEnd(new CheckpointRepository({ dataDir: config.DATA_DIR })) });
}

const VERSION: string = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;

export async function buildApp(opts: BuildAppOptions): Promise<FastifyInstance> {
  const { config } = opts;
  setPreprocessStages(config.PREPROCESS_STAGES); // process-wide: the image preprocessing of predict
  // keys and the open/keys decision first: a refused configuration opens nothing
  const keys = await KeyStore.load(config);
  const auth = decideAuth(config, keys);
  const app = Fastify({
    ...loggerOptions(config),
    ...httpServerOptions(config),
    bodyLimit: config.BODY_LIMIT_BYTES,
    forceCloseConnections: 'idle',
    frameworkErrors,
  });
  app.setValidatorCompiler(queryAwareValidator);
  app.setSerializerCompiler(serializerCompiler);
  app.removeContentTypeParser('text/plain'); // nothing takes text; it gets a 415
  installErrorHandlers(app);
  // before any route: every route's rule is checked as it is registered
  await app.register(authPlugin, { mode: auth.mode, keys: auth.mode === 'keys' ? keys : null, errorSchema: ErrorResponse });
  if (auth.warn) app.log.warn({ auth: auth.mode }, auth.message);
  else app.log.info({ auth: auth.mode }, auth.message);
  if (auth.mode === 'keys') {
    keys.watch({
      onChange: (names) => app.log.info({ keys: names }, 'API keys reloaded'),
      onError: (err) => app.log.error({ err }, 'the keys file is invalid; keeping the keys loaded before'),
    });
  }
  await registerSecurityHeaders(app, { corsOrigins: config.CORS_ORIGINS });

  // auto-pipelining: concurrent requests' commands share socket writes
  const redis = new Redis(config.REDIS_URL, {
    connectionName: 'nndl-api',
    enableAutoPipelining: true,
    // while Redis is down a request fails fast (503) instead of hanging: one retry, and
    // reconnect attempts at most 0.5 s apart
    maxRetriesPerRequest: 1,
    retryStrategy: (times) => Math.min(times * 100, 500),
  });
  redis.on('error', (err) => app.log.debug({ err }, 'redis connection error')); // surfaced by /readyz
  const queue = opts.queue ?? createTrainingQueue(config);
  const models = new ModelRepository({ dataDir: config.DATA_DIR, redis, prefix: config.QUEUE_PREFIX });
  const aliases = new AliasRepository({ redis, prefix: config.QUEUE_PREFIX });
  const admission = new PredictAdmission(config.PREDICT_QUEUE_MAX);
  const metrics = new ServiceMetrics({
    jobCounts: () => queue.counts(),
    predictQueue: () => ({ pending: admission.pending, max: admission.max, shed: admission.shed }),
    modelCache: () => ({ bytes: cache.totalBytes, models: cache.size }),
    trainingImagesPerSecond: async () => {
      const running = await queue.list({ status: 'running', limit: 100, offset: 0 });
      return running.items.reduce((s, j) => s + (j.lastEpoch?.imagesPerSecond ?? 0), 0);
    },
  });
  const cache = new ModelCache({
    maxBytes: config.MODEL_CACHE_BYTES,
    load: (id) => models.load(id),
    threads: config.ENGINE_THREADS,
    scratchBytes: config.PREDICT_SCRATCH_BYTES,
    batching: {
      maxBatch: config.PREDICT_MAX_BATCH,
      maxWaitMs: config.PREDICT_MAX_WAIT_MS,
      onBatch: (size, seconds) => metrics.recordPredictBatch(size, seconds),
    },
  });
  const predict = new PredictService({
    models,
    aliases,
    cache,
    onPredicted: (modelId, n) => metrics.predictions.inc({ model: modelId }, n),
    resolveTtlMs: config.PREDICT_RESOLVE_TTL_MS,
  });
  const imageBudget = new ImageCpuBudget(redis, config.QUEUE_PREFIX, config.RATE_LIMIT_PREDICT_IMAGE_MS_PER_MIN);
  const ctx: AppContext = { config, redis, models, aliases, cache, predict, admission, imageBudget, metrics, queue };

  // callback-style hooks: no promise per request for work that is synchronous anyway
  app.addHook('onRequest', (req, reply, done) => {
    reply.header(REQUEST_ID_HEADER, req.id);
    done();
  });
  app.addHook('onResponse', (req, reply, done) => {
    const route = req.routeOptions.url ?? 'unmatched';
    metrics.httpDuration.observe(
      { method: req.method, route, status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    done();
  });
  app.addHook('onReady', async () => {
    // repair after a crash: drop old temp dirs and trash, finish interrupted deletes, index models
    // saved but never indexed; a corrupt model directory is logged and skipped
    const repaired = await models
      .reconcile({ log: (msg, extra) => app.log.warn(extra, msg) })
      .catch((err) => app.log.warn({ err }, 'store reconcile failed'));
    if (repaired && (repaired.indexed || repaired.removedTemp || repaired.finishedDeletes || repaired.skipped.length || repaired.aliasesRemoved.length)) {
      app.log.info(repaired, 'store reconciled');
    }
  });
  app.addHook('onClose', async () => {
    keys.close();
    await cache.close();
    if (!opts.queue) await queue.close();
    await redis.quit().catch(() => redis.disconnect());
  });

  await registerOpenApi(app, VERSION);
  await registerRateLimits(app, { redis, config }); // before the routes: it hooks each one
  await app.register(opsRoutes, { ctx });
  await app.register(presetsRoutes);
  await app.register(modelsRoutes, { ctx });
  await app.register(modelExportRoutes, { ctx });
  await app.register(modelFiltersRoutes, { ctx });
  await app.register(aliasesRoutes, { ctx });
  await app.register(predictRoutes, { ctx });
  await app.register(jobsRoutes, { queue, config, budgets: jobBudgets(config), maxJobsPerKey: config.MAX_JOBS_PER_KEY });
  await app.register(sweepsRoutes, { queue, config, redis });
  await app.register(modelExamplesRoutes, { ctx });
  await app.register(ensemblesRoutes, { ctx });
  await app.register(inferenceV2Routes, { ctx, version: VERSION, prefix: '/v2' });
  await app.register(pagesRoutes);
  return app;
}
