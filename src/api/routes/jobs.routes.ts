// Training jobs over REST: submit, read, list, cancel, and follow as server-sent events.
// A `train` key sees only its own jobs (another key's job is a 404 to it, as if absent);
// `admin` sees and cancels every job. Each job records its submitter as `owner`.
import type { FastifyInstance } from 'fastify';
import { requireScope } from '../../auth/route-security.ts';
import { principalOf } from '../../auth/scopes.ts';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { assertWithinBudgets, DEFAULT_BUDGETS, resolveExperiment, SpecError, type Experiment, type JobBudgets } from '../../engine/index.ts';
import type { Config } from '../../config/env.ts';
import { unprocessable } from '../../errors.ts';
import { isEndEvent, type JobEvent, type TrainingQueue } from '../../queue/index.ts';
import { END_EVENT_ID, epochEventId } from '../../queue/training-queue.ts';
import { EventStreams } from '../event-streams.ts';
import { available, ownedOr404, ownerFilter, OWNERSHIP_NOTE } from '../owned-records.ts';
import { ErrorResponse, isDryRun, submitResponses } from '../schemas/common.schemas.ts';
import { componentRef } from '../openapi.ts';
import { eventStreamResponse, JobStreamEvent, sseFrame } from '../schemas/events.schemas.ts';
import { routeRateLimit } from '../rate-limit.ts';
import {
  CreateJobBody, JobDryRunResponse, JobAcceptedResponse, JobIdParams, JobListResponse, JobRecordSchema, ListJobsQuery, SubmitJobQuery,
} from '../schemas/jobs.schemas.ts';

export type JobsRoutesOptions = {
  queue: TrainingQueue;
  config: Config;
  /** A job whose estimated cost exceeds one of these is refused (422 over_budget); default DEFAULT_BUDGETS. */
  budgets?: JobBudgets;
  /** Queued + running jobs one key may have (MAX_JOBS_PER_KEY); unlimited when absent. */
  maxJobsPerKey?: number;
  /** SSE heartbeat comment interval (keeps proxies from closing an idle stream). */
  heartbeatMs?: number;
};

const tags = ['jobs'];
const security = requireScope('train');

export default async function jobsRoutes(fastify: FastifyInstance, opts: JobsRoutesOptions): Promise<void> {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { queue, maxJobsPerKey } = opts;
  const budgets = opts.budgets ?? DEFAULT_BUDGETS;
  const streams = new EventStreams(fastify, opts.config, opts.heartbeatMs ?? 15_000);

  app.post('/v1/jobs', {
    config: { rateLimit: routeRateLimit(opts.config.RATE_LIMIT_SUBMIT_PER_MIN, 'submit') },
    schema: {
      tags,
      summary: 'Submit a training job',
      description: 'A preset, a full spec, or a preset with overrides. The experiment is resolved, validated and costed before it is ' +
        'queued; the 202 answer carries the `cost`. An invalid spec is 422 `unprocessable` (details: the fields). A job over one of ' +
        'the server\'s resource budgets is 422 `over_budget`, details `[{ budget, figure, value, limit, message }]`: the setting ' +
        '(e.g. MAX_JOB_SCRATCH_BYTES), the cost figure checked against it (e.g. trainingScratchBytesPerThread), its value and the ' +
        'limit. `?dryRun=true` does all of that and queues nothing: 200 with the experiment, its cost and the budgets. ' +
        'The job belongs to the submitting key (`owner`); a key may have at most MAX_JOBS_PER_KEY queued or running jobs (429 `too_many_jobs` beyond).',
      security,
      querystring: SubmitJobQuery,
      body: CreateJobBody,
      // documented as the engine's own schema of it (the body is validated by the engine, fields named)
      requestBodyContent: { 'application/json': componentRef('ExperimentRequest', 'input') },
      response: submitResponses(JobDryRunResponse, JobAcceptedResponse),
    },
  }, async (req, reply) => {
    let experiment: Experiment;
    try {
      experiment = resolveExperiment(req.body);
    } catch (err) {
      if (err instanceof SpecError) throw unprocessable(err.message, err.issues);
      throw err;
    }
    const cost = assertWithinBudgets(experiment, budgets); // BudgetError → 422 over_budget (error-handler.ts)
    if (isDryRun(req.query)) return reply.code(200).send({ dryRun: true, experiment, cost, budgets });
    const record = await available(queue.submit(experiment, {
      ...(req.body.name !== undefined ? { name: req.body.name } : {}),
      owner: principalOf(req).name,
      ...(maxJobsPerKey !== undefined ? { maxActive: maxJobsPerKey } : {}),
    }));
    req.log.info({ jobId: record.id, preset: experiment.preset, owner: record.owner, cost }, 'job queued');
    return reply.code(202).header('location', `/v1/jobs/${record.id}`).send({ ...record, cost });
  });

  app.get('/v1/jobs', {
    schema: {
      tags,
      summary: 'List jobs, newest first',
      description: OWNERSHIP_NOTE.list('job'),
      security,
      querystring: ListJobsQuery,
      response: { 200: JobListResponse, 400: ErrorResponse, 503: ErrorResponse },
    },
  }, async (req) => {
    const { status, limit, offset } = req.query;
    const page = await available(queue.list({ ...(status ? { status } : {}), ...ownerFilter(req), limit, offset }));
    return { ...page, limit, offset };
  });

  app.get('/v1/jobs/:id', {
    schema: {
      tags,
      summary: 'A job: status, progress, metrics per epoch, model when done',
      description: OWNERSHIP_NOTE.one('job'),
      security,
      params: JobIdParams,
      response: { 200: JobRecordSchema, 404: ErrorResponse, 503: ErrorResponse },
    },
  }, async (req) => {
    return ownedOr404(req, 'job', req.params.id, await available(queue.get(req.params.id)));
  });

  app.post('/v1/jobs/:id/cancel', {
    schema: {
      tags,
      summary: 'Cancel a queued or running job',
      description: `${OWNERSHIP_NOTE.one('job')} ` + 'A queued job is cancelled at once (200). A running job stops at its next mini-batch boundary, whichever worker runs it (202, cancelRequested: true; follow the job to see it cancelled). 409 when it has already finished.',
      security,
      params: JobIdParams,
      response: { 200: JobRecordSchema, 202: JobRecordSchema, 404: ErrorResponse, 409: ErrorResponse, 503: ErrorResponse },
    },
  }, async (req, reply) => {
    // the owner is fixed at submit, so checking it first leaves no gap
    ownedOr404(req, 'job', req.params.id, await available(queue.get(req.params.id)));
    const record = await available(queue.cancel(req.params.id));
    return reply.code(record.status === 'cancelled' ? 200 : 202).send(record);
  });

  app.get('/v1/jobs/:id/events', {
    schema: {
      tags,
      summary: 'Follow a job as server-sent events',
      description:
        'Replays the epochs so far, then streams `epoch` events (data: the epoch metrics; id: `<member>.<epoch>`), optional `progress` and `status` events, ' +
        'and ends with one `completed`, `failed` or `cancelled` event (id: `end`) whose data is the final job record. ' +
        'A client that reconnects with `Last-Event-ID` gets only the epochs after it (from the job record), then the live stream. ' +
        'Lines starting with `:` are heartbeats. Open streams are capped per caller (SSE_MAX_STREAMS_PER_KEY, 429) and per API instance (SSE_MAX_STREAMS, 503). ' +
        OWNERSHIP_NOTE.one('job') + ' Browsers: EventSource cannot send the key, so the pages read this stream with fetch.',
      security,
      params: JobIdParams,
      response: {
        200: eventStreamResponse(JobStreamEvent, 'the job\'s events: `epoch`, `progress`, `status`, then one of `completed`, `failed`, `cancelled` (`error` if the stream broke)'),
        404: ErrorResponse, 429: ErrorResponse, 503: ErrorResponse,
      },
    },
  }, async (req, reply) => {
    const { id } = req.params;
    ownedOr404(req, 'job', id, await available(queue.get(id)));
    const lastEventId = req.headers['last-event-id'];
    await streams.serve(req, reply, { jobId: id }, async (res, signal) => {
      for await (const event of queue.events(id, signal, typeof lastEventId === 'string' ? { lastEventId } : {})) {
        if (res.destroyed) break;
        res.write(sseFrame(jobStreamFrame(event)));
        if (isEndEvent(event)) break;
      }
    });
  });
}

/**
 * A job event as its stream's frame (events.schemas.ts): epochs and the end carry an id (what
 * Last-Event-ID resumes from); progress and status carry none, so they do not move a client's last id.
 */
export function jobStreamFrame(e: JobEvent): JobStreamEvent {
  switch (e.type) {
    case 'epoch': return { event: 'epoch', id: epochEventId(e.metrics), data: e.metrics };
    case 'progress': return { event: 'progress', data: e.progress };
    case 'status': return { event: 'status', data: { status: e.status } };
    default: return { event: e.type, id: END_EVENT_ID, data: e.job };
  }
}
