// Prometheus metrics for one app instance (its own registry, so tests can build many apps).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type JobCounts = Record<string, number>;

export type MetricsSources = {
  /** Jobs by state, read at scrape time (TrainingQueue.counts()). */
  jobCounts?: () => Promise<JobCounts>;
  /** Training images/s of the running jobs' latest epochs, read at scrape time. */
  trainingImagesPerSecond?: () => Promise<number>;
  /** The predict queue now: instances admitted, its bound, requests shed since start. */
  predictQueue?: () => { pending: number; max: number; shed: number };
  /** What the predict model cache holds now. */
  modelCache?: () => { bytes: number; models: number };
};

/**
 * A gauge with one label, read at scrape time: one series per key of what `read` returns
 * (label value → number); when it returns null (a source that failed) the series keep their last values.
 */
function labelledGauge<L extends string>(
  registers: Registry[],
  name: string,
  help: string,
  label: L,
  read: () => Record<string, number> | null | Promise<Record<string, number> | null>,
): void {
  const gauge: Gauge<L> = new Gauge({
    name,
    help,
    labelNames: [label],
    registers,
    async collect() {
      const values = await read();
      if (!values) return;
      for (const [key, n] of Object.entries(values)) gauge.set({ [label]: key } as Record<L, string>, n);
    },
  });
}

export class ServiceMetrics {
  readonly registry = new Registry();
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  readonly predictions: Counter<'model'>;
  readonly predictBatchSize: Histogram;
  readonly predictLatency: Histogram;
  readonly predictAbandoned: Counter<'stage'>;
  private readonly engineRate: Gauge<'source'>;
  // predicted images in the last window, for a predict images/s figure
  private readonly window: { at: number; n: number }[] = [];
  private static readonly WINDOW_MS = 10_000;

  constructor(sources: MetricsSources = {}) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'nndl_' });
    this.httpDuration = new Histogram({
      name: 'nndl_http_request_duration_seconds',
      help: 'HTTP request duration by route, method and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.predictions = new Counter({
      name: 'nndl_predictions_total',
      help: 'Digits predicted (one per instance)',
      labelNames: ['model'],
      registers,
    });
    this.predictBatchSize = new Histogram({
      name: 'nndl_predict_batch_size',
      help: 'Instances per engine predict call after micro-batching',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
      registers,
    });
    this.predictLatency = new Histogram({
      name: 'nndl_predict_engine_seconds',
      help: 'Duration of one engine predict call',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
      registers,
    });
    this.predictAbandoned = new Counter({
      name: 'nndl_predict_abandoned_total',
      help: 'Predict requests whose client went away, by the stage where the work stopped (decode, enqueue)',
      labelNames: ['stage'],
      registers,
    });
    if (sources.predictQueue) {
      const predictQueue = sources.predictQueue;
      labelledGauge(registers, 'nndl_predict_queue', 'Predict queue: instances admitted now (pending) and the bound (max, PREDICT_QUEUE_MAX)', 'what', () => {
        const { pending, max } = predictQueue();
        return { pending, max };
      });
      const shed: Gauge = new Gauge({
        name: 'nndl_predict_shed_total',
        help: 'Predict requests refused with 503 because the predict queue was full',
        registers,
        collect() {
          shed.set(predictQueue().shed);
        },
      });
    }
    const predictRate = () => this.predictRate();
    this.engineRate = new Gauge({
      name: 'nndl_engine_images_per_second',
      help: 'Engine throughput: training (running jobs, last epoch) and predict (last 10 s)',
      labelNames: ['source'],
      registers,
      // prom-client calls collect with the gauge as `this`
      async collect(this: Gauge<'source'>) {
        this.set({ source: 'predict' }, predictRate());
        if (sources.trainingImagesPerSecond) {
          this.set({ source: 'training' }, await sources.trainingImagesPerSecond().catch(() => 0));
        }
      },
    });
    if (sources.modelCache) {
      const modelCache = sources.modelCache;
      labelledGauge(registers, 'nndl_model_cache', 'Models loaded for predict: bytes held and number of models (bounded by MODEL_CACHE_BYTES)', 'what', () => {
        const { bytes, models } = modelCache();
        return { bytes, models };
      });
    }
    if (sources.jobCounts) {
      const jobCounts = sources.jobCounts;
      labelledGauge(registers, 'nndl_jobs', 'Training jobs by state', 'state', () => jobCounts().catch(() => null));
    }
  }

  recordPredictBatch(size: number, seconds: number): void {
    this.predictBatchSize.observe(size);
    this.predictLatency.observe(seconds);
    const now = Date.now();
    this.window.push({ at: now, n: size });
    this.trim(now);
  }

  private trim(now: number): void {
    while (this.window.length > 0 && now - this.window[0]!.at > ServiceMetrics.WINDOW_MS) this.window.shift();
  }

  predictRate(): number {
    const now = Date.now();
    this.trim(now);
    const n = this.window.reduce((s, w) => s + w.n, 0);
    return n / (ServiceMetrics.WINDOW_MS / 1000);
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
