// Hyper-parameter sweeps over REST: submit, read, list, cancel, and follow as server-sent events.
// Trials are ordinary training jobs (they show in /v1/jobs under the same owner). Same keys, scopes
// and budgets as jobs: a `train` key sees only its own sweeps, `admin` sees and cancels all.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { requireScope } from '../../auth/route-security.ts';
import { principalOf } from '../../auth/scopes.ts';
import type { Config } from '../../config/env.ts';
import { SpecError } from '../../engine/index.ts';
import { ApiError, unprocessable } from '../../errors.ts';
import type { TrainingQueue } from '../../queue/index.ts';
import { END_EVENT_ID } from '../../queue/training-queue.ts';
import { SweepService } from '../../sweeps/sweep-service.ts';
import { SweepBudgetError, type SweepPlan } from '../../sweeps/sweep-spec.ts';
import { isSweepFinished } from '../../sweeps/sweep.repository.ts';
import type { Redis } from 'ioredis';
import { routeRateLimit } from '../rate-limit.ts';
import { componentRef } from '../openapi.ts';
import { EventStreams } from '../event-streams.ts';
import { available, ownedOr404, ownerFilter, OWNERSHIP_NOTE } from '../owned-records.ts';
import { ErrorResponse, isDryRun, submitResponses } from '../schemas/common.schemas.ts';
import { eventStreamResponse, sseFrame, SweepStreamEvent } from '../schemas/events.schemas.ts';
import {
  CreateSweepBody, ListSweepsQuery, SubmitSweepQuery, SweepDryRunResponse, SweepIdParams, SweepListResponse, SweepViewSchema,
} from '../schemas/sweeps.schemas.ts';

export type SweepsRoutesOptions = { queue: TrainingQueue; config: Config; redis: Redis; heartbeatMs?: number };

const tags = ['sweeps'];
const security = requireScope('train');
/** How often a follower re-reads the sweep even when no event came (a missed publish, a new wave). */
const SAFETY_CHECK_MS = 5_000;

export default async function sweepsRoutes(fastify: FastifyInstance, opts: SweepsRoutesOptions): Promise<void> {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { queue, config } = opts;
  const service = new SweepService({ config, redis: opts.redis, queue });
  const streams = new EventStreams(fastify, config, opts.heartbeatMs ?? 15_000);
  fastify.addHook('onClose', async () => service.close());

  app.post('/v1/sweeps', {
    config: { rateLimit: routeRateLimit(config.RATE_LIMIT_SUBMIT_PER_MIN, 'submit') },
    schema: {
      tags,
      summary: 'Start a hyper-parameter sweep',
      description:
        'A base experiment (as the body of POST /v1/jobs), a search space over its fields by path (`"training.eta": {"values": [...]}`, ' +
        '`{"logUniform": [low, high]}`, `{"intRange": [low, high]}`), a strategy (`grid`; `random` with `trials` and `seed`; `halving`: ' +
        '`trials` on the first rung, `rungs` of growing `epochs` and `trainSize`, the best `keep` fraction promoted at each, resuming from ' +
        'their checkpoints), an `objective`, a `concurrency` (trials at once, in waves) and an optional `budget` in image-steps. ' +
        'Or a sweep `preset` (`ch3-eta`: the book\'s η experiment) with any field overridden. Each trial is an ordinary training job. ' +
        'An unknown path, a bad range or value: 422 `unprocessable` naming the field (`space.<path>`, `base.<field>`, `strategy.rungs.<i>`). ' +
        'A trial over a job budget, or the sweep over its `budget` or MAX_SWEEP_IMAGE_STEPS: 422 `over_budget` with the figures. ' +
        '`?dryRun=true` plans and costs it, queuing nothing.',
      security,
      querystring: SubmitSweepQuery,
      body: CreateSweepBody,
      // documented with `base` as the engine's experiment schema (the engine validates it, fields named)
      requestBodyContent: { 'application/json': componentRef('SweepRequest', 'input') },
      response: submitResponses(SweepDryRunResponse, SweepViewSchema),
    },
  }, async (req, reply) => {
    let plan: SweepPlan;
    try {
      plan = service.plan(req.body);
    } catch (err) {
      if (err instanceof SpecError) throw unprocessable(err.message, err.issues);
      if (err instanceof SweepBudgetError) throw new ApiError(422, 'over_budget', err.message, err.violations);
      throw err; // BudgetError (a trial over a job budget) → 422 over_budget by the error handler
    }
    if (isDryRun(req.query)) {
      return reply.code(200).send({ dryRun: true, plannedTrials: plan.trials.length, imageSteps: plan.imageSteps, trials: plan.trials });
    }
    const view = await available(service.create(plan, principalOf(req).name));
    req.log.info({ sweepId: view.id, owner: view.owner, trials: plan.trials.length, imageSteps: plan.imageSteps }, 'sweep started');
    return reply.code(202).header('location', `/v1/sweeps/${view.id}`).send(view);
  });

  app.get('/v1/sweeps', {
    schema: {
      tags, summary: 'List sweeps, newest first', description: OWNERSHIP_NOTE.list('sweep'),
      security, querystring: ListSweepsQuery, response: { 200: SweepListResponse, 400: ErrorResponse, 503: ErrorResponse },
    },
  }, async (req) => {
    const { limit, offset } = req.query;
    const page = await available(service.list({ ...ownerFilter(req), limit, offset }));
    const items = page.items.map(({ plan, trials, waves: _w, ...rest }) => ({
      ...rest,
      ...(plan.name !== undefined ? { name: plan.name } : {}),
      ...(plan.preset !== undefined ? { preset: plan.preset } : {}),
      strategy: plan.strategy.type, trials: trials.length, plannedTrials: plan.trials.length,
    }));
    return { items, total: page.total, limit, offset };
  });

  app.get('/v1/sweeps/:id', {
    schema: {
      tags,
      summary: 'A sweep: status, trials, best, leaderboard',
      description: "Each trial: its job, params, status, rung, the last epoch's validation accuracy and cost, epochs. " + OWNERSHIP_NOTE.one('sweep'),
      security, params: SweepIdParams, response: { 200: SweepViewSchema, 404: ErrorResponse, 503: ErrorResponse },
    },
  }, async (req) => {
    const rec = ownedOr404(req, 'sweep', req.params.id, await available(service.get(req.params.id)));
    return available(service.toView(rec));
  });

  app.post('/v1/sweeps/:id/cancel', {
    schema: {
      tags,
      summary: 'Cancel a sweep and every trial not yet ended',
      description: 'No further wave is queued; queued trials are cancelled at once, running ones at their next mini-batch (follow them). 409 when the sweep has already ended.',
      security, params: SweepIdParams, response: { 200: SweepViewSchema, 404: ErrorResponse, 409: ErrorResponse, 503: ErrorResponse },
    },
  }, async (req) => {
    const rec = ownedOr404(req, 'sweep', req.params.id, await available(service.get(req.params.id)));
    if (isSweepFinished(rec.status)) throw new ApiError(409, 'conflict', `sweep ${rec.id} is already ${rec.status}`, { status: rec.status });
    return (await available(service.cancel(rec.id)))!;
  });

  app.get('/v1/sweeps/:id/events', {
    schema: {
      tags,
      summary: 'Follow a sweep as server-sent events',
      description:
        'A `sweep` event (data: the sweep as GET returns it) at once and whenever a trial starts or ends or a wave is queued; an `epoch` event ' +
        '(data: `{ jobId, metrics }`) for every epoch any trial finishes; and one `completed`, `failed` or `cancelled` event (data: the final sweep) to end. ' +
        'Lines starting with `:` are heartbeats. Streams are capped as the jobs\' are (429 / 503).',
      security,
      params: SweepIdParams,
      response: {
        200: eventStreamResponse(SweepStreamEvent, 'the sweep\'s events: `sweep`, `epoch`, then one of `completed`, `failed`, `cancelled` (`error` if the stream broke)'),
        404: ErrorResponse, 429: ErrorResponse, 503: ErrorResponse,
      },
    },
  }, async (req, reply) => {
    const rec = ownedOr404(req, 'sweep', req.params.id, await available(service.get(req.params.id)));
    const offs: (() => void)[] = [];
    const followed = new Set<string>();
    let wake: (() => void) | null = null;
    let dirty = true;
    const pending: string[] = [];
    const onEvent = (e: Parameters<Parameters<TrainingQueue['follow']>[1]>[0]) => {
      if (e.type === 'epoch') pending.push(sseFrame({ event: 'epoch', data: { jobId: e.jobId, metrics: e.metrics } }));
      else if (e.type !== 'progress') dirty = true;
      wake?.();
    };
    const follow = async (id: string) => {
      if (followed.has(id)) return;
      followed.add(id);
      offs.push(await queue.follow(id, onEvent));
    };
    await streams.serve(req, reply, { sweepId: rec.id }, async (res, signal) => {
      signal.addEventListener('abort', () => wake?.());
      try {
        await follow(rec.id);
        let last = '';
        while (!signal.aborted && !res.destroyed) {
          while (pending.length > 0) res.write(pending.shift()!);
          if (dirty) {
            dirty = false;
            const now = await service.view(rec.id);
            if (!now) break;
            for (const t of now.trials) await follow(t.jobId);
            const frame = sseFrame({ event: 'sweep', data: now });
            if (frame !== last) {
              last = frame;
              res.write(frame);
            }
            if (now.status !== 'running' && now.trials.every((t) => ['completed', 'failed', 'cancelled'].includes(t.status))) {
              res.write(sseFrame({ event: now.status, id: END_EVENT_ID, data: now }));
              break;
            }
            continue;
          }
          await new Promise<void>((resolve) => {
            const t = setTimeout(() => {
              dirty = true;
              resolve();
            }, SAFETY_CHECK_MS);
            wake = () => {
              clearTimeout(t);
              resolve();
            };
          });
          wake = null;
        }
      } finally {
        for (const off of offs) off();
      }
    });
  });
}


