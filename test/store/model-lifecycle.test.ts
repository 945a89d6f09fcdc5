// Nothing lost, nothing resurrected: one model per job whatever the redeliveries, a delete
// survives a crash and a restart, boot repair skips a corrupt record and goes on, and a full
// disk fails a save cleanly (through a seam, and for real on a tiny tmpfs where one can be mounted).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { AliasRepository } from '../../src/store/alias.repository.ts';
import { CheckpointRepository } from '../../src/store/checkpoint.repository.ts';
import { modelIdForJob } from '../../src/store/model-record.ts';
import { ModelDeletedError, ModelRepository, StoreFullError } from '../../src/store/model.repository.ts';
import { fakeModel, jsonFiles } from '../fixtures/fake-model.ts';
import { connectRedis, tempDir, uniquePrefix, wipePrefix } from '../fixtures/redis.ts';
import type { TrainedModel } from '../../src/engine/index.ts';

let redis: Redis;
const prefix = uniquePrefix('lifecycle');
before(() => {
  redis = connectRedis();
});
after(async () => {
  await wipePrefix(redis, prefix);
  redis.disconnect();
});

const modelDirs = async (repo: ModelRepository) => (await readdir(repo.modelsDir)).filter((n) => !n.startsWith('.')).sort();
const hidden = async (repo: ModelRepository, name: string) => readdir(join(repo.modelsDir, name)).catch(() => [] as string[]);

test('a job saves one model, keyed by its id: a second save (redelivery) or two at once (duplicate delivery) get the same one', async () => {
  const dir = await tempDir('lifecycle');
  const p = `${prefix}:once`;
  const repo = new ModelRepository({ dataDir: dir.path, redis, prefix: p, files: jsonFiles });
  const [a, b] = await Promise.all([repo.save(fakeModel(1), { jobId: 'job-dup' }), repo.save(fakeModel(2), { jobId: 'job-dup' })]);
  assert.equal(a!.id, modelIdForJob('job-dup'));
  assert.deepEqual(b, a, 'the duplicate got the first model back');
  const again = await repo.save(fakeModel(3), { jobId: 'job-dup' });
  assert.deepEqual(again, a);
  assert.deepEqual((await repo.list()).map((r) => r.id), [a!.id]);
  assert.deepEqual(await modelDirs(repo), [a!.id]);
  assert.deepEqual(await hidden(repo, '.tmp'), [], 'the loser\'s temp dir is gone');
  assert.deepEqual(await repo.findForJob('job-dup'), { state: 'saved', record: a });
  assert.equal(await repo.findForJob('job-other'), null);
  await dir.remove();
});

test('a job model on disk but never indexed (crash between rename and index) is found and indexed, not saved twice', async () => {
  const dir = await tempDir('lifecycle');
  const p = `${prefix}:unindexed`;
  const repo = new ModelRepository({ dataDir: dir.path, redis, prefix: p, files: jsonFiles });
  const rec = await repo.save(fakeModel(1), { jobId: 'job-x' });
  await wipePrefix(redis, p); // as if the index never got it
  assert.deepEqual(await repo.findForJob('job-x'), { state: 'saved', record: rec });
  assert.deepEqual((await repo.list()).map((r) => r.id), [rec.id]);
  await dir.remove();
});

test('delete + restart → still deleted, even when the process died between unlisting and removing the files', async () => {
  const dir = await tempDir('lifecycle');
  const p = `${prefix}:delete`;
  const repo = new ModelRepository({ dataDir: dir.path, redis, prefix: p, files: jsonFiles });
  const aliases = new AliasRepository({ redis, prefix: p });
  const clean = await repo.save(fakeModel(1), {});
  const interrupted = await repo.save(fakeModel(2), { jobId: 'job-del' });
  const kept = await repo.save(fakeModel(3), {});
  await aliases.set('default', interrupted.id);
  await aliases.set('best', kept.id);

  assert.equal(await repo.delete(clean.id), true);
  // the API's delete route, killed after its first step (Redis) and before the files went
  assert.deepEqual(await repo.unlist(interrupted.id), { deleted: true, aliasesRemoved: ['default'] });
  assert.deepEqual(await modelDirs(repo), [interrupted.id, kept.id].sort(), 'its files are still there');
  assert.equal(await aliases.set('default', interrupted.id), false, 'no alias to a deleted model');

  // restart: a fresh repository runs the boot repair
  const logs: string[] = [];
  const restarted = new ModelRepository({ dataDir: dir.path, redis, prefix: p, files: jsonFiles });
  const report = await restarted.reconcile({ log: (msg, extra) => logs.push(`${msg} ${JSON.stringify(extra)}`) });
  assert.equal(report.indexed, 0, 'nothing re-indexed');
  assert.equal(report.finishedDeletes, 1);
  assert.deepEqual((await restarted.list()).map((r) => r.id), [kept.id]);
  assert.equal(await restarted.get(interrupted.id), null);
  assert.equal(await restarted.get(clean.id), null);
  assert.deepEqual(await modelDirs(restarted), [kept.id], 'the interrupted delete was finished');
  assert.deepEqual(await hidden(restarted, '.trash'), []);
  assert.match(logs.join('\n'), new RegExp(`finished an interrupted delete.*${interrupted.id}`));
  assert.deepEqual(await aliases.list(), { best: kept.id });

  // the job that made it, redelivered, does not bring it back either
  assert.deepEqual(await restarted.findForJob('job-del'), { state: 'deleted', id: interrupted.id });
  await assert.rejects(restarted.save(fakeModel(2), { jobId: 'job-del' }), ModelDeletedError);
  assert.deepEqual(await modelDirs(restarted), [kept.id]);
  // and a second boot repair changes nothing
  assert.deepEqual(await restarted.reconcile(), { removedTemp: 0, indexed: 0, finishedDeletes: 0, skipped: [], aliasesRemoved: [], missingFiles: [] });
  await dir.remove();
});

test('boot repair skips (and logs) a corrupt record.json and still repairs the models after it', async () => {
  const dir = await tempDir('lifecycle');
  const p = `${prefix}:corrupt`;
  const repo = new ModelRepository({ dataDir: dir.path, redis, prefix: p, files: jsonFiles });
  const good = await repo.save(fakeModel(1), {});
  const wrongId = await repo.save(fakeModel(2), {});
  // sorts before the good ones, so a repair that stopped at it would miss them
  const corrupt = 'a0corrupt';
  await mkdir(join(repo.modelsDir, corrupt));
  await writeFile(join(repo.modelsDir, corrupt, 'record.json'), '{"id":"a0corrupt","createdAt":'); // cut short
  const noRecord = 'a1norecord';
  await mkdir(join(repo.modelsDir, noRecord));
  const recordJson = await readFile(join(repo.modelsDir, wrongId.id, 'record.json'), 'utf8');
  await writeFile(join(repo.modelsDir, wrongId.id, 'record.json'), recordJson.replace(wrongId.id, good.id));
  await wipePrefix(redis, p); // lose the index: everything must come from the directories

  const logs: string[] = [];
  const report = await repo.reconcile({ log: (msg, extra) => logs.push(`${msg} ${JSON.stringify(extra)}`) });
  assert.equal(report.indexed, 1);
  assert.deepEqual(report.skipped.map((s) => s.id).sort(), [corrupt, noRecord, wrongId.id].sort());
  assert.match(report.skipped.find((s) => s.id === corrupt)!.reason, /not JSON/);
  assert.match(report.skipped.find((s) => s.id === wrongId.id)!.reason, /names model/);
  assert.deepEqual((await repo.list()).map((r) => r.id), [good.id]);
  assert.match(logs.join('\n'), /skipped by boot repair.*a0corrupt.*not JSON/);
  await dir.remove();
});

test('boot repair removes an alias that points at no registered model', async () => {
  const dir = await tempDir('lifecycle');
  const p = `${prefix}:dangling`;
  const repo = new ModelRepository({ dataDir: dir.path, redis, prefix: p, files: jsonFiles });
  const rec = await repo.save(fakeModel(1), {});
  const aliases = new AliasRepository({ redis, prefix: p });
  await aliases.set('default', rec.id);
  await redis.hset(`${p}:aliases`, 'stale', 'mgone'); // as an older version could leave it
  const report = await repo.reconcile();
  assert.deepEqual(report.aliasesRemoved, ['stale']);
  assert.deepEqual(await aliases.list(), { default: rec.id });
  await dir.remove();
});

const enospc = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28 });

test('disk full on save (injected ENOSPC) → StoreFullError with a clear reason; nothing indexed, no temp files', async () => {
  const dir = await tempDir('lifecycle');
  const p = `${prefix}:enospc`;
  const repo = new ModelRepository({
    dataDir: dir.path, redis, prefix: p,
    files: { async save(d, m) { await jsonFiles.save(d, m); throw enospc(); }, load: jsonFiles.load },
  });
  const err = await repo.save(fakeModel(), { jobId: 'job-full' }).then(() => null, (e: unknown) => e);
  assert.ok(err instanceof StoreFullError, String(err));
  assert.match(err.message, /no space left on the device while saving model mj[0-9a-f]{20} in .*models/);
  assert.deepEqual(await repo.list(), []);
  assert.deepEqual(await modelDirs(repo), []);
  assert.deepEqual(await hidden(repo, '.tmp'), []);
  assert.equal(await repo.findForJob('job-full'), null, 'a later attempt may save it');
  await dir.remove();
});

/** Mounts a tmpfs of `bytes` (needs root / CAP_SYS_ADMIN); null where it cannot. */
function mountTinyFs(path: string, bytes: number): (() => void) | null {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', path], { stdio: 'ignore' });
    return () => execFileSync('umount', [path], { stdio: 'ignore' });
  } catch {
    return null;
  }
}

test('disk full for real (a 64 KiB tmpfs): model and checkpoint saves fail cleanly, the store stays consistent', async (t) => {
  const dir = await tempDir('lifecycle');
  const unmount = mountTinyFs(dir.path, 64 * 1024);
  if (!unmount) {
    t.skip('cannot mount a tmpfs here (needs root); the injected-ENOSPC test above covers the logic');
    await dir.remove();
    return;
  }
  try {
    const p = `${prefix}:tmpfs`;
    // the real engine's model files: ~31 KB of weights and a model.json per model
    const repo = new ModelRepository({ dataDir: dir.path, redis, prefix: p });
    const first = await repo.save(fakeModel(1), { jobId: 'job-fits' });
    const err = await repo.save(fakeModel(2), { jobId: 'job-too-much' }).then(() => null, (e: unknown) => e);
    assert.ok(err instanceof StoreFullError, `expected a StoreFullError, got ${String(err)}`);
    assert.equal((err.cause as NodeJS.ErrnoException).code, 'ENOSPC', 'a real ENOSPC from the kernel');
    assert.deepEqual((await repo.list()).map((r) => r.id), [first.id]);
    assert.deepEqual(await modelDirs(repo), [first.id]);
    assert.deepEqual(await hidden(repo, '.tmp'), []);
    assert.deepEqual(((await repo.load(first.id)) as TrainedModel).members[0]!.params.length, 7850, 'the saved model still loads');

    const ckpts = new CheckpointRepository({ dataDir: dir.path });
    await ckpts.save('job-c', Buffer.alloc(1000, 7));
    const full = await ckpts.save('job-c', Buffer.alloc(40_000, 9)).then(() => null, (e: unknown) => e);
    assert.ok(full instanceof StoreFullError, String(full));
    assert.deepEqual(await ckpts.load('job-c'), Buffer.alloc(1000, 7), 'the previous checkpoint is kept');
    assert.deepEqual(await readdir(ckpts.dir), ['job-c.ckpt'], 'no temp file left');

    // space freed: the job that could not be saved saves now
    await repo.delete(first.id);
    const later = await repo.save(fakeModel(2), { jobId: 'job-too-much' });
    assert.deepEqual((await repo.list()).map((r) => r.id), [later.id]);
  } finally {
    unmount();
    await dir.remove();
  }
});
