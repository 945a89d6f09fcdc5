// Training jobs over REST: submit, read, list, cancel, and follow as server-sent events.
// A `train` key sees only its own jobs (another key's job is a 404 to it, as if absent);
// `admin` sees and cancels every job. Each job records its submitter as `owner`.
import type { OutgoingHttpHeaders } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { requireScope } from '../../auth/route-security.ts';
import { hasScope, principalOf } from '../../auth/scopes.ts';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { resolveExperiment, SpecError, type Experiment } from '../../engine/index.ts';
import { notFound, serviceUnavailable, unprocessable } from '../../errors.ts';
import { isEndEvent, isRedisUnavailable, type JobEvent, type JobRecord, type TrainingQueue } from '../../queue/index.ts';
import { createJobBody, errorResponse, eventStream, jobIdParams, jobList, jobRecord, listJobsQuery } from '../schemas/jobs.schemas.ts';

export type JobsRoutesOptions = {
  queue: TrainingQueue;
  /** Queued + running jobs one key may have (MAX_JOBS_PER_KEY); unlimited when absent. */
  maxJobsPerKey?: number;
  /** SSE heartbeat comment interval (keeps proxies from closing an idle stream). */
  heartbeatMs?: number;
};

const tags = ['jobs'];
const security = requireScope('train');

/** admin sees every job; anyone else only the jobs their key submitted. */
const seesAll = (req: FastifyRequest) => hasScope(principalOf(req), 'admin');
const visible = (req: FastifyRequest, rec: JobRecord | null): rec is JobRecord =>
  rec !== null && (seesAll(req) || rec.owner === principalOf(req).name);

export default async function jobsRoutes(fastify: FastifyInstance, opts: JobsRoutesOptions): Promise<void> {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { queue, maxJobsPerKey } = opts;
  const heartbeatMs = opts.heartbeatMs ?? 15_000;
  // Open event streams never go idle, so closing the server would wait on them forever:
  // end them first (clients reconnect to another instance, replay included).
  const streams = new Set<AbortController>();
  fastify.addHook('preClose', async () => {
    for (const s of streams) s.abort();
  });
  // Redis down is the service's state, not a bug: 503 so clients and balancers retry.
  const available = <T>(p: Promise<T>): Promise<T> =>
    p.catch((err: unknown) => {
      if (isRedisUnavailable(err)) throw serviceUnavailable('the job queue is unavailable (Redis); try again shortly');
      throw err;
    });

  app.post('/v1/jobs', {
    schema: {
      tags,
      summary: 'Submit a training job',
      description:
        'A preset, a full spec, or a preset with overrides. The experiment is resolved and validated before it is queued. ' +
        'The job belongs to the submitting key (`owner`); a key may have at most MAX_JOBS_PER_KEY queued or running jobs (429 `too_many_jobs` beyond).',
      security,
      body: createJobBody,
      response: { 202: jobRecord, 400: errorResponse, 415: errorResponse, 422: errorResponse, 429: errorResponse, 503: errorResponse },
    },
  }, async (req, reply) => {
    let experiment: Experiment;
    try {
      experiment = resolveExperiment(req.body);
    } catch (err) {
      if (err instanceof SpecError) throw unprocessable(err.message, err.issues);
      throw err;
    }
    const record = await available(queue.submit(experiment, {
      ...(req.body.name !== undefined ? { name: req.body.name } : {}),
      owner: principalOf(req).name,
      ...(maxJobsPerKey !== undefined ? { maxActive: maxJobsPerKey } : {}),
    }));
    req.log.info({ jobId: record.id, preset: experiment.preset, owner: record.owner }, 'job queued');
    return reply.code(202).header('location', `/v1/jobs/${record.id}`).send(record);
  });

  app.get('/v1/jobs', {
    schema: {
      tags,
      summary: 'List jobs, newest first',
      description: 'A `train` key lists only its own jobs; `admin` lists every job.',
      security,
      querystring: listJobsQuery,
      response: { 200: jobList, 400: errorResponse, 503: errorResponse },
    },
  }, async (req) => {
    const { status, limit, offset } = req.query;
    const owner = seesAll(req) ? {} : { owner: principalOf(req).name };
    const page = await available(queue.list({ ...(status ? { status } : {}), ...owner, limit, offset }));
    return { ...page, limit, offset };
  });

  app.get('/v1/jobs/:id', {
    schema: {
      tags,
      summary: 'A job: status, progress, metrics per epoch, model when done',
      description: "Another key's job is 404 to a `train` key; `admin` sees every job.",
      security,
      params: jobIdParams,
      response: { 200: jobRecord, 404: errorResponse, 503: errorResponse },
    },
  }, async (req) => {
    const record = await available(queue.get(req.params.id));
    if (!visible(req, record)) throw notFound(`job ${req.params.id} not found`);
    return record;
  });

  app.post('/v1/jobs/:id/cancel', {
    schema: {
      tags,
      summary: 'Cancel a queued or running job',
      description: "Another key's job is 404 to a `train` key. " + 'A queued job is cancelled at once (200). A running job stops at its next mini-batch boundary, whichever worker runs it (202, cancelRequested: true; follow the job to see it cancelled). 409 when it has already finished.',
      security,
      params: jobIdParams,
      response: { 200: jobRecord, 202: jobRecord, 404: errorResponse, 409: errorResponse, 503: errorResponse },
    },
  }, async (req, reply) => {
    // the owner is fixed at submit, so checking it first leaves no gap
    if (!visible(req, await available(queue.get(req.params.id)))) throw notFound(`job ${req.params.id} not found`);
    const record = await available(queue.cancel(req.params.id));
    return reply.code(record.status === 'cancelled' ? 200 : 202).send(record);
  });

  app.get('/v1/jobs/:id/events', {
    schema: {
      tags,
      summary: 'Follow a job as server-sent events',
      description: "Another key's job is 404 to a `train` key. Browsers: EventSource cannot send the key, so the pages read this stream with fetch. " + 'Replays the epochs so far, then streams `epoch` events (data: the epoch metrics), optional `progress` and `status` events, and ends with one `completed`, `failed` or `cancelled` event whose data is the final job record. Lines starting with `:` are heartbeats.',
      security,
      params: jobIdParams,
      response: { 200: eventStream, 404: errorResponse },
    },
  }, async (req, reply) => {
    const { id } = req.params;
    if (!visible(req, await available(queue.get(id)))) throw notFound(`job ${id} not found`);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      ...(reply.getHeaders() as OutgoingHttpHeaders), // what the hooks set (CORS, request id) before the stream took over
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      'x-request-id': String(req.id),
    });
    res.write('retry: 2000\n\n');
    const aborter = new AbortController();
    streams.add(aborter);
    res.on('close', () => aborter.abort());
    const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), heartbeatMs);
    try {
      for await (const event of queue.events(id, aborter.signal)) {
        if (res.destroyed) break;
        res.write(formatEvent(event));
        if (isEndEvent(event)) break;
      }
    } catch (err) {
      req.log.warn({ err, jobId: id }, 'event stream failed');
      if (!res.destroyed) res.write(`event: error\ndata: ${JSON.stringify({ message: 'event stream interrupted' })}\n\n`);
    } finally {
      clearInterval(heartbeat);
      aborter.abort();
      streams.delete(aborter);
      if (!res.destroyed) res.end();
    }
  });
}

/** One SSE frame: the event type, and its data as one JSON line. */
export function formatEvent(e: JobEvent): string {
  const data =
    e.type === 'epoch' ? e.metrics : e.type === 'progress' ? e.progress : e.type === 'status' ? { status: e.status } : e.job;
  return `event: ${e.type}\ndata: ${JSON.stringify(data)}\n\n`;
}
