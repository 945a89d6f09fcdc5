// The model registry and aliases over REST, with real saved models.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import request from 'supertest';
import { testDigits, toUnitPixels } from '../fixtures/mnist-digits.ts';
import { startTestApp, type TestApp } from '../fixtures/test-app.ts';
import { storeKeys } from '../../src/store/store-keys.ts';
import { smallModel } from '../fixtures/trained-model.ts';

let t: TestApp;
before(async () => {
  t = await startTestApp('models');
});
after(() => t.close());

const pixels = toUnitPixels(testDigits(1)[0]!);

test('GET /v1/models: empty, then newest first with aliases, paginated', async () => {
  const empty = await request(t.server).get('/v1/models');
  assert.deepEqual(empty.body, { items: [], total: 0, limit: 50, offset: 0 });
  const model = await smallModel();
  const a = await t.saveModel(model, { name: 'first', jobId: 'job-a' });
  await new Promise((r) => setTimeout(r, 5));
  const b = await t.saveModel(model, { name: 'second' });
  await t.aliases.set('default', a.id);
  const res = await request(t.server).get('/v1/models');
  assert.equal(res.status, 200);
  assert.equal(res.body.total, 2);
  assert.deepEqual(res.body.items.map((m: { id: string }) => m.id), [b.id, a.id]);
  const first = res.body.items[1];
  assert.equal(first.name, 'first');
  assert.equal(first.jobId, 'job-a');
  assert.equal(first.preset, 'ch1-mlp30');
  assert.deepEqual(first.aliases, ['default']);
  assert.equal(first.testAccuracy, model.testAccuracy);
  assert.equal(first.members, 1);
  assert.equal(first.experiment, undefined, 'the list is a summary');
  const page = await request(t.server).get('/v1/models?limit=1&offset=1');
  assert.deepEqual(page.body.items.map((m: { id: string }) => m.id), [a.id]);
  assert.equal(page.body.total, 2);
  for (const q of ['limit=0', 'limit=501', 'offset=-1', 'limit=abc']) {
    const bad = await request(t.server).get(`/v1/models?${q}`);
    assert.equal(bad.status, 400, q);
    assert.equal(bad.body.error.code, 'validation_failed');
  }
  await t.models.delete(a.id);
  await t.models.delete(b.id);
  await t.aliases.delete('default');
});

test('GET /v1/models/:id: experiment, history, test accuracy, confusion matrix; by id or alias', async () => {
  const model = await smallModel();
  const rec = await t.saveModel(model, { name: 'detail' });
  await t.aliases.set('best', rec.id);
  for (const ref of [rec.id, 'best']) {
    const res = await request(t.server).get(`/v1/models/${ref}`);
    assert.equal(res.status, 200, res.text);
    const m = res.body;
    assert.equal(m.id, rec.id);
    assert.deepEqual(m.aliases, ['best']);
    assert.equal(m.experiment.preset, 'ch1-mlp30');
    assert.equal(m.experiment.data.trainSize, model.experiment.data.trainSize);
    assert.equal(m.history.length, 2);
    assert.equal(m.history[1].epoch, model.members[0]!.history[1]!.epoch);
    assert.equal(typeof m.history[0].validationAccuracy, 'number');
    assert.equal(m.confusion.length, 10);
    assert.ok(m.confusion.every((row: number[]) => row.length === 10));
    const total = m.confusion.flat().reduce((s: number, v: number) => s + v, 0);
    const diagonal = m.confusion.reduce((s: number, row: number[], i: number) => s + row[i]!, 0);
    assert.equal(total, 10_000);
    assert.ok(Math.abs(diagonal / total - m.testAccuracy) < 1e-9);
  }
  await t.models.delete(rec.id);
  await t.aliases.delete('best');
});

test('aliases: PUT creates and moves, GET lists, DELETE removes; unknown model 404; bad name 422', async () => {
  const model = await smallModel();
  const a = await t.saveModel(model);
  const b = await t.saveModel(model);
  const put = await request(t.server).put('/v1/aliases/default').send({ modelId: a.id });
  assert.equal(put.status, 200);
  assert.deepEqual(put.body, { name: 'default', modelId: a.id });
  assert.equal((await request(t.server).post('/v1/predict').send({ pixels })).body.modelId, a.id);
  await request(t.server).put('/v1/aliases/default').send({ modelId: b.id }).expect(200);
  await request(t.server).put('/v1/aliases/prod.v2').send({ modelId: b.id }).expect(200);
  assert.equal((await request(t.server).post('/v1/predict').send({ pixels })).body.modelId, b.id);
  assert.deepEqual((await request(t.server).get('/v1/aliases')).body, { default: b.id, 'prod.v2': b.id });

  const unknown = await request(t.server).put('/v1/aliases/x').send({ modelId: 'm-not-there' });
  assert.equal(unknown.status, 404);
  assert.equal(unknown.body.error.code, 'not_found');
  // an alias is not a model id
  assert.equal((await request(t.server).put('/v1/aliases/x').send({ modelId: 'default' })).status, 404);
  for (const [name, body, status] of [
    ['bad%20name', { modelId: a.id }, 422],
    ['-dash', { modelId: a.id }, 422],
    ['ok', {}, 422],
    ['ok', { modelId: 5 }, 422],
    ['ok', { modelId: a.id, extra: true }, 422],
  ] as const) {
    const res = await request(t.server).put(`/v1/aliases/${name}`).send(body);
    assert.equal(res.status, status, `${name} ${JSON.stringify(body)}: ${res.text}`);
    assert.equal(typeof res.body.error.message, 'string');
  }
  assert.deepEqual((await request(t.server).get('/v1/aliases')).body, { default: b.id, 'prod.v2': b.id });

  const del = await request(t.server).delete('/v1/aliases/prod.v2');
  assert.equal(del.status, 200);
  assert.deepEqual(del.body, { name: 'prod.v2', modelId: b.id });
  assert.equal((await request(t.server).delete('/v1/aliases/prod.v2')).status, 404);
  assert.deepEqual((await request(t.server).get('/v1/aliases')).body, { default: b.id });
  await t.models.delete(a.id);
  await t.models.delete(b.id);
  await t.aliases.delete('default');
});

test('DELETE /v1/models/:id removes the files, its aliases and the cached copy; others stay', async () => {
  const model = await smallModel();
  const keep = await t.saveModel(model);
  const gone = await t.saveModel(model);
  await t.aliases.set('default', gone.id);
  await t.aliases.set('other', gone.id);
  await t.aliases.set('kept', keep.id);
  // load it into the cache
  assert.equal((await request(t.server).post('/v1/predict').send({ pixels })).status, 200);
  // by alias is refused: delete takes ids
  assert.equal((await request(t.server).delete('/v1/models/default')).status, 404);
  const res = await request(t.server).delete(`/v1/models/${gone.id}`);
  assert.equal(res.status, 200);
  assert.deepEqual(res.body, { id: gone.id, deleted: true, aliasesRemoved: ['default', 'other'] });
  assert.equal((await request(t.server).get(`/v1/models/${gone.id}`)).status, 404);
  assert.equal((await request(t.server).post(`/v1/models/${gone.id}/predict`).send({ pixels })).status, 404);
  const noDefault = await request(t.server).post('/v1/predict').send({ pixels });
  assert.equal(noDefault.status, 404);
  assert.match(noDefault.body.error.message, /no default model/);
  assert.deepEqual((await request(t.server).get('/v1/aliases')).body, { kept: keep.id });
  assert.deepEqual(await readdir(t.models.modelsDir).then((d) => d.filter((n) => !n.startsWith('.'))), [keep.id]);
  assert.equal((await request(t.server).delete(`/v1/models/${gone.id}`)).status, 404);
  assert.equal((await request(t.server).post('/v1/models/kept/predict').send({ pixels })).status, 200);
  await t.models.delete(keep.id);
  await t.aliases.delete('kept');
});

test('predict caches alias resolution (PREDICT_RESOLVE_TTL_MS); changes through the API apply at once', async () => {
  const c = await startTestApp('models-ttl', { PREDICT_RESOLVE_TTL_MS: '60000' });
  try {
    const model = await smallModel();
    const a = await c.saveModel(model);
    const b = await c.saveModel(model);
    await c.aliases.set('default', a.id);
    const predictWith = async () => (await request(c.server).post('/v1/predict').send({ pixels })).body.modelId;
    assert.equal(await predictWith(), a.id);
    await request(c.server).put('/v1/aliases/default').send({ modelId: b.id }).expect(200);
    assert.equal(await predictWith(), b.id, 'an alias set through this API applies at once');
    await c.aliases.set('default', a.id); // behind the API's back (e.g. another instance)
    assert.equal(await predictWith(), b.id, 'within the TTL the resolved id is reused');
    await request(c.server).delete(`/v1/models/${b.id}`).expect(200);
    assert.equal(await predictWith(), a.id, 'a delete through this API forgets every resolution');
    // GET reads the registry fresh, whatever predict has cached
    assert.equal(await c.aliases.set('default', b.id), false, 'no alias to a deleted model');
    await c.redis.hset(storeKeys(c.config.QUEUE_PREFIX).aliases, 'default', b.id); // as an older version could leave it
    assert.equal((await request(c.server).get('/v1/models/default')).status, 404);
  } finally {
    await c.close();
  }
});

test('a model whose files vanished (deleted by another instance mid-way) is a 404, not a 500', async () => {
  const { rm } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const rec = await t.saveModel(await smallModel());
  await rm(join(t.models.modelsDir, rec.id), { recursive: true });
  const res = await request(t.server).post(`/v1/models/${rec.id}/predict`).send({ pixels });
  assert.equal(res.status, 404, res.text);
  assert.match(res.body.error.message, /no longer exists/);
  await t.models.delete(rec.id);
});
