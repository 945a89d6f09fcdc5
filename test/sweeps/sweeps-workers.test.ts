// Sweeps through the real app with two real worker processes: a grid sweep's trials are shared
// between them; a worker SIGKILLed mid-sweep leaves every trial accounted for; a cancel cascades to
// queued and running trials; halving promotes exactly the configured fraction, and the promoted
// trials resume from their checkpoints. Trials are tiny (1,000-image slices, 1–3 epochs).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import request from 'supertest';
import { buildApp } from '../../src/app.ts';
import type { Config } from '../../src/config/env.ts';
import { CheckpointRepository } from '../../src/store/checkpoint.repository.ts';
import {
  cleanup, startWorker, stopWorker, tempDataDir, testConfig, uniquePrefix, waitFor, waitForOutput, type WorkerProcess,
} from '../queue/queue-helpers.ts';
import { rawText, sseOf } from '../api/jobs-helpers.ts';

type Trial = { jobId: string; params: Record<string, number>; status: string; rung: number; epochs: number; validationAccuracy: number | null; resumedFrom?: string; resumedFromEpoch?: number; modelId?: string };
type Sweep = { id: string; status: string; trials: Trial[]; best?: { jobId: string; modelId?: string; params: Record<string, number>; validationAccuracy: number }; leaderboard: string[]; plannedTrials: number; waves: number };

const base = (epochs: number, trainSize = 1000) => ({
  preset: 'ch3-mlp30-ce',
  training: { epochs, miniBatchSize: 10 },
  data: { trainSize, validationSize: 300 },
});

describe('sweeps with two workers', () => {
  const prefix = uniquePrefix('sweeps');
  let dataDir: string;
  let config: Config;
  let app: FastifyInstance;
  const workers: WorkerProcess[] = [];

  async function launch(): Promise<WorkerProcess> {
    const w = startWorker(config);
    workers.push(w);
    await waitForOutput(w, 'MNIST loaded', 60_000);
    return w;
  }
  const output = () => workers.map((w, i) => `--- worker ${i}\n${w.output().slice(-3000)}`).join('\n');

  before(async () => {
    dataDir = await tempDataDir();
    config = testConfig(prefix, dataDir);
    app = await buildApp({ config });
    await app.ready();
    await Promise.all([launch(), launch()]);
  });
  after(async () => {
    for (const w of workers) await stopWorker(w, 'SIGKILL');
    await app.close();
    await cleanup(prefix, dataDir);
  });

  const get = async (id: string): Promise<Sweep> => (await request(app.server).get(`/v1/sweeps/${id}`).expect(200)).body as Sweep;
  const ended = (id: string, ms = 180_000) =>
    waitFor(async () => {
      const s = await get(id);
      return s.status !== 'running' && s.trials.every((t) => ['completed', 'failed', 'cancelled'].includes(t.status)) ? s : null;
    }, ms, `sweep ${id} to end\n${output()}`, 250);

  test('a grid sweep: every trial runs, shared between the two workers; best, leaderboard, alias', async () => {
    const etas = [0.05, 0.5, 5, 50];
    const res = await request(app.server).post('/v1/sweeps').send({
      name: 'grid', base: base(1), space: { 'training.eta': { values: etas } }, strategy: { type: 'grid' }, concurrency: 2, alias: 'sweep-best',
    }).expect(202);
    const id = res.body.id as string;
    assert.equal(res.body.trials.length, 2, 'the first wave is the concurrency');
    const done = await ended(id);
    assert.equal(done.status, 'completed', JSON.stringify(done));
    assert.equal(done.trials.length, 4);
    assert.deepEqual(done.trials.map((t) => t.params['training.eta']).sort((a, b) => a! - b!), etas);
    assert.ok(done.trials.every((t) => t.status === 'completed' && t.epochs === 1 && t.modelId));
    const byId = new Map(done.trials.map((t) => [t.jobId, t]));
    const accs = done.leaderboard.map((j) => byId.get(j)!.validationAccuracy!);
    assert.deepEqual(accs, [...accs].sort((a, b) => b - a), 'leaderboard best first');
    assert.equal(done.best!.jobId, done.leaderboard[0]);
    assert.equal(done.best!.validationAccuracy, accs[0]);
    // ordinary jobs
    const jobs = (await request(app.server).get('/v1/jobs?limit=100').expect(200)).body.items.map((j: { id: string }) => j.id);
    for (const t of done.trials) assert.ok(jobs.includes(t.jobId), `${t.jobId} in /v1/jobs`);
    // each worker trained at least one trial
    for (const w of workers) {
      const mine = done.trials.filter((t) => w.output().includes(`"jobId":"${t.jobId}"`) && w.output().includes('job completed'));
      assert.ok(mine.length >= 1, `each worker ran a trial\n${output()}`);
    }
    const alias = (await request(app.server).get('/v1/aliases').expect(200)).body;
    assert.equal(alias['sweep-best'], done.best!.modelId);
    const list = (await request(app.server).get('/v1/sweeps').expect(200)).body;
    assert.ok(list.items.some((s: { id: string; status: string }) => s.id === id && s.status === 'completed'));
  });

  test('events: a sweep streams sweep snapshots and every trial\'s epochs, then ends with completed', async () => {
    const res = await request(app.server).post('/v1/sweeps').send({
      base: base(2), space: { 'training.eta': { values: [0.3, 3] } }, concurrency: 1,
    }).expect(202);
    const id = res.body.id as string;
    const stream = await request(app.server).get(`/v1/sweeps/${id}/events`).buffer(true).parse(rawText).expect(200);
    const events = sseOf(stream);
    const end = events.at(-1)!;
    assert.equal(end.event, 'completed', JSON.stringify(events.map((e) => e.event)));
    const final = end.data as Sweep;
    assert.equal(final.trials.length, 2);
    const epochs = events.filter((e) => e.event === 'epoch').map((e) => e.data as { jobId: string; metrics: { epoch: number } });
    for (const t of final.trials) {
      // the stream does not replay epochs that ended before it was opened (on a quiet machine the
      // first trial's epoch 1 can): each epoch streamed at most once, in order, the last one always
      const seen = epochs.filter((e) => e.jobId === t.jobId).map((e) => e.metrics.epoch);
      assert.ok(seen.join() === '1,2' || seen.join() === '2', `${t.jobId}'s epochs streamed once each: ${seen.join()}`);
    }
    const snapshots = events.filter((e) => e.event === 'sweep').map((e) => e.data as Sweep);
    const counts = snapshots.map((x) => x.trials.length);
    assert.deepEqual(counts, [...counts].sort(), 'trials only ever added');
    assert.equal(counts.at(-1), 2);
  });

  test('SIGKILL one worker mid-sweep: the sweep still completes, every trial accounted for', async () => {
    const EPOCHS = 20;
    const res = await request(app.server).post('/v1/sweeps').send({
      // long enough (20 epochs of 10,000) that both trials are seen running on a quiet machine too
      base: base(EPOCHS, 10_000), space: { 'training.eta': { values: [0.1, 0.3, 1] } }, concurrency: 2,
    }).expect(202);
    const id = res.body.id as string;
    // both first trials running and one epoch done somewhere: kill the worker running a trial
    const running = await waitFor(async () => {
      const s = await get(id);
      const r = s.trials.filter((t) => t.status === 'running');
      return r.length === 2 && r.some((t) => t.epochs >= 1) ? r : null;
    }, 120_000, `two running trials\n${output()}`);
    // each worker runs one job at a time, so both are mid-trial: kill either
    const victim = workers[0]!;
    victim.child.kill('SIGKILL');
    await victim.exited;
    const done = await ended(id, 240_000);
    assert.equal(done.status, 'completed', JSON.stringify(done));
    assert.equal(done.trials.length, 3, 'every planned trial launched once');
    let resumed = 0;
    for (const t of done.trials) {
      assert.equal(t.status, 'completed', `${t.jobId}: ${t.status}`);
      const job = (await request(app.server).get(`/v1/jobs/${t.jobId}`).expect(200)).body;
      assert.deepEqual(job.metrics.map((m: { epoch: number }) => m.epoch), Array.from({ length: EPOCHS }, (_, i) => i + 1), 'each epoch once');
      if (running.some((r) => r.jobId === t.jobId) && job.attempts >= 2) resumed++;
    }
    assert.equal(resumed, 1, 'the killed worker\'s trial was taken up again by the other worker');
    workers.splice(workers.indexOf(victim), 1);
    await launch(); // two workers again for the next tests
  });

  test('cancel cascades: the sweep and its queued and running trials end cancelled, no new wave', async () => {
    const res = await request(app.server).post('/v1/sweeps').send({
      base: base(30, 10_000), space: { 'training.eta': { values: [0.1, 0.2, 0.3, 0.4, 0.5] } }, concurrency: 3,
    }).expect(202);
    const id = res.body.id as string;
    await waitFor(async () => (await get(id)).trials.filter((t) => t.status === 'running').length >= 1 ? true : null, 60_000, `a running trial\n${output()}`);
    const cancelled = (await request(app.server).post(`/v1/sweeps/${id}/cancel`).expect(200)).body as Sweep;
    assert.equal(cancelled.status, 'cancelled');
    const done = await ended(id, 60_000);
    assert.equal(done.status, 'cancelled');
    assert.equal(done.trials.length, 3, 'no wave after the cancel');
    for (const t of done.trials) assert.equal(t.status, 'cancelled', `${t.jobId}`);
    await request(app.server).post(`/v1/sweeps/${id}/cancel`).expect(409);
    // the wave job ran and queued nothing more
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal((await get(id)).trials.length, 3);
  });

  test('halving: exactly the configured fraction promoted, the promoted trials resume from their checkpoints', async () => {
    const res = await request(app.server).post('/v1/sweeps').send({
      base: base(1, 500),
      space: { 'training.eta': { logUniform: [0.01, 10] } },
      strategy: { type: 'halving', trials: 6, seed: 3, keep: 0.5, rungs: [{ epochs: 1, trainSize: 500 }, { epochs: 2, trainSize: 1000 }, { epochs: 3, trainSize: 1000 }] },
      concurrency: 4,
    }).expect(202);
    const id = res.body.id as string;
    const done = await ended(id);
    assert.equal(done.status, 'completed', JSON.stringify(done));
    const rung = (r: number) => done.trials.filter((t) => t.rung === r);
    assert.deepEqual([0, 1, 2].map((r) => rung(r).length), [6, 3, 1], 'floor(6 × 0.5) = 3, then floor(3 × 0.5) = 1');
    for (const r of [1, 2]) {
      const prev = rung(r - 1).sort((a, b) => b.validationAccuracy! - a.validationAccuracy!);
      const top = prev.slice(0, rung(r).length).map((t) => t.jobId).sort();
      assert.deepEqual(rung(r).map((t) => t.resumedFrom).sort(), top, `rung ${r} holds the best of rung ${r - 1}`);
      for (const t of rung(r)) {
        const from = prev.find((p) => p.jobId === t.resumedFrom)!;
        assert.deepEqual(t.params, from.params);
        assert.equal(t.resumedFromEpoch, r, 'resumed after the epochs of the rung before');
        const job = (await request(app.server).get(`/v1/jobs/${t.jobId}`).expect(200)).body;
        assert.deepEqual(job.metrics.map((m: { epoch: number }) => m.epoch), [r + 1], 'trained only the epochs of its rung');
        assert.equal(job.experiment.data.trainSize, 1000);
      }
    }
    assert.equal(done.best!.jobId, rung(2)[0]!.jobId);
    // checkpoints kept for promotion are gone at the end
    const ck = new CheckpointRepository({ dataDir });
    for (const t of done.trials) assert.equal(await ck.load(t.jobId), null, `${t.jobId} checkpoint removed`);
  });
});
