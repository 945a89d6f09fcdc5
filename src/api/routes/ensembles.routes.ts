// POST /v1/ensembles: a new model made of trained models (ids or aliases, any architectures),
// combined by 'mean' or 'vote'. Checked before anything is loaded (every reference resolves to a
// different trained model; the ensemble's parameters, multiply-adds and prediction scratch per
// image within MAX_JOB_PARAMS, MAX_JOB_MACS_PER_IMAGE and PREDICT_SCRATCH_BYTES); then its test
// accuracy is computed on MNIST's 10,000 test images by the predictor that will serve it, and it is
// saved like any model (members copied in, owner recorded): it predicts, exports, shows on /models.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { requireScope } from '../../auth/route-security.ts';
import { principalOf } from '../../auth/scopes.ts';
import {
  BudgetError, buildModelEnsemble, ensembleBudgetViolations, isModelEnsemble, jobBudgets,
  type TrainedModel,
} from '../../engine/index.ts';
import { ApiError, unprocessable } from '../../errors.ts';
import { ModelNotFoundError } from '../../store/model.repository.ts';
import type { ModelRecord } from '../../store/model-record.ts';
import type { AppContext } from '../context.ts';
import { lazyMnist, oneAtATime } from '../mnist-test-set.ts';
import { routeRateLimit } from '../rate-limit.ts';
import { errors } from '../schemas/common.schemas.ts';
import { CreateEnsembleBody, MAX_ENSEMBLE_MEMBERS } from '../schemas/ensembles.schemas.ts';
import { ModelDetailSchema } from '../schemas/models.schemas.ts';

const member = (i: number, message: string) => unprocessable(`models.${i}: ${message}`, [{ path: `models.${i}`, message }]);

export default async function ensemblesRoutes(fastify: FastifyInstance, { ctx }: { ctx: AppContext }) {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { config } = ctx;
  const testSet = lazyMnist(config);
  // One ensemble evaluated at a time per instance: each holds its members' weights and scratch.
  const serial = oneAtATime();

  app.post('/v1/ensembles', {
    config: { rateLimit: routeRateLimit(config.RATE_LIMIT_SUBMIT_PER_MIN, 'submit') },
    schema: {
      tags: ['models'],
      summary: 'Make an ensemble model from trained models',
      security: requireScope('train'),
      description:
        `\`models\`: 2 to ${MAX_ENSEMBLE_MEMBERS} model ids or aliases, each a different trained model (any architectures; ` +
        'not an ensemble made here); `combine`: `mean` (average the probabilities) or `vote` (one vote per model, ties to the ' +
        'smallest digit). Answers 201 with the new model (as GET /v1/models/{id}) once its test accuracy on the 10,000 MNIST ' +
        'test images is computed. It predicts, exports and is listed like any model; its owner is the calling key. 422 ' +
        '`unprocessable` for an unknown model, a duplicate or a nested ensemble (details name `models.<i>`); 422 `over_budget` ' +
        'when all its networks together exceed MAX_JOB_PARAMS, MAX_JOB_MACS_PER_IMAGE or PREDICT_SCRATCH_BYTES; 503 without ' +
        'the MNIST test set.',
      body: CreateEnsembleBody,
      response: { 201: ModelDetailSchema, ...errors(400, 413, 415, 422, 429, 503) },
    },
  }, async (req, reply) => {
    const { models: refs, combine, name } = req.body;
    const ids: string[] = [];
    for (const [i, ref] of refs.entries()) {
      let id: string;
      try {
        id = await ctx.predict.resolve(ref, { fresh: true });
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) throw member(i, err.message);
        throw err;
      }
      const first = ids.indexOf(id);
      if (first >= 0) throw member(i, `model ${id} is already member ${first} (${JSON.stringify(refs[first])}): each member must be a different model`);
      ids.push(id);
    }
    const records: ModelRecord[] = [];
    for (const [i, id] of ids.entries()) {
      const r = await ctx.models.get(id);
      if (!r) throw member(i, `model ${id} no longer exists`);
      if (!r.experiment) throw member(i, `model ${id} is an ensemble of models: list its members instead`);
      records.push(r);
    }
    const violations = ensembleBudgetViolations(records.map((r) => r.experiment!), jobBudgets(config));
    if (violations.length > 0) throw new BudgetError(violations);

    const { test } = await testSet();
    const ensemble = await serial(async () => {
      const members: { modelId: string; model: TrainedModel }[] = [];
      for (const [i, id] of ids.entries()) {
        const model = await ctx.models.load(id).catch((err: unknown) => {
          if (err instanceof ModelNotFoundError) throw member(i, `model ${id} no longer exists`);
          throw err;
        });
        if (isModelEnsemble(model)) throw member(i, `model ${id} is an ensemble of models: list its members instead`);
        members.push({ modelId: id, model });
      }
      return buildModelEnsemble(members, combine, test, { threads: config.ENGINE_THREADS, scratchBytes: config.PREDICT_SCRATCH_BYTES });
    });
    const owner = principalOf(req).name;
    const record = await ctx.models.save(ensemble, { ...(name !== undefined ? { name } : {}), owner });
    req.log.info({ modelId: record.id, members: ids, combine, testAccuracy: record.testAccuracy, owner }, 'ensemble created');
    const { experiment: _none, ...rest } = record;
    return reply.code(201).send({ ...rest, aliases: [], hasFilters: false });
  });
}
