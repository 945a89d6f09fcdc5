// The jobs routes through the real app (supertest), real Redis, no worker: validation of
// every kind of bad body (4xx JSON, nothing queued; the app answers body schema violations with 422, query and params with 400), submit/get/list, cancel of a queued job,
// the event stream of a finished job.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import request from 'supertest';
import { buildApp } from '../../src/app.ts';
import { cleanup, smallJob, tempDataDir, testConfig, uniquePrefix } from '../queue/queue-helpers.ts';
import { OVER_SCRATCH_BYTES, OVER_SCRATCH_EXAMPLE } from '../fixtures/issue-example.ts';
import { rawText, sseOf } from './jobs-helpers.ts';

describe('jobs API (no worker)', () => {
  const prefix = uniquePrefix('jobs-api');
  let dataDir: string;
  let app: FastifyInstance;

  before(async () => {
    dataDir = await tempDataDir();
    app = await buildApp({ config: testConfig(prefix, dataDir) });
    await app.ready();
  });
  after(async () => {
    await app.close();
    await cleanup(prefix, dataDir);
  });

  const total = async () => (await request(app.server).get('/v1/jobs').expect(200)).body.total as number;

  const invalid: [string, () => request.Test, number][] = [
    ['preset of the wrong type', () => request(app.server).post('/v1/jobs').send({ preset: 5 }), 422],
    ['training of the wrong type', () => request(app.server).post('/v1/jobs').send({ preset: 'ch1-mlp30', training: 'fast' }), 422],
    ['a field of the wrong type', () => request(app.server).post('/v1/jobs').send({ preset: 'ch1-mlp30', training: { epochs: 'two' } }), 422],
    ['an unknown top-level field', () => request(app.server).post('/v1/jobs').send({ preset: 'ch1-mlp30', gpu: true }), 422],
    ['an unknown nested field', () => request(app.server).post('/v1/jobs').send({ preset: 'ch1-mlp30', training: { epoch: 2 } }), 422],
    ['no preset and no layers', () => request(app.server).post('/v1/jobs').send({ training: { epochs: 2 } }), 422],
    ['an empty object', () => request(app.server).post('/v1/jobs').send({}), 422],
    ['an unknown preset', () => request(app.server).post('/v1/jobs').send({ preset: 'ch9-transformer' }), 422],
    ['huge epochs', () => request(app.server).post('/v1/jobs').send({ preset: 'ch1-mlp30', training: { epochs: 1e12 } }), 422],
    ['huge trainSize', () => request(app.server).post('/v1/jobs').send({ preset: 'ch1-mlp30', data: { trainSize: 1e9 } }), 422],
    ['negative trainSize', () => request(app.server).post('/v1/jobs').send({ preset: 'ch1-mlp30', data: { trainSize: -5 } }), 422],
    ['negative units', () => request(app.server).post('/v1/jobs').send({ network: { layers: [{ type: 'dense', units: -1, activation: 'softmax' }] } }), 422],
    ['a null body', () => request(app.server).post('/v1/jobs').set('content-type', 'application/json').send('null'), 422],
    ['an array body', () => request(app.server).post('/v1/jobs').send([1, 2]), 422],
    ['an empty JSON body', () => request(app.server).post('/v1/jobs').set('content-type', 'application/json').send(''), 400],
    ['no body at all', () => request(app.server).post('/v1/jobs'), 422],
    ['malformed JSON', () => request(app.server).post('/v1/jobs').set('content-type', 'application/json').send('{"preset": '), 400],
    ['a text/plain body', () => request(app.server).post('/v1/jobs').set('content-type', 'text/plain').send('preset=ch1-mlp30'), 415],
    ['augmentation out of range', () => request(app.server).post('/v1/jobs').send({ preset: 'ch6-relu', data: { augment: { rotation: 500 } } }), 422],
    ['augmentation of the wrong type', () => request(app.server).post('/v1/jobs').send({ preset: 'ch6-relu', data: { augment: 'lots' } }), 422],
    ['a name too long', () => request(app.server).post('/v1/jobs').send({ preset: 'ch1-mlp30', name: 'x'.repeat(1000) }), 422],
  ];

  for (const [what, send, status] of invalid) {
    test(`rejects ${what} with ${status} JSON and queues nothing`, async () => {
      const before = await total();
      const res = await send();
      assert.equal(res.status, status, JSON.stringify(res.body));
      assert.match(res.headers['content-type'] ?? '', /application\/json/);
      assert.equal(typeof res.body.error?.code, 'string');
      assert.equal(typeof res.body.error?.message, 'string');
      assert.ok(!JSON.stringify(res.body).includes('    at '), 'no stack trace');
      assert.equal(await total(), before);
    });
  }

  test('a spec error names the bad field', async () => {
    const res = await request(app.server).post('/v1/jobs').send({ preset: 'ch1-mlp30', data: { trainSize: -5 } }).expect(422);
    const paths = (res.body.error.details as { path: string }[]).map((d) => d.path);
    assert.ok(paths.includes('data.trainSize'), JSON.stringify(res.body));
  });

  test('submit → 202 queued with a location; get, list and cancel it; 409 after', async () => {
    const res = await request(app.server).post('/v1/jobs').send(smallJob({ name: 'api-job' })).expect(202);
    assert.equal(res.body.status, 'queued');
    assert.equal(res.body.name, 'api-job');
    assert.equal(res.headers.location, `/v1/jobs/${res.body.id}`);
    assert.equal(res.body.experiment.training.epochs, 2);
    assert.equal(res.body.experiment.data.trainSize, 3000);
    const id = res.body.id as string;

    const got = await request(app.server).get(`/v1/jobs/${id}`).expect(200);
    assert.equal(got.body.status, 'queued');
    assert.deepEqual(got.body.progress, { epoch: 0, epochs: 2 });
    assert.deepEqual(got.body.metrics, []);

    const list = await request(app.server).get('/v1/jobs').query({ status: 'queued', limit: 1 }).expect(200);
    assert.equal(list.body.items[0].id, id);
    assert.equal(list.body.limit, 1);

    const cancelled = await request(app.server).post(`/v1/jobs/${id}/cancel`).expect(200);
    assert.equal(cancelled.body.status, 'cancelled');
    assert.ok(cancelled.body.finishedAt);
    await request(app.server).post(`/v1/jobs/${id}/cancel`).expect(409);
    assert.equal((await request(app.server).get(`/v1/jobs/${id}`).expect(200)).body.status, 'cancelled');

    // The stream of a finished job replays its end and closes.
    const stream = await request(app.server).get(`/v1/jobs/${id}/events`).buffer(true).parse(rawText).expect(200);
    assert.match(stream.headers['content-type'] ?? '', /text\/event-stream/);
    const events = sseOf(stream);
    assert.deepEqual(events.map((e) => e.event), ['cancelled']);
    assert.equal((events[0]!.data as { id: string }).id, id);
  });

  test('a job over a budget is refused with 422 over_budget naming the budget, the figure and the limit; nothing is queued', async () => {
    const cases: [string, object, string[]][] = [
      ['the issue\'s network on mini-batches of 12', OVER_SCRATCH_EXAMPLE, ['MAX_JOB_SCRATCH_BYTES']],
      ['giant dense layers', { network: { layers: [{ type: 'dense', units: 4096, activation: 'relu' }, { type: 'dense', units: 4096, activation: 'relu' },
        { type: 'dense', units: 4096, activation: 'relu' }, { type: 'dense', units: 10, activation: 'softmax' }] } }, ['MAX_JOB_PARAMS', 'MAX_JOB_MACS_PER_IMAGE']],
      ['10⁹ image-steps', { preset: 'ch6-ensemble', training: { epochs: 800 } }, ['MAX_JOB_IMAGE_STEPS']],
    ];
    for (const [what, body, budgets] of cases) {
      const before = await total();
      for (const url of ['/v1/jobs', '/v1/jobs?dryRun=true']) {
        const res = await request(app.server).post(url).send(body).expect(422);
        assert.equal(res.body.error.code, 'over_budget', what);
        assert.match(res.body.error.message, /^over budget: /);
        const details = res.body.error.details as { budget: string; figure: string; value: number; limit: number; message: string }[];
        assert.deepEqual(details.map((d) => d.budget), budgets, what);
        for (const d of details) {
          assert.ok(d.value > d.limit, `${what}: ${JSON.stringify(d)}`);
          assert.equal(typeof d.figure, 'string');
          assert.match(d.message, new RegExp(`above ${d.budget} = `));
        }
      }
      assert.equal(await total(), before, `${what}: nothing queued`);
    }
    const example = await request(app.server).post('/v1/jobs').send(OVER_SCRATCH_EXAMPLE).expect(422);
    assert.deepEqual(example.body.error.details[0], {
      budget: 'MAX_JOB_SCRATCH_BYTES', figure: 'trainingScratchBytesPerThread', value: OVER_SCRATCH_BYTES, limit: 536_870_912,
      message: 'training scratch per thread: 561,478,016 bytes (535.5 MiB), above MAX_JOB_SCRATCH_BYTES = 536,870,912 bytes (512.0 MiB)',
    });
  });

  test('data.augment is accepted, echoed with its defaults and costed per image (dry run)', async () => {
    const res = await request(app.server).post('/v1/jobs?dryRun=true')
      .send({ preset: 'ch6-relu', data: { augment: { rotation: 10, elastic: { alpha: 34, sigma: 4 } } } }).expect(200);
    assert.equal(res.body.experiment.data.augment.rotation, 10);
    assert.equal(res.body.experiment.data.augment.probability, 1);
    assert.ok(res.body.cost.augmentMacsPerImage > 0);
    assert.equal(res.body.cost.imageSteps, 60 * 50_000); // no copies: the same image-steps as without
    const bad = await request(app.server).post('/v1/jobs').send({ preset: 'ch6-relu', data: { augment: { shear: 90 } } }).expect(422);
    assert.ok((bad.body.error.details as { path: string }[]).some((d) => d.path === 'data.augment.shear'), JSON.stringify(bad.body));
  });

  test('all 60,000 training images with a cosine schedule and weight averaging (dry run); an overlapping validation set is a 422', async () => {
    const body = {
      preset: 'ch6-relu', // weight averaging, not with batch norm (the beyond-book network's)
      training: { keep: 'final', epochs: 40, schedule: { type: 'cosine' }, average: { fromEpoch: 31 } },
      data: { trainSize: 60_000, validationSize: 0 },
    };
    const res = await request(app.server).post('/v1/jobs?dryRun=true').send(body).expect(200);
    assert.deepEqual(res.body.experiment.training.schedule, { type: 'cosine', minEtaFactor: 100 });
    assert.deepEqual(res.body.experiment.training.average, { fromEpoch: 31 });
    assert.equal(res.body.cost.imageSteps, 40 * 60_000);
    const before = await total();
    const bad = await request(app.server).post('/v1/jobs').send({ ...body, data: { trainSize: 55_000, validationSize: 10_000 } }).expect(422);
    assert.ok((bad.body.error.details as { path: string; message: string }[])
      .some((d) => d.path === 'data.validationSize' && /at most 5000 are left/.test(d.message)), JSON.stringify(bad.body));
    const keepBest = await request(app.server).post('/v1/jobs').send({ ...body, training: { ...body.training, keep: 'best-validation' } }).expect(422);
    assert.ok((keepBest.body.error.details as { path: string }[]).some((d) => d.path === 'training.average'), JSON.stringify(keepBest.body));
    assert.equal(await total(), before, 'nothing queued');
  });

  test('?dryRun=true costs a job and queues nothing; a real submit carries the same cost', async () => {
    const before = await total();
    const dry = await request(app.server).post('/v1/jobs?dryRun=true').send({ preset: 'ch6-ensemble' }).expect(200);
    assert.equal(dry.body.dryRun, true);
    assert.equal(dry.body.experiment.ensemble.size, 5);
    assert.equal(dry.body.cost.imageSteps, 5 * 40 * 250_000);
    assert.equal(dry.body.cost.params, 1_672_570);
    assert.equal(dry.body.budgets.MAX_JOB_IMAGE_STEPS, 100_000_000);
    assert.equal((await request(app.server).post('/v1/jobs?dryRun=1').send(smallJob()).expect(200)).body.dryRun, true);
    assert.equal(await total(), before, 'nothing queued');
    const real = await request(app.server).post('/v1/jobs?dryRun=false').send(smallJob()).expect(202);
    const again = await request(app.server).post('/v1/jobs?dryRun=true').send(smallJob()).expect(200);
    assert.deepEqual(real.body.cost, again.body.cost);
    assert.equal(real.body.cost.imageSteps, 2 * 3000);
    await request(app.server).post('/v1/jobs?dryRun=maybe').send(smallJob()).expect(400);
  });

  test('list paginates newest first', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await request(app.server).post('/v1/jobs').send(smallJob()).expect(202)).body.id);
    const page1 = await request(app.server).get('/v1/jobs?limit=2&offset=0').expect(200);
    assert.deepEqual(page1.body.items.map((j: { id: string }) => j.id), [ids[2], ids[1]]);
    const page2 = await request(app.server).get('/v1/jobs?limit=2&offset=2').expect(200);
    assert.equal(page2.body.items[0].id, ids[0]);
    assert.ok(page2.body.total >= 4);
  });

  test('unknown jobs are 404 JSON; bad queries are 400', async () => {
    for (const path of ['/v1/jobs/nope', '/v1/jobs/nope/events']) {
      const res = await request(app.server).get(path).expect(404);
      assert.equal(res.body.error.code, 'not_found');
    }
    await request(app.server).post('/v1/jobs/nope/cancel').expect(404);
    for (const path of ['/v1/jobs/bad%20id!', '/v1/jobs?status=sleeping', '/v1/jobs?limit=0', '/v1/jobs?limit=1000', '/v1/jobs?offset=-1', '/v1/jobs?limit=abc']) {
      const res = await request(app.server).get(path);
      assert.equal(res.status, 400, path);
      assert.equal(res.body.error.code, 'validation_failed');
    }
  });
});
