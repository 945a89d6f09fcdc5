// The Open Inference Protocol (KServe v2, Triton's HTTP/REST API) in zod: what /v2 takes and
// answers. The infer request's envelope is validated by zod; its tensor `data` (up to
// MAX_INSTANCES × 784 numbers) is walked by one loop in v2-tensors.ts instead, so a large batch
// costs one pass, not a zod pass per number.
import { z } from 'zod';
import { component } from './common.schemas.ts';

/** The protocol's error object: one descriptive string (not nndl's `{ code, message }`). */
export const V2Error = z.object({ error: z.string().describe('what went wrong') }).describe('Open Inference Protocol error');
component(V2Error, 'InferenceError');

const Parameters = z.record(z.string(), z.unknown()).describe('key/value parameters');

export const TensorMetadata = z.object({
  name: z.string(),
  datatype: z.string().describe('e.g. FP32, INT64'),
  shape: z.array(z.number().int()).describe('-1 for a variable-size dimension'),
});

export const ServerMetadata = z.object({
  name: z.string(),
  version: z.string(),
  extensions: z.array(z.string()),
});

export const ServerLive = z.object({ live: z.boolean() });
export const ServerReady = z.object({ ready: z.boolean() });
export const ModelReady = z.object({ name: z.string(), ready: z.boolean() });

export const ModelMetadata = z.object({
  name: z.string().describe('the name asked for (a model id or an alias)'),
  versions: z.array(z.string()).describe('the one version served under this name: the model id it resolves to'),
  platform: z.string(),
  inputs: z.array(TensorMetadata),
  outputs: z.array(TensorMetadata),
});

export const RequestInput = z.object({
  name: z.string().max(200),
  shape: z.array(z.number().int().min(0)).min(1).max(8).describe('[n, 784] (also [n, 28, 28], [n, 28, 28, 1], [n, 1, 28, 28])'),
  datatype: z.string().max(32),
  parameters: Parameters.optional(),
  data: z.unknown().optional().describe('the tensor, row-major: a flat array of numbers or nested arrays (28 rows of 28 per image, MNIST scale 0 … 1)'),
});

export const RequestOutput = z.object({ name: z.string().max(200), parameters: Parameters.optional() });

export const InferRequest = z.object({
  id: z.string().max(256).optional().describe('echoed in the response'),
  parameters: Parameters.optional(),
  inputs: z.array(RequestInput).min(1).max(16),
  outputs: z.array(RequestOutput).max(16).optional().describe('the outputs to return (default: all)'),
});
export type InferRequest = z.infer<typeof InferRequest>;

export const ResponseOutput = z.object({
  name: z.string(),
  shape: z.array(z.number().int()),
  datatype: z.string(),
  parameters: Parameters.optional(),
  data: z.array(z.number()).describe('row-major, flat'),
});

export const InferResponse = z.object({
  model_name: z.string(),
  model_version: z.string().describe('the model id that answered'),
  id: z.string().describe("the request's `id`, else the HTTP request id (X-Request-Id)"),
  parameters: Parameters.optional(),
  outputs: z.array(ResponseOutput),
});

export const ModelNameParams = z.object({
  name: z.string().min(1).max(200).describe('a model id or an alias name such as `default`'),
});

export const ModelVersionParams = ModelNameParams.extend({
  version: z.string().min(1).max(200).describe('the model id the name resolves to'),
});

/** For the OpenAPI document: the infer request as clients send it (data documented as numbers). */
export function inferRequestContent() {
  const documented = InferRequest.extend({
    inputs: z.array(RequestInput.extend({
      data: z.array(z.union([z.number(), z.array(z.unknown())])).describe(RequestInput.shape.data.description!),
    })).min(1).max(16),
  });
  return { 'application/json': z.toJSONSchema(documented, { target: 'draft-2020-12', io: 'input' }) };
}
