// The whole path through the real app with a real worker process: submit over HTTP, follow
// the server-sent events to the end, poll the job, find the model; cancel a running job.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import request from 'supertest';
import { buildApp } from '../../src/app.ts';
import {
  cleanup, smallJob, startWorker, stopWorker, tempDataDir, testConfig, uniquePrefix, waitFor, waitForOutput,
  type WorkerProcess,
} from '../queue/queue-helpers.ts';
import { rawText, sseOf } from './jobs-helpers.ts';

describe('jobs API with a worker', () => {
  const prefix = uniquePrefix('jobs-flow');
  let dataDir: string;
  let app: FastifyInstance;
  let worker: WorkerProcess;

  before(async () => {
    dataDir = await tempDataDir();
    const config = testConfig(prefix, dataDir);
    app = await buildApp({ config });
    await app.ready();
    worker = startWorker(config);
    await waitForOutput(worker, 'worker started');
  });
  after(async () => {
    await stopWorker(worker);
    await app.close();
    await cleanup(prefix, dataDir);
  });

  const poll = (id: string, done: (body: { status: string }) => boolean, what: string) =>
    waitFor(async () => {
      const res = await request(app.server).get(`/v1/jobs/${id}`).expect(200);
      return done(res.body) ? res.body : null;
    }, 60_000, `${what}\n${worker.output()}`);

  test('submit → stream epochs → completed; the job has its metrics and model', async () => {
    const submitted = await request(app.server).post('/v1/jobs').send(smallJob({ epochs: 2, trainSize: 3000, name: 'flow' })).expect(202);
    const id = submitted.body.id as string;
    const stream = await request(app.server).get(`/v1/jobs/${id}/events`).buffer(true).parse(rawText).expect(200);
    const events = sseOf(stream);
    const epochs = events.filter((e) => e.event === 'epoch').map((e) => (e.data as { epoch: number }).epoch);
    assert.deepEqual(epochs, [1, 2], JSON.stringify(events.map((e) => e.event)));
    const end = events.at(-1)!;
    assert.equal(end.event, 'completed');
    assert.equal((end.data as { status: string }).status, 'completed');
    for (const e of events.filter((x) => x.event === 'epoch')) {
      const m = e.data as Record<string, unknown>;
      for (const key of ['trainingCost', 'trainingAccuracy', 'validationCost', 'validationAccuracy', 'eta', 'seconds', 'gradientNorms']) {
        assert.ok(key in m, `epoch event has ${key}`);
      }
    }

    const job = (await request(app.server).get(`/v1/jobs/${id}`).expect(200)).body;
    assert.equal(job.status, 'completed');
    assert.equal(job.metrics.length, 2);
    assert.deepEqual(job.progress, { epoch: 2, epochs: 2 });
    assert.ok(job.modelId && job.createdAt && job.startedAt && job.finishedAt);
    const completed = await request(app.server).get('/v1/jobs?status=completed').expect(200);
    assert.ok(completed.body.items.some((j: { id: string }) => j.id === id));

    const model = await request(app.server).get(`/v1/models/${job.modelId}`).expect(200);
    assert.equal(model.body.jobId ?? model.body.model?.jobId, id);
    await request(app.server).post(`/v1/jobs/${id}/cancel`).expect(409);
  });

  test('cancel a running job over HTTP: 202, then it ends cancelled', async () => {
    const submitted = await request(app.server).post('/v1/jobs').send(smallJob({ epochs: 30, trainSize: 20000 })).expect(202);
    const id = submitted.body.id as string;
    await poll(id, (j) => j.status === 'running', 'job to start');
    const res = await request(app.server).post(`/v1/jobs/${id}/cancel`);
    assert.ok(res.status === 202 || res.status === 200, `cancel answered ${res.status}`);
    if (res.status === 202) assert.equal(res.body.cancelRequested, true);
    const done = await poll(id, (j) => j.status === 'cancelled', 'job to be cancelled') as { metrics: unknown[]; modelId?: string };
    assert.ok(done.metrics.length < 30);
    assert.equal(done.modelId, undefined);
    await request(app.server).post(`/v1/jobs/${id}/cancel`).expect(409);
  });
});
