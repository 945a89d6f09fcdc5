// Workers as separate hosts: worker A runs in a network namespace of its own, reaching Redis over a
// veth pair (its own address, 10.x.y.2) through a TCP relay on the host side (10.x.y.1); worker B
// runs on the host. Mid-trial, A's link is cut (the veth end set down: packets dropped, no reset, as
// in a partition). A's lock lapses, B takes the trial over from its checkpoint and the sweep
// completes. When the link comes back, A's queued writes reach Redis — and are refused: the job
// record is fenced on the attempt that owns it, so A neither overwrites the trial's record nor saves
// a second model (at-least-once delivery made exactly-once in effect). Needs root and iproute2's
// `ip netns`; skips without them.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import type { FastifyInstance } from 'fastify';
import request from 'supertest';
import { buildApp } from '../../src/app.ts';
import { CheckpointRepository } from '../../src/store/checkpoint.repository.ts';
import type { Config } from '../../src/config/env.ts';
import {
  cleanup, startWorker, stopWorker, tempDataDir, testConfig, uniquePrefix, waitFor, waitForOutput, type WorkerProcess,
} from '../queue/queue-helpers.ts';

const tag = randomBytes(3).toString('hex');
const NS = `nndl-${tag}`;
const HOST_IF = `vh${tag}`;
const NS_IF = `vn${tag}`;
const NET = `10.${200 + (parseInt(tag.slice(0, 2), 16) % 50)}.${parseInt(tag.slice(2, 4), 16)}`;
const HOST_IP = `${NET}.1`;
const NS_IP = `${NET}.2`;

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

function netnsUnavailable(): string | false {
  if (process.getuid?.() !== 0) return 'needs root (ip netns)';
  try {
    ip('netns', 'add', `${NS}-probe`);
    ip('netns', 'del', `${NS}-probe`);
    return false;
  } catch (err) {
    return `ip netns unavailable: ${(err as Error).message}`;
  }
}

describe('sweeps across hosts (network namespaces)', { skip: netnsUnavailable() }, () => {
  const prefix = uniquePrefix('sweeps-netns');
  let dataDir: string;
  let config: Config;
  let app: FastifyInstance;
  let relay: net.Server;
  const sockets = new Set<net.Socket>();
  const workers: WorkerProcess[] = [];
  const output = () => workers.map((w, i) => `--- worker ${i === 0 ? 'A (netns)' : 'B'}\n${w.output().slice(-4000)}`).join('\n');

  before(async () => {
    dataDir = await tempDataDir();
    config = testConfig(prefix, dataDir);
    app = await buildApp({ config });
    await app.ready();
    ip('netns', 'add', NS);
    ip('link', 'add', HOST_IF, 'type', 'veth', 'peer', 'name', NS_IF);
    ip('link', 'set', NS_IF, 'netns', NS);
    ip('addr', 'add', `${HOST_IP}/30`, 'dev', HOST_IF);
    ip('link', 'set', HOST_IF, 'up');
    ip('netns', 'exec', NS, 'ip', 'addr', 'add', `${NS_IP}/30`, 'dev', NS_IF);
    ip('netns', 'exec', NS, 'ip', 'link', 'set', NS_IF, 'up');
    ip('netns', 'exec', NS, 'ip', 'link', 'set', 'lo', 'up');
    // Redis listens on loopback only: a relay on the host's end of the veth pair
    const [redisHost, redisPort] = new URL(config.REDIS_URL).host.split(':');
    relay = net.createServer((client) => {
      const upstream = net.connect(Number(redisPort ?? 6379), redisHost);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('error', () => {});
        s.on('close', () => sockets.delete(s));
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => relay.listen(0, HOST_IP, resolve));
  });
  after(async () => {
    for (const w of workers) await stopWorker(w, 'SIGKILL');
    for (const s of sockets) s.destroy();
    await new Promise((r) => relay?.close(r));
    try {
      ip('netns', 'del', NS); // takes the veth pair with it
    } catch {
      // already gone
    }
    await app.close();
    await cleanup(prefix, dataDir);
  });

  /** Worker A: the same worker process, inside the namespace, Redis through the relay. */
  function startWorkerInNamespace(): WorkerProcess {
    const port = (relay.address() as net.AddressInfo).port;
    const env: Record<string, string> = {
      ...(process.env as Record<string, string>),
      REDIS_URL: `redis://${HOST_IP}:${port}`, QUEUE_PREFIX: config.QUEUE_PREFIX, DATA_DIR: config.DATA_DIR,
      JOB_LOCK_MS: String(config.JOB_LOCK_MS), JOB_STALLED_INTERVAL_MS: String(config.JOB_STALLED_INTERVAL_MS),
      ENGINE_THREADS: '1', ...(config.MNIST_DIR ? { MNIST_DIR: config.MNIST_DIR } : {}),
    };
    const child = spawn('ip', ['netns', 'exec', NS, process.execPath, '--import', 'tsx', 'workers/train.worker.ts'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    return { child, output: () => out, exited };
  }

  test("cut one worker's link mid-trial: the trial is taken over, the sweep completes, the cut-off worker writes nothing when it comes back", async () => {
    const a = startWorkerInNamespace();
    const b = startWorker(config);
    workers.push(a, b);
    await Promise.all([waitForOutput(a, 'MNIST loaded', 90_000), waitForOutput(b, 'MNIST loaded', 90_000)]);
    // B stopped for now, so the first trial is A's
    b.child.kill('SIGSTOP');
    const EPOCHS = 10;
    const res = await request(app.server).post('/v1/sweeps').send({
      base: { preset: 'ch3-mlp30-ce', training: { epochs: EPOCHS }, data: { trainSize: 30_000, validationSize: 500 } },
      space: { 'training.eta': { values: [0.3, 1] } }, concurrency: 1,
    }).expect(202);
    const id = res.body.id as string;
    const trial = res.body.trials[0].jobId as string;
    const checkpoints = new CheckpointRepository({ dataDir });
    // cut A's link once the trial has an epoch (and a checkpoint) behind it, then let B go on
    const atCut = await waitFor(async () => {
      const job = (await request(app.server).get(`/v1/jobs/${trial}`).expect(200)).body;
      return job.metrics.length >= 1 && (await checkpoints.load(trial)) !== null ? job : null;
    }, 120_000, `A's first epoch and checkpoint\n${output()}`, 20);
    ip('netns', 'exec', NS, 'ip', 'link', 'set', NS_IF, 'down');
    b.child.kill('SIGCONT');
    assert.equal(atCut.status, 'running', 'cut mid-trial');
    assert.ok(atCut.metrics.length < EPOCHS - 1, `cut before the end (${atCut.metrics.length} epochs done)`);

    const done = await waitFor(async () => {
      const s = (await request(app.server).get(`/v1/sweeps/${id}`).expect(200)).body;
      return s.status !== 'running' ? s : null;
    }, 240_000, `the sweep to end without A\n${output()}`, 250);
    assert.equal(done.status, 'completed', JSON.stringify(done));
    assert.equal(done.trials.length, 2);
    const before = (await request(app.server).get(`/v1/jobs/${trial}`).expect(200)).body;
    assert.equal(before.status, 'completed');
    assert.ok((before.resumedFromEpoch ?? 0) >= 1, `B resumed from A's checkpoint (resumedFromEpoch ${before.resumedFromEpoch})`);
    const models = (await request(app.server).get('/v1/models?limit=100').expect(200)).body.items;
    assert.equal(models.length, 2, 'one model per trial');

    // the link comes back: A's writes reach Redis and are refused
    ip('netns', 'exec', NS, 'ip', 'link', 'set', NS_IF, 'up');
    await waitForOutput(a, 'job taken over by another worker', 120_000);
    await new Promise((r) => setTimeout(r, 2000));
    const after = (await request(app.server).get(`/v1/jobs/${trial}`).expect(200)).body;
    assert.deepEqual(
      { status: after.status, modelId: after.modelId, progress: after.progress, epochs: after.metrics.map((m: { epoch: number }) => m.epoch), lastEpoch: after.lastEpoch, finishedAt: after.finishedAt },
      { status: before.status, modelId: before.modelId, progress: before.progress, epochs: Array.from({ length: EPOCHS }, (_, i) => i + 1), lastEpoch: before.lastEpoch, finishedAt: before.finishedAt },
      'the trial\'s record is as B left it',
    );
    assert.deepEqual(after.metrics, before.metrics, 'no epoch entry overwritten');
    assert.equal((await request(app.server).get('/v1/models?limit=100').expect(200)).body.items.length, 2, 'no second model');
    assert.equal((await request(app.server).get(`/v1/sweeps/${id}`).expect(200)).body.best.jobId, done.best.jobId);
  });
});
