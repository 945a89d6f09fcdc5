// Jobs belong to the key that submitted them: a train key sees, follows and cancels only its
// own (another key's job is a 404, as if absent), admin sees and cancels any; the owner is in
// the record, the BullMQ payload and the answers. MAX_JOBS_PER_KEY caps queued + running jobs
// per key, atomically (concurrent submits cannot slip past it). Real app, real Redis, no worker.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { bearer, KEY_NAMES, KEYS, keysEnv } from '../fixtures/api-keys.ts';
import { startTestApp, type TestApp } from '../fixtures/test-app.ts';
import { smallJob } from '../queue/queue-helpers.ts';
import { rawText } from '../api/jobs-helpers.ts';

const LIMIT = 3;

describe('job ownership and the per-key job limit', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp('owners', keysEnv({ MAX_JOBS_PER_KEY: String(LIMIT) }));
  });
  after(() => t?.close());

  const submit = (key: string) => request(t.server).post('/v1/jobs').set(bearer(key)).send(smallJob());
  const cancelAll = async (key: string) => {
    const list = await request(t.server).get('/v1/jobs?status=queued&limit=100').set(bearer(key)).expect(200);
    for (const j of list.body.items) await request(t.server).post(`/v1/jobs/${j.id}/cancel`).set(bearer(KEYS.admin)).expect(200);
  };

  test("a train key sees, follows and cancels only its own jobs; admin any; the owner is recorded everywhere", async () => {
    const a = (await submit(KEYS.train).expect(202)).body;
    const b = (await submit(KEYS.trainB).expect(202)).body;
    assert.equal(a.owner, KEY_NAMES.train);
    assert.equal(b.owner, KEY_NAMES.trainB);
    // the worker gets the owner with the job (and gives it to the model)
    const payload = JSON.parse((await t.redis.hget(`${t.config.QUEUE_PREFIX}:training:${a.id}`, 'data'))!);
    assert.equal(payload.owner, KEY_NAMES.train);

    assert.equal((await request(t.server).get(`/v1/jobs/${a.id}`).set(bearer(KEYS.train)).expect(200)).body.owner, KEY_NAMES.train);
    for (const [method, path] of [['get', ''], ['post', '/cancel'], ['get', '/events']] as const) {
      const res = await request(t.server)[method](`/v1/jobs/${a.id}${path}`).set(bearer(KEYS.trainB));
      assert.equal(res.status, 404, `${method} ${path} of another key's job`);
      assert.equal(res.body.error.message, `job ${a.id} not found`, 'the same answer as for a job that does not exist');
    }
    assert.equal((await request(t.server).get(`/v1/jobs/${a.id}`).expect(401)).body.error.code, 'unauthorized');
    assert.equal((await request(t.server).get(`/v1/jobs/${a.id}`).set(bearer(KEYS.train)).expect(200)).body.status, 'queued', 'B could not cancel it');

    const listA = (await request(t.server).get('/v1/jobs').set(bearer(KEYS.train)).expect(200)).body;
    assert.deepEqual(listA.items.map((j: { id: string }) => j.id), [a.id]);
    assert.equal(listA.total, 1);
    const listB = (await request(t.server).get('/v1/jobs?status=queued').set(bearer(KEYS.trainB)).expect(200)).body;
    assert.deepEqual(listB.items.map((j: { id: string }) => j.id), [b.id]);
    assert.equal((await request(t.server).get('/v1/jobs?status=running').set(bearer(KEYS.trainB)).expect(200)).body.total, 0);
    const all = (await request(t.server).get('/v1/jobs').set(bearer(KEYS.admin)).expect(200)).body;
    assert.deepEqual(all.items.map((j: { id: string }) => j.id), [b.id, a.id]);

    // admin cancels A's job; A and admin both follow it to its end
    const cancelled = await request(t.server).post(`/v1/jobs/${a.id}/cancel`).set(bearer(KEYS.admin)).expect(200);
    assert.equal(cancelled.body.status, 'cancelled');
    for (const key of [KEYS.train, KEYS.admin]) {
      const stream = await request(t.server).get(`/v1/jobs/${a.id}/events`).set(bearer(key)).buffer(true).parse(rawText).expect(200);
      assert.match(stream.body as string, /event: cancelled/);
    }
    await cancelAll(KEYS.trainB);
  });

  test(`MAX_JOBS_PER_KEY=${LIMIT}: the next submit is 429 too_many_jobs; other keys are not affected; a cancel frees a place`, async () => {
    const ids: string[] = [];
    for (let i = 0; i < LIMIT; i++) ids.push((await submit(KEYS.train).expect(202)).body.id);
    const refused = await submit(KEYS.train).expect(429);
    assert.equal(refused.body.error.code, 'too_many_jobs');
    assert.match(refused.body.error.message, new RegExp(`"${KEY_NAMES.train}" already has ${LIMIT} queued or running jobs.*MAX_JOBS_PER_KEY=${LIMIT}`));
    assert.deepEqual(refused.body.error.details, { owner: KEY_NAMES.train, active: LIMIT, limit: LIMIT });
    const listed = (await request(t.server).get('/v1/jobs?status=queued').set(bearer(KEYS.train)).expect(200)).body;
    assert.equal(listed.total, LIMIT, 'the refused job was not recorded');

    await submit(KEYS.trainB).expect(202);
    await request(t.server).post(`/v1/jobs/${ids[0]}/cancel`).set(bearer(KEYS.train)).expect(200);
    await submit(KEYS.train).expect(202);
    await submit(KEYS.train).expect(429);
    await cancelAll(KEYS.train);
    await cancelAll(KEYS.trainB);
  });

  test('concurrent submits cannot slip past the limit', async () => {
    const results = await Promise.all(Array.from({ length: 12 }, () => submit(KEYS.train)));
    const statuses = results.map((r) => r.status).sort();
    assert.deepEqual(statuses, [...Array(LIMIT).fill(202), ...Array(12 - LIMIT).fill(429)]);
    const listed = (await request(t.server).get('/v1/jobs?status=queued').set(bearer(KEYS.train)).expect(200)).body;
    assert.equal(listed.total, LIMIT);
    await cancelAll(KEYS.train);
  });
});

describe('owner without keys', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp('owners-open');
  });
  after(() => t?.close());

  test('an open API records the anonymous owner and lists every job', async () => {
    const job = (await request(t.server).post('/v1/jobs').send(smallJob()).expect(202)).body;
    assert.equal(job.owner, 'anonymous');
    assert.equal((await request(t.server).get('/v1/jobs').expect(200)).body.total, 1);
    await request(t.server).post(`/v1/jobs/${job.id}/cancel`).expect(200);
  });
});
