// A worker whose Redis has gone away (SIGKILLed, here our own redis-server on a free port) must
// still stop on SIGTERM within SHUTDOWN_GRACE_MS, whatever its Redis client is doing (reconnecting
// forever, commands queued): no worker that outlives its purpose.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveExperiment } from '../../src/engine/index.ts';
import { TrainingQueue } from '../../src/queue/index.ts';
import { smallJob, startWorker, stopWorker, testConfig, uniquePrefix, waitFor, waitForOutput, type WorkerProcess } from '../queue/queue-helpers.ts';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** A throw-away redis-server (no persistence) on a free port. */
async function startRedis(dir: string): Promise<{ child: ChildProcess; url: string; exited: Promise<void> }> {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  await waitFor(async () => out.includes('Ready to accept connections'), 10_000, `redis-server to start\n${out}`);
  return { child, url: `redis://127.0.0.1:${port}`, exited };
}

const GRACE_MS = 3000;

describe('worker whose Redis is gone', () => {
  let dir: string;
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let queue: TrainingQueue;
  let worker: WorkerProcess | null = null;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nndl-redis-gone-'));
    redis = await startRedis(dir);
  });
  after(async () => {
    if (worker) await stopWorker(worker, 'SIGKILL');
    await queue?.close().catch(() => {});
    if (redis.child.exitCode === null && redis.child.signalCode === null) redis.child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  test('stops on SIGTERM within SHUTDOWN_GRACE_MS while training a job', async () => {
    const config = testConfig(uniquePrefix('redis-gone'), dir, { REDIS_URL: redis.url, SHUTDOWN_GRACE_MS: String(GRACE_MS) });
    queue = new TrainingQueue({ config });
    worker = startWorker(config, { SHUTDOWN_GRACE_MS: String(GRACE_MS) });
    await waitForOutput(worker, 'worker started', 60_000);
    const job = await queue.submit(resolveExperiment(smallJob({ epochs: 30, trainSize: 50000, validationSize: 1000 })), {});
    await waitFor(async () => (await queue.get(job.id))?.status === 'running', 60_000, `the job to run\n${worker.output()}`);
    await queue.close();

    redis.child.kill('SIGKILL');
    await redis.exited;
    await waitForOutput(worker, 'redis error', 30_000); // it noticed, and keeps reconnecting
    const signalledAt = Date.now();
    worker.child.kill('SIGTERM');
    // Generous bound for a loaded machine; without the grace deadline the worker never exits.
    const exited = await Promise.race([worker.exited.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), GRACE_MS + 30_000))]);
    const seconds = (Date.now() - signalledAt) / 1000;
    assert.ok(exited, `still running ${seconds} s after SIGTERM\n${worker.output()}`);
    assert.equal(worker.child.exitCode, 1, 'exit code 1: it could not finish cleanly');
    assert.ok(worker.output().split("\n").some((l) => l.includes("shutdown took longer than SHUTDOWN_GRACE_MS; exiting") && l.includes(`"graceMs":3000`)), worker.output());
  });
});
