// Aliases: stable names (at least `default`, used by POST /v1/predict) for model ids.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { notFound, unprocessable } from '../../errors.ts';
import { ALIAS_NAME_PATTERN } from '../../store/alias.repository.ts';
import type { AppContext } from '../context.ts';
import { AliasListResponse, AliasPutBody, AliasResponse } from '../schemas/aliases.schemas.ts';
import { AliasNameParams, errors } from '../schemas/common.schemas.ts';
import { requireScope } from '../../auth/route-security.ts';

const tags = ['aliases'];

export default async function aliasesRoutes(fastify: FastifyInstance, { ctx }: { ctx: AppContext }) {
  const app = fastify.withTypeProvider<ZodTypeProvider>();

  app.get('/v1/aliases', {
    schema: { tags, summary: 'All aliases (name -> model id)', security: requireScope('predict'), response: { 200: AliasListResponse, ...errors(503) } },
  }, async () => ctx.aliases.list());

  app.put('/v1/aliases/:name', {
    schema: {
      tags,
      summary: 'Point an alias at a model (creates or moves it)',
      security: requireScope('admin'),
      params: AliasNameParams,
      body: AliasPutBody,
      response: { 200: AliasResponse, ...errors(404, 422, 503) },
    },
  }, async (req) => {
    const { name } = req.params;
    const { modelId } = req.body;
    if (!ALIAS_NAME_PATTERN.test(name)) {
      throw unprocessable('alias names are 1–64 letters, digits, _ . - (starting with a letter or digit)', { name });
    }
    // checked again atomically with the write: a model deleted meanwhile gets no alias
    if (!(await ctx.aliases.set(name, modelId))) throw notFound(`no model ${modelId}`);
    ctx.predict.invalidate();
    req.log.info({ alias: name, modelId }, 'alias set');
    return { name, modelId };
  });

  app.delete('/v1/aliases/:name', {
    schema: {
      tags,
      summary: 'Remove an alias (the model stays)',
      security: requireScope('admin'),
      params: AliasNameParams,
      response: { 200: AliasResponse, ...errors(404, 503) },
    },
  }, async (req) => {
    const { name } = req.params;
    const modelId = await ctx.aliases.resolve(name);
    if (modelId === null || !(await ctx.aliases.delete(name))) throw notFound(`no alias ${name}`);
    ctx.predict.invalidate();
    return { name, modelId };
  });
}
