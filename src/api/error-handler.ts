// Every error leaves the service in one shape, { error: { code, message, details? } }:
// ApiError as thrown, request validation as 422 (body) / 400 (query, params), framework
// errors with their 4xx status, anything else as a bare 500 (logged, never echoed).
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import type { ZodError } from 'zod';
import { BudgetError } from '../engine/index.ts';
import { ApiError, errorBody } from '../errors.ts';
import { isRedisUnavailable } from '../queue/index.ts';

export type IssueDetail = { path: string; message: string };

export function zodIssues(err: ZodError): IssueDetail[] {
  return err.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
}

// Fastify's own error codes -> our codes (status comes from the error itself).
const FRAMEWORK_CODES: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'empty_body',
  FST_ERR_CTP_INVALID_JSON_BODY: 'malformed_json',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'bad_request',
  FST_ERR_CTP_INVALID_TYPE: 'bad_request',
  FST_ERR_CTP_EMPTY_TYPE: 'unsupported_media_type',
  FST_REQ_FILE_TOO_LARGE: 'payload_too_large',
  FST_PARTS_LIMIT: 'payload_too_large',
  FST_FILES_LIMIT: 'payload_too_large',
  FST_FIELDS_LIMIT: 'payload_too_large',
  FST_INVALID_MULTIPART_CONTENT_TYPE: 'unsupported_media_type',
};

function codeForStatus(status: number): string {
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not_found';
  if (status === 405) return 'method_not_allowed';
  if (status === 406) return 'not_acceptable';
  if (status === 413) return 'payload_too_large';
  if (status === 415) return 'unsupported_media_type';
  if (status === 422) return 'unprocessable';
  if (status === 429) return 'too_many_requests';
  return 'bad_request';
}

export type ErrorResponse = {
  status: number;
  body: ReturnType<typeof errorBody>;
  /** Logged as an error (a 5xx that is our fault or our state). */
  internal: boolean;
  headers?: Readonly<Record<string, string>>;
};

export function toErrorResponse(err: unknown, contentType?: string): ErrorResponse {
  if (err instanceof ApiError) {
    // shedding load (503 overloaded) is the service working as meant, not an incident
    const internal = err.status >= 500 && err.code !== 'overloaded';
    return { status: err.status, body: err.toJSON(), internal, ...(err.headers ? { headers: err.headers } : {}) };
  }
  if (err instanceof BudgetError) {
    // a job (or a model to serve) over a resource budget: every budget exceeded, with its figure and limit
    const details = err.violations.map(({ budget, figure, value, limit, message }) => ({ budget, figure, value, limit, message }));
    return { status: 422, body: errorBody('over_budget', err.message, details), internal: false };
  }
  const fe = err as FastifyError & { validationContext?: string };
  if (hasZodFastifySchemaValidationErrors(fe)) {
    const where = fe.validationContext ?? 'request';
    const status = where === 'body' ? 422 : 400;
    const details = fe.validation!.map((v) => ({
      path: v.instancePath.replace(/^\//, '').replaceAll('/', '.'),
      message: v.message ?? 'invalid',
    }));
    return { status, body: errorBody('validation_failed', `invalid ${where}: ${summarize(details)}`, details), internal: false };
  }
  if (err instanceof SyntaxError && (fe.statusCode === 400 || 'body' in fe)) {
    return { status: 400, body: errorBody('malformed_json', `malformed JSON body: ${err.message}`), internal: false };
  }
  // A 4xx from the framework first: a client that aborted its upload fails with ECONNRESET
  // wrapped as a 400, which is the client going away, not Redis.
  const given = typeof fe?.statusCode === 'number' ? fe.statusCode : undefined;
  if (given === undefined || given >= 500) {
    if (isRedisUnavailable(err)) {
      // Redis down is the service's state, not a bug: 503 so clients and balancers retry
      return {
        status: 503,
        body: errorBody('unavailable', 'the service cannot reach Redis; try again shortly'),
        internal: true,
        headers: { 'retry-after': '2' },
      };
    }
  }
  const status = given ?? 500;
  if (status >= 400 && status < 500) {
    const code = (fe.code && FRAMEWORK_CODES[fe.code]) ?? codeForStatus(status);
    const message =
      code === 'unsupported_media_type'
        ? `unsupported content type ${JSON.stringify(contentType ?? '')} for this route`
        : code === 'payload_too_large' && fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
          ? 'request body too large (see BODY_LIMIT_BYTES)'
          : fe.message || code;
    return { status, body: errorBody(code, message), internal: false };
  }
  if (status === 503) return { status, body: errorBody('unavailable', 'service unavailable'), internal: true };
  return { status: 500, body: errorBody('internal', 'internal server error'), internal: true };
}

function summarize(details: IssueDetail[]): string {
  const first = details.slice(0, 3).map((d) => (d.path ? `${d.path}: ${d.message}` : d.message));
  return first.join('; ') + (details.length > 3 ? ` (and ${details.length - 3} more)` : '');
}

/**
 * Fastify's `frameworkErrors`: URLs rejected before routing (bad percent-encoding, a path
 * parameter over maxParamLength) answered in the one shape instead of Fastify's own.
 */
export function frameworkErrors(err: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const tooLong = err.code === 'FST_ERR_MAX_PARAM_LENGTH';
  void reply
    .code(tooLong ? 414 : 400)
    .type('application/json; charset=utf-8')
    .send(tooLong ? errorBody('uri_too_long', 'a path parameter is too long') : errorBody('bad_request', 'the URL is not valid (bad percent-encoding)'));
}

export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const { status, body, internal, headers } = toErrorResponse(err, request.headers['content-type']);
    if (internal) request.log.error({ err }, 'request failed');
    else request.log.info({ status, code: body.error.code }, 'request rejected');
    if (headers) reply.headers(headers);
    return reply.code(status).type('application/json; charset=utf-8').send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    return reply
      .code(404)
      .send(errorBody('not_found', `no route ${request.method} ${request.url.split('?')[0]}`));
  });
}
