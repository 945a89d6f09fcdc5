// Schemas shared by several routes: the error shape, epoch metrics, the experiment, ids, pagination.
// Zod schemas are named in PascalCase everywhere (a `Schema` suffix where the bare name is a type).
import { z } from 'zod';
import { ExperimentSchema } from '../../engine/spec.ts';

/**
 * Registers `schema` in z.globalRegistry as the OpenAPI component `id`, keeping what .describe() and .meta()
 * gave it (a bare globalRegistry.add replaces that metadata: descriptions and examples were lost that way).
 */
export function component<T extends z.ZodType>(schema: T, id: string, meta: Record<string, unknown> = {}): T {
  z.globalRegistry.add(schema, { ...schema.meta(), ...meta, id });
  return schema;
}

export const ErrorResponse = z
  .object({
    error: z.object({
      code: z.string().describe('machine-readable error code, e.g. not_found, validation_failed'),
      message: z.string().describe('what went wrong, for people'),
      details: z.unknown().optional().describe('e.g. the invalid fields: [{ path, message }]'),
    }),
  })
  .describe('The one error shape of the service');
// registered: the OpenAPI document refers to it as #/components/schemas/Error
component(ErrorResponse, 'Error');

/** `{ 404: ErrorResponse, 422: ErrorResponse }` for a route's response schema. */
export function errors<const S extends readonly number[]>(...statuses: S): { [K in S[number]]: typeof ErrorResponse } {
  return Object.fromEntries(statuses.map((s) => [s, ErrorResponse])) as { [K in S[number]]: typeof ErrorResponse };
}

// Params are loose strings: an id that cannot exist is simply not found (404), not a 400.
export const ModelIdParams = z.object({
  id: z.string().min(1).max(200).describe('a model id, or an alias name such as `default`'),
});

export const AliasNameParams = z.object({
  name: z.string().min(1).max(200).describe('alias name: letters, digits, _ . - (max 64)'),
});

export const Pagination = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});

/** Numbers from stored JSON: NaN/Infinity became null there, so metrics may be null. */
export const num = () => z.number().nullable();

/** One finished epoch of one network: the one schema of it (jobs' metrics and events, models' history, sweeps' events). */
export const EpochMetricsSchema = z.looseObject({
  member: z.number().int().describe('ensemble member (0 for a single network)'),
  epoch: z.number().int().describe('1-based'),
  epochs: z.number().int(),
  trainingCost: num().describe('mean cost over the epoch\'s examples + the regularization term'),
  trainingAccuracy: num(),
  validationCost: num().describe('null when validationSize is 0'),
  validationAccuracy: num(),
  eta: num().describe('η used during this epoch'),
  seconds: num(),
  imagesPerSecond: num(),
  gradientNorms: z.array(num()).describe('per parametric layer: mean norm of dC/dW over the epoch'),
  biasGradientNorms: z.array(num()).optional().describe('with training.biasGradientImages > 0 (chapter 5\'s speed of learning): ' +
    'per hidden layer (every dense/conv layer but the output, in order), ‖∂C/∂b‖ — the norm of the bias gradient averaged over ' +
    'the first biasGradientImages training images, dropout off — after this epoch'),
  initialBiasGradientNorms: z.array(num()).optional().describe('the same at initialisation, before any training: on epoch 1\'s metrics only'),
}).describe('one finished epoch of one network');
component(EpochMetricsSchema, 'EpochMetrics');

/** The complete, resolved experiment: the engine's own schema (component Experiment). */
export { ExperimentSchema };
component(ExperimentSchema, 'Experiment', { description: 'the complete, resolved experiment: network, training, data (the engine\'s spec)' });
