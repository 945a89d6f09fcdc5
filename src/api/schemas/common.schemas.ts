// Schemas shared by several routes: the error shape, ids, pagination.
import { z } from 'zod';

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
z.globalRegistry.add(ErrorResponse, { id: 'Error' });

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
