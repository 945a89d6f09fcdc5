// The sweep figures of the README, run through the API: the real app on an ephemeral port, two real
// worker processes (ENGINE_THREADS=1 each), a throwaway Redis prefix and data directory. Runs the
// book's η sweep (the ch3-eta preset at full size: 3 trials × 30 epochs × 50,000 images) and a
// successive-halving sweep, and prints for each one JSON line: wall time, trials, best trial, its
// model's test accuracy; for the η sweep also each η's training cost per epoch (the book's chart).
// Usage: MNIST_DIR=../shared/mnist npm run bench:sweeps [-- --only eta|halving]
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config/env.ts';

const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
const SWEEPS: { label: string; body: Record<string, unknown> }[] = [
  { label: 'eta', body: { name: 'ch3 η', preset: 'ch3-eta' } },
  {
    label: 'halving',
    body: {
      name: 'halving η, λ, batch',
      base: { preset: 'ch3-mlp30-ce', data: { validationSize: 10_000 } },
      space: {
        'training.eta': { logUniform: [0.01, 10] },
        'training.lambda': { values: [0, 1, 5] },
        'training.miniBatchSize': { intRange: [5, 50] },
      },
      strategy: { type: 'halving', trials: 27, seed: 7, keep: 1 / 3, rungs: [{ epochs: 1, trainSize: 5000 }, { epochs: 3, trainSize: 20_000 }, { epochs: 10, trainSize: 50_000 }] },
      concurrency: 2,
    },
  },
];

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'nndl-sweep-figures-'));
  const prefix = `nndl-sweep-figures-${randomBytes(3).toString('hex')}`;
  const env = { ...process.env, QUEUE_PREFIX: prefix, DATA_DIR: dataDir, ENGINE_THREADS: '1', LOG_LEVEL: 'warn', MAX_SWEEP_IMAGE_STEPS: '1000000000' };
  const config = loadConfig(env);
  const app = await buildApp({ config });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  const base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  const workers: ChildProcess[] = [0, 1].map(() => spawn(process.execPath, ['--import', 'tsx', 'workers/train.worker.ts'], { env, stdio: ['ignore', 'ignore', 'inherit'] }));
  const api = async (path: string, body?: unknown) => {
    const res = await fetch(base + path, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a report script reading JSON answers by hand
    const json = await res.json() as Record<string, any>;
    if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  try {
    for (const s of SWEEPS.filter((x) => !only || x.label === only)) {
      const started = performance.now();
      const created = await api('/v1/sweeps', s.body);
      let sweep = created;
      while (sweep.status === 'running' || sweep.trials.some((t: { status: string }) => ['queued', 'running'].includes(t.status))) {
        await new Promise((r) => setTimeout(r, 500));
        sweep = await api(`/v1/sweeps/${created.id}`);
      }
      const wallSeconds = (performance.now() - started) / 1000;
      const model = sweep.best?.modelId ? await api(`/v1/models/${sweep.best.modelId}`) : null;
      const out: Record<string, unknown> = {
        sweep: s.label, status: sweep.status, wallSeconds: +wallSeconds.toFixed(1), trials: sweep.trials.length,
        trialsPerRung: Object.values(sweep.trials.reduce((n: Record<number, number>, t: { rung: number }) => ({ ...n, [t.rung]: (n[t.rung] ?? 0) + 1 }), {})),
        imageStepsBound: sweep.imageSteps, best: sweep.best, bestTestAccuracy: model?.testAccuracy ?? null,
      };
      if (s.label === 'eta') {
        out.trainingCostPerEpoch = Object.fromEntries(await Promise.all(sweep.trials.map(async (t: { jobId: string; params: Record<string, number> }) => {
          const job = await api(`/v1/jobs/${t.jobId}`);
          return [`eta=${t.params['training.eta']}`, job.metrics.map((m: { trainingCost: number }) => +m.trainingCost.toFixed(4))];
        })));
        out.validationAccuracy = Object.fromEntries(sweep.trials.map((t: { params: Record<string, number>; validationAccuracy: number }) => [`eta=${t.params['training.eta']}`, t.validationAccuracy]));
      }
      console.log(JSON.stringify(out));
    }
  } finally {
    for (const w of workers) w.kill('SIGTERM');
    await Promise.all(workers.map((w) => new Promise((r) => (w.exitCode !== null ? r(null) : w.on('exit', r)))));
    await app.close();
    const redis = new Redis(config.REDIS_URL);
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    redis.disconnect();
    await rm(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: Error) => {
  console.error(err.stack ?? err.message);
  process.exit(1);
});
