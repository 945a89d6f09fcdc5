// End to end with a real worker process: a job submitted with a train key trains, and its model
// records that key's name as owner (record, list and detail answers).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { bearer, KEY_NAMES, KEYS, keysEnv } from '../fixtures/api-keys.ts';
import { startTestApp, type TestApp } from '../fixtures/test-app.ts';
import { smallJob, startWorker, stopWorker, waitFor, type WorkerProcess } from '../queue/queue-helpers.ts';

describe('model owner', () => {
  let t: TestApp;
  let worker: WorkerProcess;
  before(async () => {
    t = await startTestApp('model-owner', keysEnv({ JOB_LOCK_MS: '2000', JOB_STALLED_INTERVAL_MS: '1000' }));
    worker = startWorker(t.config);
  });
  after(async () => {
    if (worker) await stopWorker(worker);
    await t?.close();
  });

  test("a trained model records the submitting key's name", async () => {
    const job = (await request(t.server).post('/v1/jobs').set(bearer(KEYS.train))
      .send(smallJob({ epochs: 1, trainSize: 1000, validationSize: 100 })).expect(202)).body;
    const done = await waitFor(async () => {
      const r = (await request(t.server).get(`/v1/jobs/${job.id}`).set(bearer(KEYS.train)).expect(200)).body;
      return ['completed', 'failed', 'cancelled'].includes(r.status) ? r : null;
    }, 120_000, `job ${job.id}\n${worker.output()}`);
    assert.equal(done.status, 'completed', done.error);
    assert.equal(done.owner, KEY_NAMES.train);
    assert.equal((await t.models.get(done.modelId))?.owner, KEY_NAMES.train, 'in the stored record');
    const detail = (await request(t.server).get(`/v1/models/${done.modelId}`).set(bearer(KEYS.predict)).expect(200)).body;
    assert.equal(detail.owner, KEY_NAMES.train);
    const list = (await request(t.server).get('/v1/models').set(bearer(KEYS.predict)).expect(200)).body;
    assert.equal(list.items.find((m: { id: string }) => m.id === done.modelId)?.owner, KEY_NAMES.train);
  });
});
