// The three chaos scenarios; each starts its own cluster and returns one figure (a flat object
// printed as a JSON line): what was done to the service, what it lost, how it answered.
import { readFile } from 'node:fs/promises';
import { loadMnist } from '../../src/engine/index.ts';
import { Cluster, kill, sleep, waitFor } from './cluster.ts';
import { predictLoad, smallJob, submit, Tally, trainDefaultModel, waitAllEnded, type JobView } from './traffic.ts';

export type Figure = { name: string; count: number; lost: number; fiveHundreds: number; seconds: number } & Record<string, unknown>;

const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

async function aDigit(): Promise<number[]> {
  const mnist = await loadMnist(process.env.MNIST_DIR ? { dir: process.env.MNIST_DIR } : {});
  return Array.from(mnist.test.images.subarray(0, 784), (v) => round(v / 255, 3));
}

async function runningJobs(cluster: Cluster): Promise<JobView[]> {
  const r = await cluster.request('GET', '/v1/jobs?status=running&limit=100');
  return r.status === 200 ? (r.json.items as JobView[]) : [];
}

function epochsOf(j: JobView & { progress?: { epoch: number } }): number {
  return j.progress?.epoch ?? j.metrics?.length ?? 0;
}

/**
 * `kills` SIGKILLs of a random worker at random points while jobs train (each after that job's
 * first checkpoint), a fresh worker started after each; then every job must complete, the killed
 * ones resumed from their checkpoints, with one model per job.
 */
export async function workerKills(opts: { kills: number; jobs: number }): Promise<Figure> {
  const started = Date.now();
  // crash-loop protection would (rightly) fail a job killed under it repeatedly: this scenario
  // measures resumption, so it allows many deaths per job
  const cluster = await Cluster.start({ workers: 2, env: { JOB_MAX_WORKER_DEATHS: '1000', JOB_ATTEMPTS: '1000' } });
  const tally = new Tally();
  try {
    const ids: string[] = [];
    for (let i = 0; i < opts.jobs; i++) ids.push(await submit(cluster, smallJob(`kill-${i}`, 6, 50_000), tally));
    const hit = new Set<string>();
    let kills = 0;
    while (kills < opts.kills) {
      const running = await waitFor(async () => {
        const r = (await runningJobs(cluster)).filter((j) => epochsOf(j) >= 1);
        return r.length > 0 ? r : null;
      }, 120_000, 'a job with a checkpoint to be running').catch(() => null);
      if (!running) break; // everything finished: fewer kills than asked, reported below
      await sleep(Math.random() * 600);
      const live = cluster.liveWorkers();
      const victim = live[Math.floor(Math.random() * live.length)]!;
      await kill(victim, 'SIGKILL');
      kills++;
      for (const j of running) hit.add(j.id);
      await cluster.addWorker();
    }
    const final = await waitAllEnded(cluster, ids, 600_000);
    const completed = final.filter((j) => j?.status === 'completed');
    const interrupted = completed.filter((j) => j!.attempts >= 2);
    // a job running with a checkpoint on the worker that was killed must resume from it; one killed
    // before its first checkpoint (or picked up in the instant of the kill) rightly starts over
    const hitAfterCheckpoint = interrupted.filter((j) => hit.has(j!.id));
    const resumed = hitAfterCheckpoint.filter((j) => (j!.resumedFromEpoch ?? 0) >= 1);
    const models = await cluster.request('GET', '/v1/models?limit=500');
    const modelCount = Array.isArray(models.json?.items) ? models.json.items.length : Array.isArray(models.json) ? models.json.length : -1;
    return {
      name: 'worker-sigkill-during-training',
      count: kills,
      jobs: ids.length,
      completed: completed.length,
      lost: ids.length - completed.length,
      interruptedJobs: interrupted.length,
      interruptedAfterCheckpoint: hitAfterCheckpoint.length,
      resumedFromCheckpoint: resumed.length,
      // the ones that were not: what their records say, to tell a restart from a lost checkpoint
      notResumed: hitAfterCheckpoint.filter((j) => (j!.resumedFromEpoch ?? 0) < 1)
        .map((j) => ({ id: j!.id.slice(0, 8), attempts: j!.attempts, workerDeaths: j!.workerDeaths ?? 0, resumedFromEpoch: j!.resumedFromEpoch ?? null })),
      workerDeathsCounted: completed.reduce((n, j) => n + (j!.workerDeaths ?? 0), 0),
      models: modelCount,
      duplicateModels: modelCount >= 0 ? Math.max(0, modelCount - completed.length) : null,
      failures: final.filter((j) => j && j.status !== 'completed').map((j) => `${j!.id}: ${j!.status} ${j!.error ?? ''}`),
      fiveHundreds: tally.fiveHundreds,
      seconds: round((Date.now() - started) / 1000, 1),
    };
  } finally {
    await cluster.stop();
  }
}

/**
 * Redis SIGKILLed mid-training and mid-predict load, down for `downSeconds`, restarted from its
 * AOF: every job accepted (202) must still complete; while Redis is down the API answers 503
 * (never another 5xx) and it recovers without being restarted.
 */
export async function redisKill(opts: { downSeconds: number }): Promise<Figure> {
  const started = Date.now();
  const cluster = await Cluster.start({ workers: 2 });
  const submits = new Tally();
  try {
    await trainDefaultModel(cluster);
    const load = predictLoad(cluster, await aDigitCached(), 4);
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push(await submit(cluster, smallJob(`redis-${i}`, 10, 50_000), submits));
    await waitFor(async () => (await runningJobs(cluster)).some((j) => epochsOf(j) >= 1), 120_000, 'training to be under way');
    const before = { ...load.tally.byStatus };
    await kill(cluster.redis, 'SIGKILL');
    const downAt = Date.now();
    // while down: submits are refused (503), none of them may count as accepted
    let refusedWhileDown = 0;
    while (Date.now() - downAt < opts.downSeconds * 1000) {
      const r = await cluster.request('POST', '/v1/jobs', smallJob('while-down', 1, 1000)).catch(() => ({ status: 0, json: null }));
      submits.add(r.status);
      if (r.status === 202) ids.push(r.json.id as string); // accepted after all: it must not be lost either
      else refusedWhileDown++;
      await sleep(500);
    }
    const duringDown = diff(load.tally.byStatus, before);
    await cluster.startRedis();
    const upAt = Date.now();
    await waitFor(async () => {
      const ready = await fetch(`${cluster.apiUrl}/readyz`);
      const pred = await fetch(`${cluster.apiUrl}/v1/predict`, {
        method: 'POST', headers: cluster.headers({ 'content-type': 'application/json' }), body: JSON.stringify({ pixels: await aDigitCached() }),
      });
      return ready.ok && pred.ok;
    }, 120_000, 'the API to recover', 100);
    const recoverySeconds = (Date.now() - upAt) / 1000;
    await sleep(2000);
    await load.stop();
    const final = await waitAllEnded(cluster, ids, 600_000);
    const completed = final.filter((j) => j?.status === 'completed').length;
    return {
      name: 'redis-sigkill-restart-aof',
      count: 1,
      downSeconds: opts.downSeconds,
      jobsAccepted: ids.length,
      completed,
      lost: ids.length - completed,
      failures: final.filter((j) => !j || j.status !== 'completed').map((j) => (j ? `${j.id}: ${j.status} ${j.error ?? ''}` : 'record missing')),
      predictRequests: load.tally.total,
      // by status: 503 (try again) or 200 (served from the model cache without Redis)
      predictWhileDown: duringDown,
      submitsRefusedWhileDown: refusedWhileDown,
      recoverySeconds: round(recoverySeconds),
      fiveHundreds: load.tally.fiveHundreds + submits.fiveHundreds,
      seconds: round((Date.now() - started) / 1000, 1),
    };
  } finally {
    await cluster.stop();
  }
}

let digitCache: number[] | null = null;
async function aDigitCached(): Promise<number[]> {
  return (digitCache ??= await aDigit());
}

function diff(now: Record<string, number>, before: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(now).map(([k, v]) => [k, v - (before[k] ?? 0)]).filter(([, v]) => (v as number) > 0));
}

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return round(kb / 1024, 1);
}

/**
 * `seconds` of mixed traffic — predict load from 4 clients and a small training job every
 * `jobEverySeconds` — with the API's RSS and event-loop lag p99 sampled over the first and the
 * last minute (lag from the API's own /metrics, RSS from /proc).
 */
export async function soak(opts: { seconds: number; jobEverySeconds: number }): Promise<Figure> {
  const started = Date.now();
  const cluster = await Cluster.start({ workers: 1 });
  const submits = new Tally();
  try {
    await trainDefaultModel(cluster);
    const pid = cluster.api.child.pid!;
    const load = predictLoad(cluster, await aDigitCached(), 4);
    const ids: string[] = [];
    const window = Math.min(60, Math.max(5, opts.seconds / 5)) * 1000;
    const sampleWindow = async () => {
      await cluster.metric('nndl_nodejs_eventloop_lag_p99_seconds'); // resets the lag histogram
      const rss: number[] = [];
      const t0 = Date.now();
      while (Date.now() - t0 < window) {
        rss.push(await rssMiB(pid));
        await sleep(1000);
      }
      const lag = await cluster.metric('nndl_nodejs_eventloop_lag_p99_seconds');
      return { rssMiB: round(rss.reduce((a, b) => a + b, 0) / rss.length, 1), lagP99Ms: lag === null ? null : round(lag * 1000, 2) };
    };
    const soakUntil = started + opts.seconds * 1000;
    const jobs = (async () => {
      while (Date.now() < soakUntil - 30_000) {
        ids.push(await submit(cluster, smallJob(`soak-${ids.length}`, 3, 10_000), submits));
        await sleep(opts.jobEverySeconds * 1000);
      }
    })();
    await sleep(5000); // past start-up and the first model load
    const first = await sampleWindow();
    await sleep(Math.max(0, soakUntil - Date.now() - window));
    const last = await sampleWindow();
    await jobs;
    await load.stop();
    const final = await waitAllEnded(cluster, ids, 300_000);
    const completed = final.filter((j) => j?.status === 'completed').length;
    return {
      name: 'mixed-traffic-soak',
      count: load.tally.total,
      requestsPerSecond: round(load.tally.total / opts.seconds, 0),
      jobs: ids.length,
      completed,
      lost: ids.length - completed,
      rssStartMiB: first.rssMiB,
      rssEndMiB: last.rssMiB,
      rssGrowthPct: round(((last.rssMiB - first.rssMiB) / first.rssMiB) * 100, 1),
      eventLoopLagP99StartMs: first.lagP99Ms,
      eventLoopLagP99EndMs: last.lagP99Ms,
      statuses: load.tally.byStatus,
      fiveHundreds: load.tally.fiveHundreds + submits.fiveHundreds,
      seconds: round((Date.now() - started) / 1000, 1),
    };
  } finally {
    await cluster.stop();
  }
}
