// Event streams: events carry ids and a client reconnecting with Last-Event-ID gets only what
// it missed (replayed from the job record); live events are pushed (pub/sub); open streams are
// capped per caller (429) and per instance (503), and a closed stream frees its slot.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { get, type IncomingMessage } from 'node:http';
import type { EpochMetrics } from '../../src/engine/index.ts';
import { queueKeys } from '../../src/queue/index.ts';
import { publishJobEvent } from '../../src/queue/job-events.ts';
import { JobRecordRepository } from '../../src/queue/job-record.repository.ts';
import { startTestApp, type TestApp } from '../fixtures/test-app.ts';
import { smallJob } from '../queue/queue-helpers.ts';
import { parseSse } from './jobs-helpers.ts';
import request from 'supertest';

let t: TestApp;
let records: JobRecordRepository;
let port: number;

before(async () => {
  t = await startTestApp('jobs-sse', { SSE_MAX_STREAMS_PER_KEY: '2', SSE_MAX_STREAMS: '3' });
  records = new JobRecordRepository(t.redis, t.config.QUEUE_PREFIX, { ageSeconds: 600, count: 100 });
  await t.app.listen({ host: '::', port: 0 });
  port = (t.app.server.address() as { port: number }).port;
});
after(() => t.close());

const metrics = (epoch: number, member = 0): EpochMetrics => ({
  member, epoch, epochs: 3, trainingCost: 0.5, trainingAccuracy: 0.8, validationCost: 0.4, validationAccuracy: 0.8 + epoch / 100,
  eta: 3, seconds: 0.1, imagesPerSecond: 30000, gradientNorms: [0.1, 0.2],
});

async function runningJob(epochs: number[]): Promise<string> {
  const id = (await request(t.server).post('/v1/jobs').send(smallJob({ epochs: 3 })).expect(202)).body.id as string;
  await records.transition(id, ['queued'], 'running', { startedAt: new Date().toISOString() });
  for (const e of epochs) await records.putEpoch(id, metrics(e), { epoch: e, epochs: 3 });
  return id;
}

type Stream = { res: IncomingMessage; text: () => string; ended: Promise<void>; close(): void };

function open(id: string, opts: { host?: string; lastEventId?: string } = {}): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = opts.lastEventId ? { 'last-event-id': opts.lastEventId } : {};
    const req = get({ host: opts.host ?? '127.0.0.1', port, path: `/v1/jobs/${id}/events`, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      const ended = new Promise<void>((r) => res.on('close', () => r()));
      resolve({ res, text: () => text, ended, close: () => req.destroy() });
    });
    req.on('error', reject);
  });
}

async function until(f: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await f())) await new Promise((r) => setTimeout(r, 20));
}

test('events carry ids; Last-Event-ID replays only what was missed, from the record', async () => {
  const id = await runningJob([1, 2, 3]);
  await records.transition(id, ['running'], 'completed', { finishedAt: new Date().toISOString() });

  const all = await open(id);
  await all.ended;
  const events = parseSse(all.text());
  assert.deepEqual(events.map((e) => `${e.event}#${e.id}`), ['epoch#0.1', 'epoch#0.2', 'epoch#0.3', 'completed#end']);

  const resumed = await open(id, { lastEventId: '0.1' });
  await resumed.ended;
  assert.deepEqual(parseSse(resumed.text()).map((e) => `${e.event}#${e.id}`), ['epoch#0.2', 'epoch#0.3', 'completed#end']);

  const atEnd = await open(id, { lastEventId: 'end' });
  await atEnd.ended;
  assert.deepEqual(parseSse(atEnd.text()).map((e) => e.event), ['completed']);

  // an id we did not make: everything is replayed
  const unknown = await open(id, { lastEventId: 'nonsense' });
  await unknown.ended;
  assert.equal(parseSse(unknown.text()).length, 4);
});

test('a reconnect mid-run gets the epochs it missed, then live events pushed by pub/sub', async () => {
  const id = await runningJob([1]);
  const first = await open(id);
  await until(() => parseSse(first.text()).length === 1);
  first.close();
  // meanwhile, epoch 2 finished (record written and published while nobody listened)
  await records.putEpoch(id, metrics(2), { epoch: 2, epochs: 3 });
  const channel = queueKeys(t.config.QUEUE_PREFIX).eventsChannel;
  await publishJobEvent(t.redis, channel, { type: 'epoch', jobId: id, metrics: metrics(2) });

  const again = await open(id, { lastEventId: parseSse(first.text()).at(-1)!.id! });
  await until(() => parseSse(again.text()).length === 1);
  assert.deepEqual(parseSse(again.text()).map((e) => e.id), ['0.2']);
  // live, not in the record: only pub/sub can bring it
  await publishJobEvent(t.redis, channel, { type: 'epoch', jobId: id, metrics: metrics(3) });
  await publishJobEvent(t.redis, channel, { type: 'progress', jobId: id, progress: { epoch: 3, epochs: 3, batch: 1, batches: 2 } });
  await until(() => parseSse(again.text()).length === 3);
  const live = parseSse(again.text());
  assert.deepEqual(live.map((e) => `${e.event}#${e.id ?? ''}`), ['epoch#0.2', 'epoch#0.3', 'progress#']);
  again.close();
});

test('streams are capped per caller (429) and per instance (503); a closed one frees its slot', async () => {
  const id = await runningJob([1]);
  const a = await open(id);
  const b = await open(id);
  assert.equal(a.res.statusCode, 200);
  assert.equal(b.res.statusCode, 200);
  const c = await open(id);
  await c.ended;
  assert.equal(c.res.statusCode, 429);
  assert.equal(JSON.parse(c.text()).error.code, 'too_many_streams');
  assert.match(String(c.res.headers['retry-after']), /^\d+$/);

  // another caller (the IPv6 loopback address) still has room, until the instance is full
  const d = await open(id, { host: '::1' });
  assert.equal(d.res.statusCode, 200);
  const e = await open(id, { host: '::1' });
  await e.ended;
  assert.equal(e.res.statusCode, 503);
  assert.equal(JSON.parse(e.text()).error.code, 'overloaded');
  assert.match(String(e.res.headers['retry-after']), /^\d+$/);

  a.close();
  let f: Stream | null = null;
  await until(async () => {
    f = await open(id);
    if (f.res.statusCode === 200) return true;
    await f.ended;
    return false;
  });
  for (const s of [b, d, f!]) s.close();
});
