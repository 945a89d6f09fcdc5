// One schema over process.env: validated once at boot, typed everywhere else.
import os from 'node:os';
import { z } from 'zod';
import { engineEnvShape } from './engine-env.ts';
import { DEFAULT_BUDGETS } from '../engine/budget.ts';
import { ApiKeyError, parseApiKeysEnv } from '../auth/api-keys.ts';
import { parseStages } from '../api/predict/stages/stage-names.ts';
import { estimatedImageMicros } from '../api/predict/image-cost.ts';

const int = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);
const MiB = 1024 * 1024;

export const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  // Interface the API listens on. Loopback by default: without keys the API runs open only
  // there; any other HOST needs API keys (or AUTH=none).
  HOST: z.string().min(1).default('127.0.0.1'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must start with redis:// or rediss://').default('redis://127.0.0.1:6379'),
  // Prefix for every Redis key (queues and the model index); tests use a unique one each.
  QUEUE_PREFIX: z.string().regex(/^[A-Za-z0-9_.:-]+$/, 'letters, digits, _ . : - only').default('nndl'),
  // DATA_DIR, MNIST_DIR, MNIST_MIRROR, NNDL_ADDON_PATH, NNDL_TFJS_BACKEND: read by the engine too
  ...engineEnvShape,
  ENGINE_THREADS: int(os.availableParallelism(), 1),
  // The bundled model (models/bundled/, checksummed) the API installs as `default` at its first start
  // on a store without a `default` alias, once per store; "off" installs nothing. A relative path is
  // taken from the project root.
  BUNDLED_MODEL_DIR: z.string().min(1).default('models/bundled'),
  // Engine backend for jobs that name none: auto = tfjs when tfjs-node-gpu sees a GPU, else native.
  ENGINE_BACKEND: z.enum(['native', 'tfjs', 'auto']).default('auto'),
  // Backends whose dedicated queues (train-native, train-tfjs) this worker consumes.
  WORKER_BACKENDS: z.string().regex(/^(native|tfjs)(,(native|tfjs))*$/, 'a comma list of native, tfjs').default('native,tfjs'),
  WORKER_CONCURRENCY: int(1, 1),
  // Times a job is tried when training throws (each retry resumes from its checkpoint).
  JOB_ATTEMPTS: int(5, 1),
  // A job whose worker dies under it (SIGKILL, out of memory) this many times fails
  // (`worker_died: ...`) instead of taking down every worker that picks it up in turn.
  JOB_MAX_WORKER_DEATHS: int(2, 1),
  // Training time one job may take, summed over its attempts (s); past it the job stops at a
  // mini-batch boundary and fails (`timeout: ...`). 0: no limit. At most ~23 days (a timer's range).
  JOB_TIMEOUT_S: z.coerce.number().int().min(0).max(2_000_000).default(172_800),
  // How long a stopping process (API or worker) may take to finish what it is doing; past it
  // it exits anyway, whatever Redis does. `npm start` waits this long plus 5 s for its children.
  SHUTDOWN_GRACE_MS: int(30_000, 100),
  JOB_LOCK_MS: int(30_000, 100),
  JOB_STALLED_INTERVAL_MS: int(30_000, 100),
  JOB_RETENTION_AGE_S: int(604_800, 1),
  JOB_RETENTION_COUNT: int(1000, 1),
  // Epoch entries kept in a job's metric history (an ensemble of 20 × 1000 epochs would make
  // 20,000): beyond it the history is thinned to every 2nd, 4th, … epoch of each member (first
  // epochs kept, an even sample of the whole curve); the latest epoch is always in lastEpoch.
  MAX_EPOCH_METRICS: int(10_000, 10),
  BODY_LIMIT_BYTES: int(5 * MiB, 1024),
  MAX_IMAGE_PIXELS: int(25_000_000, 1),
  // The pixels of one predict request's images, summed from their headers before decoding
  // (src/api/predict/pixel-budget.ts): ~1.3 s of decoding at most (a 25 MP PNG takes ~0.3 s).
  MAX_REQUEST_PIXELS: int(100_000_000, 1),
  // Optional image preprocessing stages (src/api/predict/stages/): "none" or a comma list;
  // empty: the measured defaults (src/api/README.md, "Preprocessing for photos").
  PREPROCESS_STAGES: z
    .string()
    .default('')
    .transform((v, ctx) => {
      try {
        return parseStages(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    }),
  MAX_INSTANCES: int(256, 1),
  PREDICT_MAX_BATCH: int(64, 1),
  PREDICT_MAX_WAIT_MS: int(2, 0),
  MODEL_CACHE_BYTES: int(268_435_456, 1),
  // How long predict trusts a resolved alias (e.g. `default`) before asking Redis again;
  // changes made through the same API instance apply at once.
  PREDICT_RESOLVE_TTL_MS: int(1000, 0),
  // Job budgets (src/engine/budget.ts): a job whose estimated cost exceeds one is refused at
  // submit (422 over_budget), by the worker and by `npm run train`. The defaults admit every preset.
  // Parameters of one network.
  MAX_JOB_PARAMS: int(DEFAULT_BUDGETS.MAX_JOB_PARAMS, 1),
  // Forward multiply-adds of one image through one network.
  MAX_JOB_MACS_PER_IMAGE: int(DEFAULT_BUDGETS.MAX_JOB_MACS_PER_IMAGE, 1),
  // Native scratch a job may hold per engine thread (mini-batch buffers, gradient, evaluation chunks).
  MAX_JOB_SCRATCH_BYTES: int(DEFAULT_BUDGETS.MAX_JOB_SCRATCH_BYTES, 1),
  // members × epochs × training images (× 5 when expanded).
  MAX_JOB_IMAGE_STEPS: int(DEFAULT_BUDGETS.MAX_JOB_IMAGE_STEPS, 1),
  // Native scratch one loaded model may hold to predict (all members and threads); its chunk sizes
  // follow from it. A model one image of which needs more cannot be served (and is refused at submit).
  PREDICT_SCRATCH_BYTES: int(DEFAULT_BUDGETS.PREDICT_SCRATCH_BYTES, 1),
  // Instances admitted to predict at once (decoding, queued in the micro-batchers, in an engine
  // call), across all models; beyond it a request is refused with 503 + Retry-After (shed load)
  // instead of the queue growing. At least MAX_INSTANCES, so any one valid request can pass.
  PREDICT_QUEUE_MAX: int(2048, 1),
  // HTTP timeouts, so a slow or stalled client cannot hold a socket: the whole request (headers
  // and body) must arrive within REQUEST_TIMEOUT_MS, its headers within HEADERS_TIMEOUT_MS (both
  // answered 408 and closed); an idle keep-alive connection is closed after KEEP_ALIVE_TIMEOUT_MS
  // (behind a load balancer: above its idle timeout); a socket with no traffic either way for
  // CONNECTION_TIMEOUT_MS is destroyed (above the SSE heartbeat, 15 s).
  REQUEST_TIMEOUT_MS: int(30_000, 1),
  HEADERS_TIMEOUT_MS: int(10_000, 1),
  KEEP_ALIVE_TIMEOUT_MS: int(5_000, 1),
  CONNECTION_TIMEOUT_MS: int(60_000, 1),
  // Requests per minute per caller (API key, else IP), counted in Redis across API instances;
  // beyond: 429 + Retry-After. 0 turns a budget off. Predict routes and job submits have their
  // own budgets; every other route shares RATE_LIMIT_PER_MIN (health, readiness, metrics exempt).
  RATE_LIMIT_PER_MIN: int(1200, 0),
  RATE_LIMIT_PREDICT_PER_MIN: int(6000, 0),
  RATE_LIMIT_SUBMIT_PER_MIN: int(60, 0),
  // Estimated CPU milliseconds of image decoding per caller and minute (images above 64×64 pixels,
  // estimated from their headers before decoding: image-cpu-budget.ts); beyond: 429 + Retry-After.
  // The default, half a core, is ~4,000 canvas drawings or ~230 12-megapixel photos a minute.
  RATE_LIMIT_PREDICT_IMAGE_MS_PER_MIN: int(30_000, 0),
  // Open job event streams (SSE) per API instance: in all, and per caller (API key, else IP);
  // beyond them 503 / 429 with Retry-After. Each holds a socket for as long as its job runs.
  SSE_MAX_STREAMS: int(1000, 1),
  SSE_MAX_STREAMS_PER_KEY: int(20, 1),
  // API keys, comma-separated `name:scope+scope:secret` (scopes predict, train, admin; secrets
  // of 32+ visible ASCII characters). Checked here so a bad entry stops the boot, named.
  API_KEYS: z.string().optional().superRefine((text, ctx) => {
    try {
      parseApiKeysEnv(text);
    } catch (err) {
      if (!(err instanceof ApiKeyError)) throw err;
      for (const problem of err.problems) ctx.addIssue({ code: 'custom', message: problem });
    }
  }),
  // JSON file of key hashes written by `npm run keys` (default: DATA_DIR/api-keys.json, read
  // when present; a file named here must exist). Re-read when it changes.
  API_KEYS_FILE: z.string().min(1).optional(),
  // keys: require a key when any is configured, and refuse a non-loopback HOST without one;
  // none: run open whatever HOST is (logged as a warning).
  AUTH: z.enum(['keys', 'none']).default('keys'),
  // Origins (scheme://host[:port], comma-separated) whose pages may call the API from a browser;
  // empty: no CORS headers at all (same-origin only).
  CORS_ORIGINS: z
    .string()
    .default('')
    .transform((s) => s.split(',').map((o) => o.trim()).filter((o) => o.length > 0))
    .pipe(z.array(z.string().regex(/^https?:\/\/([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?$/, 'each origin is scheme://host[:port], no path'))),
  // Queued + running jobs one key may have at once (429 beyond); also the most trials a sweep
  // may run at once (its concurrency).
  MAX_JOBS_PER_KEY: int(20, 1),
  // A sweep's total image-steps (epochs × training images, summed over its trials; halving counted
  // as if each promoted trial started over): above it POST /v1/sweeps is refused (422 over_budget).
  MAX_SWEEP_IMAGE_STEPS: int(500_000_000, 1),
}).superRefine((c, ctx) => {
  if (c.PREDICT_QUEUE_MAX < c.MAX_INSTANCES) {
    ctx.addIssue({ code: 'custom', path: ['PREDICT_QUEUE_MAX'], message: 'must be at least MAX_INSTANCES' });
  }
  if (c.RATE_LIMIT_PREDICT_IMAGE_MS_PER_MIN > 0 && c.RATE_LIMIT_PREDICT_IMAGE_MS_PER_MIN * 1000 < estimatedImageMicros(c.MAX_IMAGE_PIXELS)) {
    const need = Math.ceil(estimatedImageMicros(c.MAX_IMAGE_PIXELS) / 1000);
    ctx.addIssue({ code: 'custom', path: ['RATE_LIMIT_PREDICT_IMAGE_MS_PER_MIN'], message: `must be 0 or at least ${need} (one image of MAX_IMAGE_PIXELS)` });
  }
  if (c.MAX_REQUEST_PIXELS < c.MAX_IMAGE_PIXELS) {
    ctx.addIssue({ code: 'custom', path: ['MAX_REQUEST_PIXELS'], message: 'must be at least MAX_IMAGE_PIXELS' });
  }
  if (c.HEADERS_TIMEOUT_MS > c.REQUEST_TIMEOUT_MS) {
    ctx.addIssue({ code: 'custom', path: ['HEADERS_TIMEOUT_MS'], message: 'must not exceed REQUEST_TIMEOUT_MS' });
  }
});

export type Config = z.infer<typeof EnvSchema>;

export class ConfigError extends Error {
  constructor(readonly issues: { path: string; message: string }[]) {
    super('invalid configuration:\n' + issues.map((i) => `  ${i.path}: ${i.message}`).join('\n'));
    this.name = 'ConfigError';
  }
}

/** Parses the environment; empty strings count as unset so `FOO=` falls back to the default. */
export function loadConfig(env: NodeJS.ProcessEnv | Record<string, string | undefined> = process.env): Config {
  const cleaned: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') cleaned[k] = v;
  const parsed = EnvSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })));
  }
  return parsed.data;
}

/** For entry points: load or print a clear message and exit non-zero. */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  }
}
