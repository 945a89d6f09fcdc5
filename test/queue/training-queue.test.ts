// TrainingQueue against a real Redis, no worker: submit, read, list, cancel queued jobs,
// follow events, retention.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveExperiment } from '../../src/engine/index.ts';
import { ApiError } from '../../src/errors.ts';
import { TrainingQueue, type JobEvent } from '../../src/queue/index.ts';
import { cleanup, smallJob, tempDataDir, testConfig, uniquePrefix } from './queue-helpers.ts';

describe('TrainingQueue (no worker)', () => {
  const prefix = uniquePrefix('queue');
  let dataDir: string;
  let queue: TrainingQueue;

  before(async () => {
    dataDir = await tempDataDir();
    queue = new TrainingQueue({ config: testConfig(prefix, dataDir, { JOB_RETENTION_COUNT: '3' }) });
  });
  after(async () => {
    await queue.close();
    await cleanup(prefix, dataDir);
  });

  const experiment = () => resolveExperiment(smallJob());

  test('submit returns a queued record that get() reads back', async () => {
    const rec = await queue.submit(experiment(), { name: 'first' });
    assert.equal(rec.status, 'queued');
    assert.equal(rec.name, 'first');
    assert.deepEqual(rec.progress, { epoch: 0, epochs: 2 });
    assert.deepEqual(rec.metrics, []);
    const got = await queue.get(rec.id);
    assert.deepEqual(got, rec);
    assert.equal(await queue.get('no-such-job'), null);
  });

  test('list is newest first, paginated, filtered by status; counts agree', async () => {
    const a = await queue.submit(experiment(), {});
    const b = await queue.submit(experiment(), {});
    await queue.cancel(a.id);
    const page = await queue.list({ limit: 2, offset: 0 });
    assert.equal(page.total, 3);
    assert.deepEqual(page.items.map((j) => j.id), [b.id, a.id]);
    const rest = await queue.list({ limit: 2, offset: 2 });
    assert.equal(rest.items.length, 1);
    const queued = await queue.list({ status: 'queued', limit: 10, offset: 0 });
    assert.deepEqual(queued.items.map((j) => j.status), ['queued', 'queued']);
    const cancelled = await queue.list({ status: 'cancelled', limit: 10, offset: 0 });
    assert.deepEqual(cancelled.items.map((j) => j.id), [a.id]);
    const counts = await queue.counts();
    assert.equal(counts.queued, 2);
    assert.equal(counts.cancelled, 1);
    assert.equal(counts.running + counts.completed + counts.failed, 0);
  });

  test('cancel of a queued job removes it; a second cancel is 409; unknown is 404', async () => {
    const rec = await queue.submit(experiment(), {});
    const done = await queue.cancel(rec.id);
    assert.equal(done.status, 'cancelled');
    assert.ok(done.finishedAt);
    assert.equal((await queue.get(rec.id))?.status, 'cancelled');
    await assert.rejects(queue.cancel(rec.id), (e: unknown) => e instanceof ApiError && e.status === 409);
    await assert.rejects(queue.cancel('missing'), (e: unknown) => e instanceof ApiError && e.status === 404);
  });

  test('events: a follower of a queued job sees the cancel as its end event', async () => {
    const rec = await queue.submit(experiment(), {});
    const ac = new AbortController();
    const seen: JobEvent[] = [];
    const following = (async () => {
      for await (const e of queue.events(rec.id, ac.signal)) seen.push(e);
    })();
    await new Promise((r) => setTimeout(r, 200));
    await queue.cancel(rec.id);
    await following;
    assert.equal(seen.at(-1)?.type, 'cancelled');
    // Following a finished job replays its end at once.
    const again: JobEvent[] = [];
    for await (const e of queue.events(rec.id, ac.signal)) again.push(e);
    assert.deepEqual(again.map((e) => e.type), ['cancelled']);
  });

  test('events of an unknown job throw 404', async () => {
    const it = queue.events('nope', new AbortController().signal)[Symbol.asyncIterator]();
    await assert.rejects(it.next(), (e: unknown) => e instanceof ApiError && e.status === 404);
  });

  test('retention keeps at most JOB_RETENTION_COUNT finished jobs per state', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await queue.submit(experiment(), {});
      await queue.cancel(r.id);
      ids.push(r.id);
    }
    const cancelled = await queue.list({ status: 'cancelled', limit: 100, offset: 0 });
    assert.equal(cancelled.total, 3);
    assert.deepEqual(cancelled.items.map((j) => j.id), ids.slice(2).reverse());
    assert.equal(await queue.get(ids[0]!), null);
  });
});
