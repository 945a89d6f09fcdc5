// Every server-sent event the streams write is what the OpenAPI document says: a real app, a real
// worker process training a real (tiny) job and a real (tiny) sweep; the frames read over HTTP are
// validated (JSON Schema 2020-12, ajv) against the `text/event-stream` schema of their route in the
// app's own /openapi.json, and against the component of their event. The one event no worker sends
// in a normal run (`status`: back to queued after a shutdown) is published on the channel as the
// worker publishes it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { get } from 'node:http';
import type { ValidateFunction } from 'ajv/dist/2020.js';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import request from 'supertest';
import { buildApp } from '../../src/app.ts';
import type { Config } from '../../src/config/env.ts';
import { queueKeys } from '../../src/queue/index.ts';
import { publishJobEvent } from '../../src/queue/job-events.ts';
import {
  REDIS_URL, cleanup, smallJob, startWorker, stopWorker, tempDataDir, testConfig, uniquePrefix, waitFor, type WorkerProcess,
} from '../queue/queue-helpers.ts';
import { openApiValidator, type OpenApiValidator } from '../fixtures/openapi-validator.ts';
import { parseSse, type SseEvent } from './jobs-helpers.ts';

type Doc = {
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: unknown }> }> }>>;
  components: { schemas: Record<string, unknown> };
};

/** The frame as the document describes it: `{ event, id?, data }`. */
const frame = (e: SseEvent) => ({ event: e.event, ...(e.id !== undefined ? { id: e.id } : {}), data: e.data });

describe('server-sent events match their documented schemas', () => {
  const prefix = uniquePrefix('sse-schemas');
  let dataDir: string;
  let config: Config;
  let app: FastifyInstance;
  let base: string;
  let worker: WorkerProcess | undefined; // started once the job's stream is open
  let redis: Redis;
  let doc: Doc;
  let validator: OpenApiValidator;

  before(async () => {
    dataDir = await tempDataDir();
    config = testConfig(prefix, dataDir);
    app = await buildApp({ config });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
    redis = new Redis(REDIS_URL);
    doc = (await request(app.server).get('/openapi.json').expect(200)).body as Doc;
    validator = openApiValidator(doc);
  });
  after(async () => {
    if (worker) await stopWorker(worker, 'SIGKILL');
    redis.disconnect();
    await app.close();
    await cleanup(prefix, dataDir);
  });

  /** The validator of `path`'s 200 text/event-stream schema, and of each component by name. */
  function streamValidator(path: string): ValidateFunction {
    const schema = doc.paths[path]?.get?.responses['200']?.content?.['text/event-stream']?.schema;
    assert.ok(schema, `${path}: 200 is documented as text/event-stream`);
    return validator.compile(schema);
  }
  const component = (name: string): ValidateFunction => {
    assert.ok(doc.components.schemas[name], `component ${name} is in the document`);
    return validator.component(name);
  };
  function assertValid(validate: ValidateFunction, value: unknown, what: string): void {
    assert.ok(validate(value), `${what}: ${validator.ajv.errorsText(validate.errors)}\n${JSON.stringify(value).slice(0, 2000)}`);
  }

  /** Opens a stream: its text so far, and its events once it has ended (its end event closes it). */
  function openStream(path: string): Promise<{ text: () => string; events: Promise<SseEvent[]> }> {
    return new Promise((resolve, reject) => {
      get(`${base}${path}`, (res) => {
        assert.equal(res.statusCode, 200);
        assert.match(String(res.headers['content-type']), /^text\/event-stream/);
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        resolve({ text: () => text, events: new Promise((done, fail) => { res.on('end', () => done(parseSse(text))); res.on('error', fail); }) });
      }).on('error', reject);
    });
  }

  test('a job\'s stream: epoch, progress, status and its end event', async () => {
    const id = (await request(app.server).post('/v1/jobs').send(smallJob({ epochs: 2, trainSize: 1000, validationSize: 200 })).expect(202)).body.id as string;
    const stream = await openStream(`/v1/jobs/${id}/events`);
    // no worker yet, so the job waits: what a worker that shuts down mid-job publishes (the job goes
    // back to the queue), until the stream (subscribed a moment after its headers) has passed it on
    await waitFor(async () => {
      await publishJobEvent(redis, queueKeys(prefix).eventsChannel, { type: 'status', jobId: id, status: 'queued' });
      return stream.text().includes('event: status');
    }, 60_000, 'the status event on the stream', 50);
    worker = startWorker(config);
    const events = await stream.events;
    const validate = streamValidator('/v1/jobs/{id}/events');
    const components: Record<string, string> = {
      epoch: 'JobEpochEvent', progress: 'JobProgressEvent', status: 'JobStatusEvent', completed: 'JobEndEvent', error: 'StreamErrorEvent',
    };
    for (const e of events) {
      assertValid(validate, frame(e), `job event ${e.event}`);
      assert.ok(components[e.event], `an event the document names: ${e.event}`);
      assertValid(component(components[e.event]!), frame(e), `job event ${e.event} as ${components[e.event]}`);
    }
    const kinds = new Set(events.map((e) => e.event));
    for (const k of ['epoch', 'progress', 'status', 'completed']) assert.ok(kinds.has(k), `a ${k} event was seen: ${[...kinds].join(', ')}`);
    // and the documented shapes are not vacuous: a frame that breaks them is refused
    const epoch = frame(events.find((e) => e.event === 'epoch')!);
    assert.equal(validate({ ...epoch, id: 'end' }), false, 'an epoch event with the end id');
    assert.equal(validate({ ...epoch, data: { ...(epoch.data as object), epoch: 'one' } }), false, 'a non-numeric epoch');
    assert.equal(validate({ event: 'progress', id: '0.1', data: { epoch: 1, epochs: 2 } }), false, 'a progress event with an id');
  });

  test('a sweep\'s stream: sweep, epoch and its end event', async () => {
    worker ??= startWorker(config);
    const res = await request(app.server).post('/v1/sweeps').send({
      base: { preset: 'ch3-mlp30-ce', training: { epochs: 1, miniBatchSize: 10 }, data: { trainSize: 500, validationSize: 200 } },
      space: { 'training.eta': { values: [0.1, 1] } },
      strategy: { type: 'grid' },
      concurrency: 2,
    }).expect(202);
    const events = await (await openStream(`/v1/sweeps/${res.body.id as string}/events`)).events;
    const validate = streamValidator('/v1/sweeps/{id}/events');
    const components: Record<string, string> = { sweep: 'SweepStateEvent', epoch: 'SweepEpochEvent', completed: 'SweepEndEvent', error: 'StreamErrorEvent' };
    for (const e of events) {
      assertValid(validate, frame(e), `sweep event ${e.event}`);
      assert.ok(components[e.event], `an event the document names: ${e.event}`);
      assertValid(component(components[e.event]!), frame(e), `sweep event ${e.event} as ${components[e.event]}`);
    }
    const kinds = new Set(events.map((e) => e.event));
    // an epoch a trial finished before the stream subscribed to it is not replayed, so epoch events may be missed
    for (const k of ['sweep', 'completed']) assert.ok(kinds.has(k), `a ${k} event was seen: ${[...kinds].join(', ')}`);
  });
});
