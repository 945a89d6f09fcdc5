// GET /v1/models/{id}/filters: the first convolutional layer's filters (chapter 6's picture of what a
// conv net learns), as numbers (JSON) or as one PNG grid. The filters of a model are computed once and
// kept (a few KB each); the weights themselves are not kept.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { firstConvFilters, isModelEnsemble, NoConvLayerError, type ConvFilters } from '../../engine/index.ts';
import { ApiError, notFound } from '../../errors.ts';
import { ModelNotFoundError } from '../../store/model.repository.ts';
import type { AppContext } from '../context.ts';
import { filterGridPng, gridSize, MAX_GRID_PIXELS } from '../filter-grid.ts';
import { errors, ModelIdParams } from '../schemas/common.schemas.ts';
import { requireScope } from '../../auth/route-security.ts';

/** Models whose filters are kept (every member's: at most 256 filters of 28×28 each). */
const CACHED_MODELS = 16;

export const FiltersQuery = z.object({
  format: z.enum(['json', 'png']).default('json').describe('`json`: the weights as numbers; `png`: one image, a grid of the filters'),
  member: z.coerce.number().int().min(0).max(1000).default(0).describe('ensemble member whose filters to show (0 for a single network)'),
  scale: z.coerce.number().int().min(1).max(32).default(8).describe('png only: each weight drawn as a scale×scale block'),
});

export const FiltersResponse = z.object({
  modelId: z.string(),
  layer: z.number().int().describe('index of the conv layer in experiment.network.layers (the first conv layer)'),
  member: z.number().int(),
  members: z.number().int().describe('ensemble members of the model (1 for a single network)'),
  kernel: z.number().int().describe('each filter is kernel×kernel weights'),
  activation: z.string().describe("the conv layer's activation"),
  min: z.number().describe('smallest weight of the layer'),
  max: z.number().describe('largest weight of the layer'),
  filters: z.array(z.object({
    bias: z.number(),
    weights: z.array(z.array(z.number())).describe('kernel rows of kernel weights: weights[row][col], row 0 at the top'),
  })).describe('one entry per filter (feature map), in the network\'s order'),
}).meta({ id: 'ConvFilters' });

type Kept = { members: ConvFilters[] } | { noConv: string };

/** A query the schema cannot judge alone (it depends on the model): the same 400 as a query that fails the schema. */
const badQuery = (path: string, message: string, detail: string) =>
  new ApiError(400, 'validation_failed', message, [{ path, message: detail }]);

export default async function modelFiltersRoutes(fastify: FastifyInstance, { ctx }: { ctx: AppContext }) {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  // insertion order = age; concurrent first requests for a model share one load
  const cache = new Map<string, Promise<Kept>>();

  const compute = async (id: string): Promise<Kept> => {
    const record = await ctx.models.get(id);
    if (!record) throw new ModelNotFoundError(id);
    // the record's experiment says whether there is a conv layer: no weights loaded to refuse
    if (!record.experiment) {
      return { noConv: 'the model is an ensemble of models: it has no filters of its own (ask for its members\' filters)' };
    }
    if (!record.experiment.network.layers.some((l) => l.type === 'conv')) {
      return { noConv: 'the model has no convolutional layer: it has no filters to show (chapter 6\'s conv presets have)' };
    }
    const model = await ctx.models.load(id);
    if (isModelEnsemble(model)) return { noConv: 'the model is an ensemble of models: it has no filters of its own' };
    try {
      return { members: model.members.map((_, m) => firstConvFilters(model, m)) };
    } catch (e) {
      if (e instanceof NoConvLayerError) return { noConv: e.message };
      throw e;
    }
  };

  const filtersOf = async (id: string): Promise<Kept> => {
    let hit = cache.get(id);
    if (hit && !(await ctx.models.exists(id))) { // deleted since: do not serve what was kept
      cache.delete(id);
      hit = undefined;
    }
    if (!hit) {
      hit = compute(id);
      hit.catch(() => cache.delete(id)); // a failure is not remembered
      cache.set(id, hit);
      if (cache.size > CACHED_MODELS) cache.delete(cache.keys().next().value!);
    }
    try {
      return await hit;
    } catch (e) {
      if (e instanceof ModelNotFoundError) throw notFound(`no model ${id}`);
      throw e;
    }
  };

  app.get('/v1/models/:id/filters', {
    schema: {
      tags: ['models'],
      summary: "The first conv layer's learned filters (chapter 6), as numbers or a PNG grid",
      security: requireScope('predict'),
      description:
        'The weights of the first convolutional layer of the model, one kernel×kernel grid per filter, with its bias ' +
        '(the book shows the 20 5×5 filters of ch6-conv1/ch6-relu). `format=png` draws them as one image: one tile per ' +
        'filter, 10 tiles a row, darker = larger weight on one grey scale for the whole layer (min white, max black), each ' +
        'weight a `scale`×`scale` block. For an ensemble, `member` picks the network. `id` may be an alias. 422 `no_conv_layer` ' +
        'for a model without a conv layer; 400 for a member it does not have or a PNG over 4,194,304 pixels.',
      params: ModelIdParams,
      querystring: FiltersQuery,
      response: {
        200: {
          description: 'the filters',
          content: {
            'application/json': { schema: FiltersResponse },
            'image/png': { schema: z.string().meta({ format: 'binary' }) },
          },
        },
        ...errors(400, 404, 422, 503),
      },
    },
    // two 200 bodies (JSON or PNG bytes): serialised by hand, the JSON one checked against its schema in tests
    serializerCompiler: () => (data) => JSON.stringify(data),
  }, async (req, reply) => {
    const id = await ctx.predict.resolve(req.params.id, { fresh: true });
    const kept = await filtersOf(id);
    if ('noConv' in kept) throw new ApiError(422, 'no_conv_layer', kept.noConv);
    const { member, format, scale } = req.query;
    const filters = kept.members[member];
    if (!filters) {
      throw badQuery('member', `member ${member} does not exist: the model has ${kept.members.length} member(s)`, `at most ${kept.members.length - 1}`);
    }
    if (format === 'json') return reply.type('application/json').send({ modelId: id, ...filters });
    const { width, height } = gridSize(filters.filters.length, filters.kernel, scale);
    if (width * height > MAX_GRID_PIXELS) {
      throw badQuery('scale', `the grid would be ${width}×${height} pixels, more than ${MAX_GRID_PIXELS}: ask for a smaller scale`, 'too large for this model');
    }
    return reply.type('image/png').header('cache-control', 'private, max-age=60')
      .send(await filterGridPng(filters, scale) as never); // binary: no JSON schema to serialize with
  });
}
