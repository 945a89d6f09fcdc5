// The book's experiments, by name: what `{ "preset": ... }` in POST /v1/jobs refers to.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { estimateCost, listPresets } from '../../engine/index.ts';
import { PresetListResponse } from '../schemas/presets.schemas.ts';
import { requireAnyScope } from '../../auth/route-security.ts';

export default async function presetsRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  app.get('/v1/presets', {
    schema: {
      tags: ['presets'],
      summary: "The book's experiments: name, description, the accuracy the book reports, the experiment, its estimated cost",
      // read to predict with a model or to pick one to train
      security: requireAnyScope('predict', 'train'),
      response: { 200: PresetListResponse },
    },
  }, async () => ({ items: listPresets().map((p) => ({ ...p, cost: estimateCost(p.experiment) })) }));
}
