// The one error type the service throws on purpose; the app's error handler turns it
// (and everything else) into { "error": { "code", "message", "details"? } }.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    /** Extra response headers, e.g. Retry-After on 429/503. */
    readonly headers?: Readonly<Record<string, string>>,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  toJSON(): ErrorBody {
    return errorBody(this.code, this.message, this.details);
  }
}

export type ErrorBody = { error: { code: string; message: string; details?: unknown } };

export function errorBody(code: string, message: string, details?: unknown): ErrorBody {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

export const badRequest = (message: string, details?: unknown) =>
  new ApiError(400, 'bad_request', message, details);
export const unauthorized = (message: string, details?: unknown) => new ApiError(401, 'unauthorized', message, details);
export const forbidden = (message: string, details?: unknown) => new ApiError(403, 'forbidden', message, details);
export const notFound = (message: string, details?: unknown) => new ApiError(404, 'not_found', message, details);
export const conflict = (message: string, details?: unknown) => new ApiError(409, 'conflict', message, details);
export const unsupportedMediaType = (message: string, details?: unknown) =>
  new ApiError(415, 'unsupported_media_type', message, details);
export const unprocessable = (message: string, details?: unknown) =>
  new ApiError(422, 'unprocessable', message, details);
export const serviceUnavailable = (message: string, details?: unknown, retryAfterS?: number) =>
  new ApiError(503, 'unavailable', message, details, retryAfter(retryAfterS));
/** 429: this caller has used up a budget (rate, streams); Retry-After says when to come back. */
export const tooManyRequests = (code: string, message: string, retryAfterS: number, details?: unknown) =>
  new ApiError(429, code, message, details, retryAfter(retryAfterS));
/** 503 with Retry-After: the service sheds load (a full queue) rather than growing. */
export const overloaded = (message: string, retryAfterS: number, details?: unknown) =>
  new ApiError(503, 'overloaded', message, details, retryAfter(retryAfterS));

const retryAfter = (s: number | undefined) =>
  s === undefined ? undefined : { 'retry-after': String(Math.max(1, Math.ceil(s))) };
export const internal = (message = 'internal server error') => new ApiError(500, 'internal', message);
