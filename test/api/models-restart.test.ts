// Delete + restart → still deleted, through the real API: an API process that died between a
// delete's first step (unlisted, tombstoned, aliases gone) and the removal of the files does not
// bring the model back when the next one starts (its boot repair finishes the delete instead).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import request from 'supertest';
import { fakeModel } from '../fixtures/fake-model.ts';
import { tempDir, uniquePrefix } from '../fixtures/redis.ts';
import { startTestApp } from '../fixtures/test-app.ts';

test('a model whose delete was cut short stays deleted after the API restarts; the others come back listed', async () => {
  const dir = await tempDir('restart');
  const shared = { DATA_DIR: dir.path, QUEUE_PREFIX: uniquePrefix('restart') };
  const first = await startTestApp('restart', shared);
  let second: Awaited<ReturnType<typeof startTestApp>> | null = null;
  try {
    const gone = await first.saveModel(fakeModel(1), { jobId: 'job-gone' });
    const kept = await first.saveModel(fakeModel(2), {});
    await first.aliases.set('default', gone.id);
    await first.models.unlist(gone.id); // the delete route's first step; the process dies here
    await first.app.close(); // (not first.close(): that would wipe Redis and the data dir)
    first.redis.disconnect();

    second = await startTestApp('restart', shared); // boot repair runs before it answers
    assert.equal((await request(second.server).get(`/v1/models/${gone.id}`)).status, 404);
    const list = await request(second.server).get('/v1/models');
    assert.deepEqual(list.body.items.map((m: { id: string }) => m.id), [kept.id]);
    assert.deepEqual(await second.aliases.list(), {}, 'no default pointing at it');
    assert.deepEqual((await readdir(second.models.modelsDir)).filter((n) => !n.startsWith('.')), [kept.id], 'its files are gone');
  } finally {
    await second?.close();
    await dir.remove();
  }
});
