// The Open Inference Protocol (KServe v2 / Triton HTTP) beside nndl's own routes, so KServe and
// Triton clients work unchanged: health, server and model metadata, model readiness and infer.
// Model names are model ids or aliases; the one version of a name is the model id it resolves to.
// Inference goes through the same predict service as /v1/predict (model cache, micro-batcher,
// predict queue admission, scratch budget, the `predict` rate limit). Errors here have the
// protocol's shape, `{ "error": "<message>" }`, with nndl's status codes.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { PUBLIC, requireScope } from '../../auth/route-security.ts';
import { BudgetError } from '../../engine/index.ts';
import { badRequest, notFound } from '../../errors.ts';
import type { AppContext } from '../context.ts';
import { toErrorResponse, zodIssues } from '../error-handler.ts';
import { AdmissionTicket } from '../predict/predict-admission.ts';
import { ClientGoneError } from '../predict/predict-input.ts';
import { MODEL_INPUTS, MODEL_OUTPUTS, outputTensors, parseInferRequest, splitBinaryBody } from '../predict/v2-tensors.ts';
import { routeRateLimit } from '../rate-limit.ts';
import { readiness } from './ops.routes.ts';
import {
  InferRequest, InferResponse, inferRequestContent, ModelMetadata, ModelNameParams, ModelReady, ModelVersionParams,
  ServerLive, ServerMetadata, ServerReady, V2Error,
} from '../schemas/inference-v2.schemas.ts';

const tags = ['inference (v2)'];
export const V2_PLATFORM = 'nndl';
/** Extensions this server implements (Triton's name for the binary tensor data extension). */
export const V2_EXTENSIONS = ['binary_tensor_data'];

const errs = (...statuses: number[]) => Object.fromEntries(statuses.map((s) => [s, V2Error]));
const HEADER_LENGTH = 'inference-header-content-length';

/** A parsed infer body: the JSON object and, with the binary extension, the bytes after it. */
type InferBody = { json: unknown; binary: Buffer | null };

export default async function inferenceV2Routes(fastify: FastifyInstance, { ctx, version }: { ctx: AppContext; version: string }) {
  const { config } = ctx;

  // Errors in the protocol's shape: nndl's status (and Retry-After), its message as `error`.
  fastify.setErrorHandler((err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const { status, body, internal, headers } = toErrorResponse(err, request.headers['content-type']);
    if (internal) request.log.error({ err }, 'request failed');
    else request.log.info({ status, code: body.error.code }, 'request rejected');
    if (headers) reply.headers(headers);
    // the protocol's failures are 400s: a body that does not validate is one too
    const code = body.error.code === 'validation_failed' ? 400 : status;
    return reply.code(code).type('application/json; charset=utf-8').send({ error: body.error.message });
  });
  fastify.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: `no route ${request.method} ${request.url.split('?')[0]}` }));

  // The infer body: JSON, or (binary tensor data extension) a JSON header of
  // Inference-Header-Content-Length bytes followed by the tensors' bytes.
  const json = fastify.getDefaultJsonParser('error', 'error');
  const parseBody = (req: FastifyRequest, body: Buffer, done: (err: Error | null, body?: InferBody) => void) => {
    let split;
    try {
      split = splitBinaryBody(body, req.headers[HEADER_LENGTH]);
    } catch (err) {
      return done(err as Error);
    }
    json(req, split.header as unknown as string, (err, parsed) =>
      err ? done(badRequest('the body is not valid JSON: send an inference request object')) : done(null, { json: parsed, binary: split.binary }));
  };
  // Any content type, or none (Triton reads the body as JSON whatever the header says; plain HTTP
  // clients often send none): the body is JSON or it is a 400.
  for (const type of ['application/json', '*']) {
    fastify.addContentTypeParser(type, { parseAs: 'buffer' }, (req, body, done) => parseBody(req, body as Buffer, done));
  }

  const app = fastify.withTypeProvider<ZodTypeProvider>();
  // answers are built here from values we made: plain JSON.stringify (the zod schemas document them)
  const serializerCompiler = () => (data: unknown) => JSON.stringify(data);

  app.get('/health/live', {
    config: { rateLimit: false },
    schema: { tags, summary: 'Server live (Open Inference Protocol): the process answers', security: PUBLIC, response: { 200: ServerLive } },
    serializerCompiler,
  }, async () => ({ live: true }));

  app.get('/health/ready', {
    config: { rateLimit: false },
    schema: {
      tags, summary: 'Server ready (Open Inference Protocol): Redis answers and the model store is writable',
      description: 'As `/readyz`: 200 `{ "ready": true }`, else 503 `{ "ready": false }`.',
      security: PUBLIC, response: { 200: ServerReady, 503: ServerReady },
    },
    serializerCompiler,
  }, async (_req, reply) => {
    const { ok } = await readiness(ctx);
    return reply.code(ok ? 200 : 503).send({ ready: ok });
  });

  // GET /v2 only (no /v2/ twin): one path in the document, without the trailing slash linters refuse
  app.get('/', {
    prefixTrailingSlash: 'no-slash',
    schema: {
      tags, summary: 'Server metadata (Open Inference Protocol)', security: requireScope('predict'),
      response: { 200: ServerMetadata, ...errs(401, 403, 429) },
    },
    serializerCompiler,
  }, async () => ({ name: 'nndl', version, extensions: V2_EXTENSIONS }));

  /** The model id `name` resolves to; with a version, it must be that id (404 otherwise). */
  const resolve = async (name: string, wanted?: string): Promise<string> => {
    const id = await ctx.predict.resolve(name, { fresh: true });
    if (wanted !== undefined && wanted !== id) throw notFound(`model ${name} has no version ${wanted} (its version is ${id})`);
    return id;
  };

  const metadata = async (name: string, wanted?: string) => {
    const id = await resolve(name, wanted);
    return { name, versions: [id], platform: V2_PLATFORM, inputs: MODEL_INPUTS, outputs: MODEL_OUTPUTS };
  };
  const metadataSchema = <P,>(params: P) => ({
    tags, summary: 'Model metadata (Open Inference Protocol): its input and output tensors', security: requireScope('predict'),
    description: 'Input `input` FP32 [-1, 784] (MNIST pixels, row-major, 0 background … 1 ink); outputs `probabilities` ' +
      'FP32 [-1, 10] and `digit` INT64 [-1]. `versions` holds the model id the name resolves to. 404 for an unknown model.',
    params, response: { 200: ModelMetadata, ...errs(400, 401, 403, 404, 429, 503) },
  });
  app.get('/models/:name', { schema: metadataSchema(ModelNameParams), serializerCompiler }, async (req) => metadata(req.params.name));
  app.get('/models/:name/versions/:version', { schema: metadataSchema(ModelVersionParams), serializerCompiler },
    async (req) => metadata(req.params.name, req.params.version));

  // Ready = loaded into the model cache and servable: loading it now is what a readiness probe
  // should wait for. A model over the prediction scratch budget can never be: 503 not ready.
  const ready = async (name: string, wanted: string | undefined, reply: FastifyReply) => {
    const id = await resolve(name, wanted);
    try {
      await ctx.cache.get(id);
    } catch (err) {
      if (err instanceof BudgetError) return reply.code(503).send({ error: `model ${name} is not ready: ${err.message}` });
      throw err;
    }
    return { name, ready: true };
  };
  const readySchema = <P,>(params: P) => ({
    tags, summary: 'Model ready (Open Inference Protocol): loaded and able to serve', security: requireScope('predict'),
    description: 'Loads the model into the cache if needed. 200 `{ name, ready: true }`; 404 unknown model; 503 when it ' +
      'cannot be served here (one image needs more prediction scratch than PREDICT_SCRATCH_BYTES).',
    params, response: { 200: ModelReady, ...errs(400, 401, 403, 404, 429, 503) },
  });
  app.get('/models/:name/ready', { schema: readySchema(ModelNameParams), serializerCompiler },
    async (req, reply) => ready(req.params.name, undefined, reply));
  app.get('/models/:name/versions/:version/ready', { schema: readySchema(ModelVersionParams), serializerCompiler },
    async (req, reply) => ready(req.params.name, req.params.version, reply));

  const infer = async (req: FastifyRequest, reply: FastifyReply, name: string, wanted?: string) => {
    const body = req.body as InferBody | undefined;
    if (!body || body.json === undefined) throw badRequest('empty body: send an inference request object');
    const checked = InferRequest.safeParse(body.json);
    if (!checked.success) {
      const issues = zodIssues(checked.error).slice(0, 3).map((i) => (i.path ? `${i.path}: ${i.message}` : i.message));
      return reply.code(400).send({ error: `invalid inference request: ${issues.join('; ')}` });
    }
    const request = checked.data;
    const parsed = parseInferRequest(request, body.binary, { maxInstances: config.MAX_INSTANCES });
    const id = await resolve(name, wanted);
    const ticket = new AdmissionTicket(ctx.admission);
    let result;
    try {
      ticket.admit(parsed.images.length);
      const gone = () => reply.raw.destroyed || req.raw.socket?.destroyed === true;
      result = await ctx.predict.predict(id, parsed.images, { gone });
    } catch (err) {
      if (err instanceof ClientGoneError) ctx.metrics.predictAbandoned.inc({ stage: err.stage });
      throw err;
    } finally {
      ticket.release();
    }
    const { tensors, binary } = outputTensors(result.predictions, parsed.outputs);
    const answer = { model_name: name, model_version: result.modelId, id: request.id ?? String(req.id), outputs: tensors };
    if (binary.length === 0) return reply.type('application/json; charset=utf-8').send(answer);
    const header = Buffer.from(JSON.stringify(answer));
    return reply
      .type('application/octet-stream')
      .header(HEADER_LENGTH, String(header.length))
      .send(Buffer.concat([header, ...binary]) as never);
  };

  const rateLimit = routeRateLimit(config.RATE_LIMIT_PREDICT_PER_MIN, 'predict'); // /v1/predict's budget
  const inferSchema = <P,>(params: P) => ({
    tags, summary: 'Infer (Open Inference Protocol): digits of a batch of images', security: requireScope('predict'),
    description: 'One input `input`, FP32, shape [n, 784] (or [n, 28, 28]), row-major MNIST pixels in [0, 1], JSON `data` ' +
      'flat or nested; or binary (Triton\'s binary tensor data extension: `parameters.binary_data_size` and the ' +
      'Inference-Header-Content-Length header). n ≤ MAX_INSTANCES. `outputs` selects `probabilities` and/or `digit` ' +
      '(`parameters.binary_data: true` for binary); `id` is echoed. The same predictions as POST /v1/models/{id}/predict. ' +
      'Errors: `{ "error": "..." }`, 400 for a bad request (datatype, shape, data), 404 unknown model, 413 body over ' +
      'BODY_LIMIT_BYTES, 422 model over PREDICT_SCRATCH_BYTES, 429 rate limit, 503 predict queue full.',
    params, response: { 200: InferResponse, ...errs(400, 401, 403, 404, 413, 415, 422, 429, 503) },
    requestBodyContent: inferRequestContent(),
  });
  app.post('/models/:name/infer', { config: { rateLimit }, schema: inferSchema(ModelNameParams), serializerCompiler },
    async (req, reply) => infer(req, reply, req.params.name));
  app.post('/models/:name/versions/:version/infer', { config: { rateLimit }, schema: inferSchema(ModelVersionParams), serializerCompiler },
    async (req, reply) => infer(req, reply, req.params.name, req.params.version));
}
