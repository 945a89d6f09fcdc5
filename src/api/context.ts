// What the routes share, built once per app by buildApp.
import type { Redis } from 'ioredis';
import type { Config } from '../config/env.ts';
import type { ServiceMetrics } from '../observability/metrics.ts';
import type { TrainingQueue } from '../queue/index.ts';
import type { AliasRepository } from '../store/alias.repository.ts';
import type { ModelRepository } from '../store/model.repository.ts';
import type { ModelCache } from './predict/model-cache.ts';
import type { ImageCpuBudget } from './predict/image-cpu-budget.ts';
import type { PredictAdmission } from './predict/predict-admission.ts';
import type { PredictService } from './predict/predict-service.ts';

export type AppContext = {
  config: Config;
  redis: Redis;
  models: ModelRepository;
  aliases: AliasRepository;
  cache: ModelCache;
  predict: PredictService;
  /** The predict queue's bound (PREDICT_QUEUE_MAX). */
  admission: PredictAdmission;
  /** Each caller's estimated image-decoding CPU per minute (RATE_LIMIT_PREDICT_IMAGE_MS_PER_MIN). */
  imageBudget: ImageCpuBudget;
  metrics: ServiceMetrics;
  queue: TrainingQueue;
};
