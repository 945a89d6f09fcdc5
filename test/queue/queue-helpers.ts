// Shared by the queue, worker and jobs API tests: unique prefixes, temp data dirs, worker
// processes, Redis cleanup and small experiments.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { loadConfig, type Config } from '../../src/config/env.ts';
import { wipePrefix } from '../fixtures/redis.ts';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export function uniquePrefix(name: string): string {
  return `test-${name}-${randomUUID().slice(0, 8)}`;
}

export function testConfig(prefix: string, dataDir: string, extra: Record<string, string> = {}): Config {
  return loadConfig({
    REDIS_URL,
    QUEUE_PREFIX: prefix,
    DATA_DIR: dataDir,
    MNIST_DIR: process.env.MNIST_DIR,
    LOG_LEVEL: 'silent',
    JOB_LOCK_MS: '2000',
    JOB_STALLED_INTERVAL_MS: '1000',
    ENGINE_THREADS: '1',
    ...extra,
  });
}

export async function tempDataDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'nndl-test-'));
}

/** Deletes every Redis key under the prefix (tests leave nothing behind). */
export async function cleanRedis(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    await wipePrefix(redis, prefix);
  } finally {
    redis.disconnect();
  }
}

export async function cleanup(prefix: string, dataDir: string): Promise<void> {
  await cleanRedis(prefix);
  await rm(dataDir, { recursive: true, force: true });
}

/** A small, fast job: ch1-mlp30 on a slice of MNIST. */
export function smallJob(overrides: { epochs?: number; trainSize?: number; validationSize?: number; name?: string } = {}) {
  return {
    ...(overrides.name ? { name: overrides.name } : {}),
    preset: 'ch1-mlp30',
    training: { epochs: overrides.epochs ?? 2, miniBatchSize: 10, eta: 3.0, lambda: 0 },
    data: { trainSize: overrides.trainSize ?? 3000, validationSize: overrides.validationSize ?? 500, expand: false },
  };
}

export type WorkerProcess = { child: ChildProcess; output: () => string; exited: Promise<number | null> };

/** Starts `workers/train.worker.ts` as a real process with the test's settings. */
export function startWorker(config: Config, extraEnv: Record<string, string> = {}): WorkerProcess {
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    REDIS_URL: config.REDIS_URL,
    QUEUE_PREFIX: config.QUEUE_PREFIX,
    DATA_DIR: config.DATA_DIR,
    JOB_LOCK_MS: String(config.JOB_LOCK_MS),
    JOB_STALLED_INTERVAL_MS: String(config.JOB_STALLED_INTERVAL_MS),
    ENGINE_THREADS: String(config.ENGINE_THREADS),
    JOB_ATTEMPTS: String(config.JOB_ATTEMPTS),
    ...(config.MNIST_DIR ? { MNIST_DIR: config.MNIST_DIR } : {}),
    ...extraEnv,
  };
  const child = spawn(process.execPath, ['--import', 'tsx', 'workers/train.worker.ts'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

/** Resolves when the worker logs a line containing `text` (e.g. "worker ready"). */
export async function waitForOutput(w: WorkerProcess, text: string, timeoutMs = 30_000): Promise<void> {
  await waitFor(async () => w.output().includes(text), timeoutMs, `worker output "${text}"\n${w.output()}`);
}

export async function stopWorker(w: WorkerProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill(signal);
  await w.exited;
}

/** Polls until `check` returns a truthy value; fails with `what` after the deadline. */
export async function waitFor<T>(check: () => Promise<T | null | undefined | false>, timeoutMs: number, what: string, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
