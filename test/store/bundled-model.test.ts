// The bundled model (models/bundled/): installed as `default` on a store without one, exactly once
// (not again after a restart, nor after the user deleted it), never over a user's `default`, and a
// corrupted copy refused before anything is written. Real Redis, real files, the real app: once
// installed, POST /v1/predict answers with it and GET /v1/models/{id} shows its card.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import request from 'supertest';
import { createPredictor, loadModel } from '../../src/engine/index.ts';
import { evaluateRealWorld } from '../../src/eval/realworld.ts';
import {
  BundledModelError, bundledMarkerKey, installBundledAtStart, installBundledModel, verifyBundle,
} from '../../src/store/bundled-model.ts';
import { testDigits, toUnitPixels } from '../fixtures/mnist-digits.ts';
import { startTestApp, type TestApp } from '../fixtures/test-app.ts';
import { smallModel } from '../fixtures/trained-model.ts';

const BUNDLE = resolve('models/bundled');
let t: TestApp;
before(async () => {
  t = await startTestApp('bundled');
});
after(() => t.close());

const install = (dir = BUNDLE) =>
  installBundledModel({ dir, models: t.models, aliases: t.aliases, redis: t.redis, prefix: t.config.QUEUE_PREFIX, load: loadModel });

async function resetStore() {
  for (const m of await t.models.list()) await t.models.delete(m.id);
  await t.aliases.delete('default');
  await t.redis.del(bundledMarkerKey(t.config.QUEUE_PREFIX));
}

async function corruptedCopy(file: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'nndl-bundle-'));
  for (const f of ['model.json', 'weights.bin', 'card.json', 'SHA256SUMS']) await copyFile(join(BUNDLE, f), join(dir, f));
  const bytes = await readFile(join(dir, file));
  const at = Math.floor(bytes.length / 2);
  bytes[at] = bytes[at]! ^ 0x01; // one bit
  await writeFile(join(dir, file), bytes);
  return dir;
}

test('the committed bundle matches its SHA256SUMS and card', async () => {
  const { sha256, card } = await verifyBundle(BUNDLE);
  assert.match(sha256, /^[0-9a-f]{64}$/);
  const model = await loadModel(BUNDLE);
  assert.equal(card.mnistTestAccuracy, model.testAccuracy);
  assert.ok(model.testAccuracy > 0.99);
  assert.ok(model.experiment.data.augment, 'trained with augmentation');
});

test('the card\'s real-world figures are what the real-world set measures today (a preprocessing change updates the card)', async () => {
  const { card } = await verifyBundle(BUNDLE);
  const r = await evaluateRealWorld(createPredictor(await loadModel(BUNDLE)));
  assert.ok(card.realWorld, 'the card has real-world figures');
  assert.equal(card.realWorld.accuracy, Math.round(r.accuracy * 1e4) / 1e4, 'overall, 4 decimals');
  assert.deepEqual(card.realWorld.perCategory, Object.fromEntries(r.categories.map((c) => [c.category, c.accuracy])));
});

test('installed once as default on an empty store: predict answers at once, the card shows; a restart does not install again', async () => {
  await resetStore();
  const r = await install();
  assert.equal(r.status, 'installed');
  const id = (r as { modelId: string }).modelId;
  assert.equal(await t.aliases.resolve('default'), id);

  const digits = testDigits(20, 300);
  const res = await request(t.server).post('/v1/predict').send({ instances: digits.map(toUnitPixels) }).expect(200);
  assert.equal(res.body.modelId, id);
  const right = res.body.predictions.filter((p: { digit: number }, i: number) => p.digit === digits[i]!.label).length;
  assert.ok(right >= 19, `${right}/20 right`);

  const card = (await request(t.server).get(`/v1/models/${id}`).expect(200)).body.card;
  assert.equal(card.source, 'bundled');
  assert.match(card.trainedOn, /MNIST/);
  assert.ok(card.mnistTestAccuracy > 0.99);
  assert.ok(card.realWorld.accuracy > 0 && card.realWorld.perCategory['photo-clean'] !== undefined);
  assert.equal(card.sha256, (await verifyBundle(BUNDLE)).sha256);

  assert.deepEqual(await install(), { status: 'default-exists', modelId: id }); // the next start
  await t.aliases.delete('default'); // the user unsets default: still not installed again
  assert.equal((await install()).status, 'already-installed');
  await t.aliases.set('default', id);
  assert.equal(await t.models.count(), 1);
  // the user deletes it: it does not come back at the next start
  await request(t.server).delete(`/v1/models/${id}`).expect(200);
  assert.equal((await install()).status, 'already-installed');
  assert.equal(await t.models.count(), 0);
  assert.equal(await t.aliases.resolve('default'), null);
});

test("never over a user's default", async () => {
  await resetStore();
  const mine = await t.saveModel(await smallModel(), { name: 'mine' });
  await t.aliases.set('default', mine.id);
  const r = await install();
  assert.deepEqual(r, { status: 'default-exists', modelId: mine.id });
  assert.equal(await t.aliases.resolve('default'), mine.id);
  assert.equal(await t.models.count(), 1);
  assert.equal(await t.redis.get(bundledMarkerKey(t.config.QUEUE_PREFIX)), null, 'not marked: it was not installed');
});

for (const file of ['weights.bin', 'model.json', 'card.json']) {
  test(`a corrupted ${file} is refused before anything is written`, async () => {
    await resetStore();
    const dir = await corruptedCopy(file);
    try {
      await assert.rejects(install(dir), (err: Error) => err instanceof BundledModelError && err.message.includes(file) && /corrupted/.test(err.message));
      assert.equal(await t.models.count(), 0);
      assert.equal(await t.aliases.resolve('default'), null);
      assert.equal(await t.redis.get(bundledMarkerKey(t.config.QUEUE_PREFIX)), null);
      // the start-up step logs it and goes on
      const errors: object[] = [];
      const r = await installBundledAtStart({ ...t.config, BUNDLED_MODEL_DIR: dir }, { info: () => {}, error: (o) => errors.push(o) });
      assert.equal(r, null);
      assert.equal(errors.length, 1);
      assert.equal(await t.models.count(), 0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}

test('the start-up step installs from BUNDLED_MODEL_DIR (relative to the project root), and "off" installs nothing', async () => {
  await resetStore();
  assert.equal(await installBundledAtStart({ ...t.config, BUNDLED_MODEL_DIR: 'off' }, { info: () => {}, error: () => {} }), null);
  assert.equal(await t.models.count(), 0);
  const r = await installBundledAtStart({ ...t.config, BUNDLED_MODEL_DIR: 'models/bundled' }, { info: () => {}, error: () => {} });
  assert.equal(r?.status, 'installed');
  assert.equal(await t.aliases.resolve('default'), (r as { modelId: string }).modelId);
});
