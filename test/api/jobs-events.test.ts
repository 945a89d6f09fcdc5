// The event stream in detail, with the worker's side played by the test: epochs done before
// the client connects are replayed, live epochs follow once each, heartbeats keep the stream
// alive, and the end event closes it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { get } from 'node:http';
import Fastify, { type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { Redis } from 'ioredis';
import jobsRoutes from '../../src/api/routes/jobs.routes.ts';
import { resolveExperiment, type EpochMetrics } from '../../src/engine/index.ts';
import { TrainingQueue, queueKeys } from '../../src/queue/index.ts';
import { publishJobEvent } from '../../src/queue/job-events.ts';
import { JobRecordRepository } from '../../src/queue/job-record.repository.ts';
import { REDIS_URL, cleanup, smallJob, tempDataDir, testConfig, uniquePrefix, waitFor } from '../queue/queue-helpers.ts';
import { parseSse } from './jobs-helpers.ts';

const metrics = (epoch: number): EpochMetrics => ({
  member: 0, epoch, epochs: 2, trainingCost: 0.5, trainingAccuracy: 0.8, validationCost: 0.4, validationAccuracy: 0.85,
  eta: 3, seconds: 0.1, imagesPerSecond: 30000, gradientNorms: [0.1, 0.2],
});

describe('GET /v1/jobs/:id/events', () => {
  const prefix = uniquePrefix('events');
  let dataDir: string;
  let queue: TrainingQueue;
  let app: FastifyInstance;
  let redis: Redis;
  let records: JobRecordRepository;
  let base: string;
  let config: ReturnType<typeof testConfig>;

  before(async () => {
    dataDir = await tempDataDir();
    config = testConfig(prefix, dataDir);
    queue = new TrainingQueue({ config });
    redis = new Redis(REDIS_URL);
    records = new JobRecordRepository(redis, prefix, { ageSeconds: 60, count: 100 });
    app = Fastify();
    app.setValidatorCompiler(validatorCompiler);
    app.setSerializerCompiler(serializerCompiler);
    await app.register(jobsRoutes, { queue, config, heartbeatMs: 50 });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  after(async () => {
    await app.close();
    await queue.close();
    redis.disconnect();
    await cleanup(prefix, dataDir);
  });

  test('replay, live epochs once each, heartbeats, end event, closed stream', async () => {
    const job = await queue.submit(resolveExperiment(smallJob()), {});
    const channel = queueKeys(prefix).eventsChannel;
    // Epoch 1 happened before anyone listened.
    await records.transition(job.id, ['queued'], 'running', { startedAt: new Date().toISOString() });
    await records.putEpoch(job.id, metrics(1), { epoch: 1, epochs: 2 });

    let text = '';
    const closed = new Promise<void>((resolve, reject) => {
      get(`${base}/v1/jobs/${job.id}/events`, (res) => {
        assert.equal(res.statusCode, 200);
        assert.match(String(res.headers['content-type']), /text\/event-stream/);
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', resolve);
      }).on('error', reject);
    });
    await waitFor(async () => text.includes(': heartbeat') && text.includes('event: epoch'), 5000, `heartbeat and replay\n${text}`);

    // A duplicate of epoch 1 (a redone epoch after a resume) must not be shown twice.
    await publishJobEvent(redis, channel, { type: 'epoch', jobId: job.id, metrics: metrics(1) });
    await records.putEpoch(job.id, metrics(2), { epoch: 2, epochs: 2 });
    await publishJobEvent(redis, channel, { type: 'epoch', jobId: job.id, metrics: metrics(2) });
    await records.transition(job.id, ['running'], 'completed', { modelId: 'm-test', finishedAt: new Date().toISOString() });
    await publishJobEvent(redis, channel, { type: 'completed', jobId: job.id, job: (await records.get(job.id))! });
    await closed;

    const events = parseSse(text);
    assert.deepEqual(events.map((e) => e.event), ['epoch', 'epoch', 'completed']);
    assert.deepEqual(events.slice(0, 2).map((e) => (e.data as EpochMetrics).epoch), [1, 2]);
    assert.equal((events[2]!.data as { modelId: string }).modelId, 'm-test');
    assert.match(text, /^retry: \d+/);
  });

  test('a client that goes away does not keep the stream running', async () => {
    const job = await queue.submit(resolveExperiment(smallJob()), {});
    await new Promise<void>((resolve, reject) => {
      const req = get(`${base}/v1/jobs/${job.id}/events`, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      }).on('error', reject);
    });
    // The server is still healthy and the job can be followed again and cancelled.
    await queue.cancel(job.id);
    const seen: string[] = [];
    for await (const e of queue.events(job.id, new AbortController().signal)) seen.push(e.type);
    assert.deepEqual(seen, ['cancelled']);
  });

  test('closing the app ends open streams instead of waiting on them', { timeout: 10_000 }, async () => {
    const job = await queue.submit(resolveExperiment(smallJob()), {});
    const other = Fastify();
    other.setValidatorCompiler(validatorCompiler);
    other.setSerializerCompiler(serializerCompiler);
    await other.register(jobsRoutes, { queue, config, heartbeatMs: 50 });
    const url = await other.listen({ port: 0, host: '127.0.0.1' });
    const ended = new Promise<void>((resolve, reject) => {
      get(`${url}/v1/jobs/${job.id}/events`, (res) => {
        res.resume();
        res.on('end', resolve);
      }).on('error', reject);
    });
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    await other.close();
    await ended;
    assert.ok(Date.now() - t0 < 2000, `closed in ${Date.now() - t0} ms`);
  });
});
