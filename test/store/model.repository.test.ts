import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { ModelRepository } from '../../src/store/model.repository.ts';
import { fakeModel, jsonFiles } from '../fixtures/fake-model.ts';
import { connectRedis, REDIS_URL, tempDir, uniquePrefix, wipePrefix } from '../fixtures/redis.ts';
import type { TrainedModel } from '../../src/engine/index.ts';

let redis: Redis;
const prefix = uniquePrefix('models');

before(() => {
  redis = connectRedis();
});
after(async () => {
  await wipePrefix(redis, prefix);
  redis.disconnect();
});

test('save, get, list (newest first), load round-trips the weights, delete', async () => {
  const dir = await tempDir('store');
  const repo = new ModelRepository({ dataDir: dir.path, redis, prefix: `${prefix}:a`, files: jsonFiles });
  const m1 = fakeModel(1);
  const r1 = await repo.save(m1, { name: 'first', jobId: 'job-1' });
  await new Promise((r) => setTimeout(r, 5));
  const r2 = await repo.save(fakeModel(2), {});
  assert.equal(r1.name, 'first');
  assert.equal(r1.jobId, 'job-1');
  assert.equal(r1.preset, 'ch1-mlp30');
  assert.equal(r1.bytes, 7850 * 4);
  assert.equal(r1.members, 1);
  assert.deepEqual(await repo.get(r1.id), r1);
  assert.deepEqual((await repo.list()).map((r) => r.id), [r2.id, r1.id]);
  assert.deepEqual((await repo.list({ limit: 1, offset: 1 })).map((r) => r.id), [r1.id]);
  assert.equal(await repo.count(), 2);
  const loaded = (await repo.load(r1.id)) as TrainedModel;
  assert.deepEqual(Array.from(loaded.members[0]!.params.slice(0, 5)), Array.from(m1.members[0]!.params.slice(0, 5)));
  assert.equal(await repo.delete(r1.id), true);
  assert.equal(await repo.delete(r1.id), false);
  assert.equal(await repo.get(r1.id), null);
  await assert.rejects(repo.load(r1.id), /not found/);
  assert.deepEqual(await readdir(repo.modelsDir).then((d) => d.filter((n) => !n.startsWith('.'))), [r2.id]);
  await dir.remove();
});

test('ids that could escape the store are never used as paths', async () => {
  const dir = await tempDir('store');
  const repo = new ModelRepository({ dataDir: dir.path, redis, prefix: `${prefix}:b`, files: jsonFiles });
  for (const id of ['../x', '..', 'a/b', '', '.tmp', 'x'.repeat(65)]) {
    assert.equal(await repo.get(id), null);
    assert.equal(await repo.delete(id), false);
    await assert.rejects(repo.load(id));
  }
  await dir.remove();
});

test('a failed save leaves nothing listed and no files (temp files removed)', async () => {
  const dir = await tempDir('store');
  const repo = new ModelRepository({
    dataDir: dir.path,
    redis,
    prefix: `${prefix}:c`,
    files: { save: async () => { throw new Error('disk full'); }, load: jsonFiles.load },
  });
  await assert.rejects(repo.save(fakeModel(), {}), /disk full/);
  assert.deepEqual(await repo.list(), []);
  assert.deepEqual(await readdir(join(repo.modelsDir, '.tmp')), []);
  await dir.remove();
});

test('a process killed mid-save leaves no half model listed; reconcile removes the debris', async () => {
  const dir = await tempDir('store');
  const p = `${prefix}:d`;
  const child = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'crash-save.child.ts'), dir.path, p, REDIS_URL], { encoding: 'utf8' });
  assert.equal(child.signal, 'SIGKILL', child.stderr);
  const repo = new ModelRepository({ dataDir: dir.path, redis, prefix: p, files: jsonFiles });
  assert.deepEqual(await repo.list(), []);
  assert.equal((await readdir(join(repo.modelsDir, '.tmp'))).length, 1); // the debris
  assert.deepEqual(await repo.reconcile({ staleMs: 0 }), { removedTemp: 1, indexed: 0, finishedDeletes: 0, skipped: [], aliasesRemoved: [], missingFiles: [] });
  assert.deepEqual(await readdir(join(repo.modelsDir, '.tmp')), []);
  assert.deepEqual(await repo.list(), []);
  await dir.remove();
});

test('reconcile indexes a complete model whose indexing a crash interrupted', async () => {
  const dir = await tempDir('store');
  const repo = new ModelRepository({ dataDir: dir.path, redis, prefix: `${prefix}:e`, files: jsonFiles });
  const rec = await repo.save(fakeModel(), {});
  await wipePrefix(redis, `${prefix}:e`); // as if Redis never got the index
  assert.deepEqual(await repo.list(), []);
  assert.deepEqual(await repo.reconcile(), { removedTemp: 0, indexed: 1, finishedDeletes: 0, skipped: [], aliasesRemoved: [], missingFiles: [] });
  assert.deepEqual(await repo.get(rec.id), rec);
  await dir.remove();
});

test('reconcile names indexed models whose files are gone, and leaves them indexed (the files may come back)', async () => {
  const dir = await tempDir('store');
  const repo = new ModelRepository({ dataDir: dir.path, redis, prefix: `${prefix}:m`, files: jsonFiles });
  const kept = await repo.save(fakeModel(1), {});
  const lost = await repo.save(fakeModel(2), {});
  const moved = `${dir.path}/elsewhere`;
  await rename(join(repo.modelsDir, lost.id), moved); // as if DATA_DIR lost it (another disk, a wiped volume)
  const logged: Record<string, unknown>[] = [];
  const report = await repo.reconcile({ log: (_msg, extra) => logged.push(extra) });
  assert.deepEqual(report.missingFiles, [lost.id]);
  assert.deepEqual(logged, [{ count: 1, models: [lost.id], modelsDir: repo.modelsDir }]);
  assert.ok(await repo.exists(lost.id), 'still indexed');
  assert.ok(!(await repo.isDeleted(lost.id)), 'no tombstone');
  await assert.rejects(repo.load(lost.id), /not found/);
  // the files come back: nothing is missing any more, and the model loads
  await rename(moved, join(repo.modelsDir, lost.id));
  assert.deepEqual((await repo.reconcile()).missingFiles, []);
  assert.ok(await repo.load(lost.id));
  assert.ok(await repo.load(kept.id));
  await dir.remove();
});
