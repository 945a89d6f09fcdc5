// The model registry over REST: list, read (spec, history, accuracy, confusion), delete.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { notFound } from '../../errors.ts';
import type { ModelRecord } from '../../store/model.repository.ts';
import type { AppContext } from '../context.ts';
import { errors, ModelIdParams } from '../schemas/common.schemas.ts';
import { ModelDeleteResponse, ModelDetailSchema, ModelListQuery, ModelListResponse } from '../schemas/models.schemas.ts';
import { requireScope } from '../../auth/route-security.ts';

const tags = ['models'];

function aliasesByModel(all: Record<string, string>): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const [name, id] of Object.entries(all)) map.set(id, [...(map.get(id) ?? []), name].sort());
  return map;
}

function summary(r: ModelRecord, aliases: string[]) {
  const { experiment, ensemble: _e, confusion: _c, history: _h, ...rest } = r;
  // an ensemble of models has no filters of its own (its members may)
  return { ...rest, aliases, hasFilters: experiment?.network.layers.some((l) => l.type === 'conv') ?? false };
}

export default async function modelsRoutes(fastify: FastifyInstance, { ctx }: { ctx: AppContext }) {
  const app = fastify.withTypeProvider<ZodTypeProvider>();

  app.get('/v1/models', {
    schema: {
      tags,
      summary: 'List trained models, newest first',
      security: requireScope('predict'),
      querystring: ModelListQuery,
      response: { 200: ModelListResponse, ...errors(400, 503) },
    },
  }, async (req) => {
    const { limit, offset } = req.query;
    const [items, total, aliases] = await Promise.all([
      ctx.models.list({ limit, offset }),
      ctx.models.count(),
      ctx.aliases.list(),
    ]);
    const byModel = aliasesByModel(aliases);
    return { items: items.map((r) => summary(r, byModel.get(r.id) ?? [])), total, limit, offset };
  });

  app.get('/v1/models/:id', {
    schema: {
      tags,
      summary: 'A model: its experiment (or ensemble members), training history, test accuracy and confusion matrix',
      security: requireScope('predict'),
      description: '`id` may also be an alias name such as `default`.',
      params: ModelIdParams,
      response: { 200: ModelDetailSchema, ...errors(404, 503) },
    },
  }, async (req) => {
    const id = await ctx.predict.resolve(req.params.id, { fresh: true });
    const [record, aliases] = await Promise.all([ctx.models.get(id), ctx.aliases.list()]);
    if (!record) throw notFound(`no model ${req.params.id}`);
    return {
      ...summary(record, aliasesByModel(aliases).get(id) ?? []),
      ...(record.experiment ? { experiment: record.experiment } : {}),
      ...(record.ensemble ? { ensemble: record.ensemble } : {}),
      ...(record.card ? { card: record.card } : {}),
      confusion: record.confusion,
      history: record.history,
    };
  });

  app.delete('/v1/models/:id', {
    schema: {
      tags,
      summary: 'Delete a model (by id, not alias); aliases pointing at it are removed too',
      security: requireScope('admin'),
      params: ModelIdParams,
      response: { 200: ModelDeleteResponse, ...errors(404, 503) },
    },
  }, async (req) => {
    const { id } = req.params;
    if (!(await ctx.models.exists(id))) throw notFound(`no model ${id} (delete takes a model id, not an alias)`);
    // Unlisted, tombstoned and its aliases removed in one step before any file goes, so no
    // request resolves to it and a crash before the files are gone cannot bring it back.
    const { deleted, aliasesRemoved } = await ctx.models.unlist(id);
    if (!deleted) throw notFound(`no model ${id}`); // a concurrent delete won
    ctx.predict.invalidate();
    ctx.cache.evict(id);
    await ctx.models.removeFiles(id);
    req.log.info({ modelId: id, aliasesRemoved }, 'model deleted');
    return { id, deleted: true as const, aliasesRemoved };
  });
}
