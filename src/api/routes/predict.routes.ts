// POST /v1/models/:id/predict and POST /v1/predict (the `default` alias). The body's forms, their
// parsers here, their documentation and the 415 for anything else come from predict/input-formats.ts.
import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { DEFAULT_ALIAS } from '../../store/alias.repository.ts';
import type { AppContext } from '../context.ts';
import { parsePixelsJson } from '../predict/pixels-json.ts';
import { AdmissionTicket } from '../predict/predict-admission.ts';
import { contentTypesOf, INPUT_DESCRIPTION, requestBodyContent } from '../predict/input-formats.ts';
import { ClientGoneError, createInputReader, unsupportedType } from '../predict/predict-input.ts';
import { callerKey, routeRateLimit } from '../rate-limit.ts';
import { errors, ModelIdParams } from '../schemas/common.schemas.ts';
import { PredictQuery, PredictResponse } from '../schemas/predict.schemas.ts';
import { requireScope } from '../../auth/route-security.ts';

const tags = ['predict'];

export default async function predictRoutes(fastify: FastifyInstance, { ctx }: { ctx: AppContext }) {
  const { config } = ctx;
  // Parsers live in this plugin only: other routes keep answering 415 to images.
  fastify.addContentTypeParser(contentTypesOf('image'), { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  // JSON: { "pixels": [784 numbers] } straight to a Float32Array; anything else goes to
  // Fastify's own JSON parser (same errors, same prototype-poisoning checks)
  const defaultJson = fastify.getDefaultJsonParser('error', 'error');
  fastify.addContentTypeParser(contentTypesOf('json'), { parseAs: 'buffer' }, (req, body, done) => {
    const fast = parsePixelsJson(body as Buffer);
    if (fast) done(null, fast);
    else defaultJson(req, body as unknown as string, done); // it takes a Buffer too (secure-json-parse)
  });
  // One file part of at most the body limit, and a few small fields: a multipart body never
  // buffers more than one body's worth (a second file part is a 413).
  const multipartTypes = contentTypesOf('multipart');
  if (multipartTypes.join() !== 'multipart/form-data') throw new Error(`@fastify/multipart parses multipart/form-data, not ${multipartTypes.join()}`);
  await fastify.register(multipart, {
    limits: { fileSize: config.BODY_LIMIT_BYTES, files: 1, fields: 8, parts: 9, fieldSize: 1024, headerPairs: 32 },
  });
  // Any other content type: 415 at once (the body unread), naming every accepted form.
  fastify.addContentTypeParser('*', (req, _payload, done) => done(unsupportedType(req.headers['content-type'])));
  const readInputs = createInputReader({
    maxPixels: config.MAX_IMAGE_PIXELS, maxInstances: config.MAX_INSTANCES, maxRequestPixels: config.MAX_REQUEST_PIXELS,
  });
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const bodyDoc = { requestBodyContent: requestBodyContent({ maxInstances: config.MAX_INSTANCES }) };
  // The response is built right here from numbers we made; its zod schema documents it,
  // and plain JSON.stringify writes it (zod's encode pass costs more than the prediction).
  const serializerCompiler = () => (data: unknown) => JSON.stringify(data);
  const description =
    `${INPUT_DESCRIPTION}\n\n` +
    'Pixel numbers are MNIST-scale (28×28 row-major, 0 background … 1 ink) and used as given; images are ' +
    'normalised the MNIST way (grey, ink bright, cropped, fit to 20×20, centred by mass in 28×28). ' +
    'One prediction per instance, in order. 422 `over_budget` when one image of the model needs more prediction ' +
    'scratch than PREDICT_SCRATCH_BYTES (details: budget, figure, value, limit): it cannot be served here; ' +
    'also when the request\'s images hold more than MAX_REQUEST_PIXELS in all (default 100,000,000), counted from ' +
    'their headers before decoding: send fewer or smaller images per request. One image over MAX_IMAGE_PIXELS is 422 `unprocessable`. ' +
    '429 `rate_limited` (with Retry-After) when the caller has made too many predict requests this minute (RATE_LIMIT_PREDICT_PER_MIN), ' +
    'or when an image above 64×64 pixels would take the caller past its minute of image decoding (RATE_LIMIT_PREDICT_IMAGE_MS_PER_MIN, ' +
    'estimated from each image\'s header before decoding; details: budget `predict-image-ms`, limit, spentMs, imageMs, retryAfterSeconds).';

  // Admitted to the bounded predict queue once the instances are counted (before decoding),
  // released when answered; work stops between stages once the client has gone.
  const handle = async (req: FastifyRequest, reply: FastifyReply, modelRef: string, debug: boolean) => {
    const ticket = new AdmissionTicket(ctx.admission);
    const gone = () => reply.raw.destroyed || req.raw.socket?.destroyed === true;
    try {
      const traces = debug ? [] : undefined;
      const charge = ctx.imageBudget.enabled ? (pixels: number) => ctx.imageBudget.charge(callerKey(req), pixels) : undefined;
      const inputs = await readInputs(req, { admit: (n) => ticket.admit(n), gone, traces, ...(charge ? { charge } : {}) });
      return await ctx.predict.predict(modelRef, inputs, { debug, gone, traces });
    } catch (err) {
      if (err instanceof ClientGoneError) ctx.metrics.predictAbandoned.inc({ stage: err.stage });
      throw err;
    } finally {
      ticket.release();
    }
  };

  // one predict budget for both routes (RATE_LIMIT_PREDICT_PER_MIN)
  const rateLimit = routeRateLimit(config.RATE_LIMIT_PREDICT_PER_MIN, 'predict');

  app.post('/v1/models/:id/predict', {
    config: { rateLimit },
    schema: {
      tags,
      summary: 'Predict digits with a model (by id or alias)',
      security: requireScope('predict'),
      description,
      params: ModelIdParams,
      querystring: PredictQuery,
      response: { 200: PredictResponse, ...errors(400, 404, 413, 415, 422, 429, 503) },
      ...bodyDoc,
    },
    serializerCompiler,
  }, async (req, reply) => handle(req, reply, req.params.id, req.query.debug));

  app.post('/v1/predict', {
    config: { rateLimit },
    schema: {
      tags,
      summary: 'Predict digits with the `default` model',
      security: requireScope('predict'),
      description,
      querystring: PredictQuery,
      response: { 200: PredictResponse, ...errors(400, 404, 413, 415, 422, 429, 503) },
      ...bodyDoc,
    },
    serializerCompiler,
  }, async (req, reply) => handle(req, reply, DEFAULT_ALIAS, req.query.debug));
}
