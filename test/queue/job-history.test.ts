// A job's metric history is bounded (MAX_EPOCH_METRICS): past the bound it is thinned to every
// 2nd, 4th, … epoch of each member (first epochs kept), the latest epoch is always in lastEpoch;
// lists return summaries (no history, no spec) with that last epoch.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import type { EpochMetrics } from '../../src/engine/index.ts';
import { resolveExperiment } from '../../src/engine/index.ts';
import { JobRecordRepository } from '../../src/queue/job-record.repository.ts';
import { startTestApp, type TestApp } from '../fixtures/test-app.ts';
import { smallJob } from './queue-helpers.ts';

let t: TestApp;
let records: JobRecordRepository;

before(async () => {
  t = await startTestApp('job-history', { MAX_EPOCH_METRICS: '16' });
  records = new JobRecordRepository(t.redis, t.config.QUEUE_PREFIX, { ageSeconds: 600, count: 100, maxEpochMetrics: 16 });
});
after(() => t.close());

const metrics = (member: number, epoch: number, epochs: number): EpochMetrics => ({
  member, epoch, epochs, trainingCost: 1 / epoch, trainingAccuracy: 0.5, validationCost: 0.4,
  validationAccuracy: 0.8 + member / 100 + epoch / 10_000, eta: 0.1, seconds: 0.1, imagesPerSecond: 1000 + epoch, gradientNorms: [0.1, 0.2],
});

async function submitted(): Promise<string> {
  const res = await request(t.server).post('/v1/jobs').send(smallJob({ epochs: 30 })).expect(202);
  return res.body.id as string;
}

test('an ensemble of 2 × 30 epochs keeps at most 16 entries: an even sample from epoch 1, and the last epoch', async () => {
  const id = await submitted();
  for (let member = 0; member < 2; member++) {
    for (let epoch = 1; epoch <= 30; epoch++) await records.putEpoch(id, metrics(member, epoch, 30), { epoch, epochs: 30, member, members: 2 });
  }
  const job = (await request(t.server).get(`/v1/jobs/${id}`).expect(200)).body;
  assert.ok(job.metrics.length <= 16, `${job.metrics.length} entries`);
  const k = job.metricsEvery as number;
  assert.equal(k, 4); // 60 entries → 30 (k 2) → 16 (k 4): epochs 1, 5, …, 29 of each member
  assert.deepEqual(
    job.metrics.map((m: EpochMetrics) => `${m.member}:${m.epoch}`),
    [0, 1].flatMap((member) => [1, 5, 9, 13, 17, 21, 25, 29].map((e) => `${member}:${e}`)),
  );
  assert.deepEqual(job.lastEpoch, metrics(1, 30, 30));
  // a redone epoch (resumed job) replaces its entry instead of adding one
  await records.putEpoch(id, { ...metrics(0, 5, 30), trainingCost: 0.123 }, { epoch: 5, epochs: 30, member: 0, members: 2 });
  const again = (await request(t.server).get(`/v1/jobs/${id}`).expect(200)).body;
  assert.equal(again.metrics.length, job.metrics.length);
  assert.equal(again.metrics.find((m: EpochMetrics) => m.member === 0 && m.epoch === 5).trainingCost, 0.123);
});

test('below the bound every epoch is kept, and metricsEvery is absent', async () => {
  const id = await submitted();
  for (let epoch = 1; epoch <= 10; epoch++) await records.putEpoch(id, metrics(0, epoch, 30), { epoch, epochs: 30 });
  const job = (await request(t.server).get(`/v1/jobs/${id}`).expect(200)).body;
  assert.equal(job.metrics.length, 10);
  assert.equal(job.metricsEvery, undefined);
});

test('epochs reported for a job whose record is gone create nothing', async () => {
  await records.putEpoch('no-such-job', metrics(0, 1, 1), { epoch: 1, epochs: 1 });
  assert.equal(await records.get('no-such-job'), null);
  assert.equal(await t.redis.exists(`${t.config.QUEUE_PREFIX}:job:no-such-job:metrics`), 0);
});

test('GET /v1/jobs items are summaries: no metrics or spec, the last epoch and the preset instead', async () => {
  const id = await submitted();
  await records.putEpoch(id, metrics(0, 1, 30), { epoch: 1, epochs: 30 });
  await records.putEpoch(id, metrics(0, 2, 30), { epoch: 2, epochs: 30 });
  const list = (await request(t.server).get('/v1/jobs?limit=100').expect(200)).body;
  const item = list.items.find((j: { id: string }) => j.id === id);
  assert.ok(item);
  assert.equal(item.metrics, undefined);
  assert.equal(item.experiment, undefined);
  assert.equal(item.preset, resolveExperiment(smallJob()).preset);
  assert.deepEqual(item.lastEpoch, metrics(0, 2, 30));
  assert.deepEqual(item.progress, { epoch: 2, epochs: 30 });
  for (const j of list.items) assert.deepEqual(Object.keys(j).filter((k) => k === 'metrics' || k === 'experiment'), []);
});
