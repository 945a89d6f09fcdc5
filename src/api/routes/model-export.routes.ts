// GET /v1/models/{id}/export?format=tfjs: the model as a TensorFlow.js LayersModel in a zip
// (layout in src/engine/README.md, "TensorFlow.js"): model.json + weights.bin, or for an ensemble ensemble.json +
// member-<i>/model.json + member-<i>/weights.bin. Works for a model from either engine backend.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { zipSync } from 'fflate';
import { z } from 'zod';
import { exportStoredModel, ExportError } from '../../engine/index.ts';
import { notFound, unprocessable } from '../../errors.ts';
import { ModelNotFoundError } from '../../store/model.repository.ts';
import type { AppContext } from '../context.ts';
import { errors, ModelIdParams } from '../schemas/common.schemas.ts';
import { requireScope } from '../../auth/route-security.ts';

const ExportQuery = z.object({
  format: z.enum(['tfjs']).default('tfjs').describe('export format; `tfjs`: a TensorFlow.js LayersModel, zipped'),
});

export default async function modelExportRoutes(fastify: FastifyInstance, { ctx }: { ctx: AppContext }) {
  const app = fastify.withTypeProvider<ZodTypeProvider>();

  app.get('/v1/models/:id/export', {
    schema: {
      tags: ['models'],
      summary: 'Download a model as a TensorFlow.js LayersModel (zip)',
      security: requireScope('predict'),
      description: 'A zip of `model.json` (modelTopology + weightsManifest) and `weights.bin` for '
        + '`tf.loadLayersModel`; an ensemble gives `ensemble.json` plus `member-<i>/model.json` and `member-<i>/weights.bin`. '
        + 'Input [n, 784] floats in [0, 1]; output the network\'s own activations. Models with L2 pooling cannot be '
        + 'expressed with standard TensorFlow.js layers: 422. `id` may be an alias.',
      params: ModelIdParams,
      querystring: ExportQuery,
      response: {
        200: { description: 'the zip', content: { 'application/zip': { schema: z.string().meta({ format: 'binary' }) } } },
        ...errors(400, 404, 422, 503),
      },
    },
    // The 200 body is binary (documented above as a plain OpenAPI schema, which the zod serializer
    // cannot compile); error bodies are plain JSON.
    serializerCompiler: () => (data) => JSON.stringify(data),
  }, async (req, reply) => {
    const id = await ctx.predict.resolve(req.params.id, { fresh: true });
    let model;
    try {
      model = await ctx.models.load(id);
    } catch (e) {
      if (e instanceof ModelNotFoundError) throw notFound(`no model ${req.params.id}`);
      throw e;
    }
    let files;
    try {
      files = exportStoredModel(model, `nndl_${id.replace(/[^A-Za-z0-9_]/g, '_')}`).files;
    } catch (e) {
      if (e instanceof ExportError) throw unprocessable(e.message);
      throw e;
    }
    // Stored, not deflated: float weights barely compress, and storing keeps this fast.
    const zip = zipSync(Object.fromEntries(Object.entries(files).map(([k, v]) => [k, [v, { level: 0 }]])));
    return reply
      .type('application/zip')
      .header('content-disposition', `attachment; filename="${id}-tfjs.zip"`)
      .send(Buffer.from(zip.buffer, zip.byteOffset, zip.byteLength) as never); // binary: no JSON schema to serialize with
  });
}
