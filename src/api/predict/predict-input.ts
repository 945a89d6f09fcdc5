// Reads a predict request in any of its forms (input-formats.ts) into model inputs (784 floats
// each): raw image body, multipart file field, JSON { pixels } or { instances }.
import type { FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type {} from '@fastify/multipart'; // request.parts() and isMultipart()
import { ApiError, badRequest, unprocessable, unsupportedMediaType } from '../../errors.ts';
import { zodIssues } from '../error-handler.ts';
import { B64ImageSchema, instancesBody, PIXELS, PixelsBody, PixelsSchema } from '../schemas/predict.schemas.ts';
import { bytesFromBase64, decodeDigit } from './decode-image.ts';
import { PixelBudget } from './pixel-budget.ts';
import { ACCEPTED_CONTENT_TYPES, JSON_BODIES, JSON_FORMS, MULTIPART_FIELD, readerFor, unsupportedTypeMessage, type InputLimits } from './input-formats.ts';
import type { StageTrace } from './normalize-image.ts';
import { PixelsBodyFast } from './pixels-json.ts';

export type { InputLimits };

/** What a read needs from its request's life: admission once the count is known, and whether the client is still there. */
export type ReadHooks = {
  /** Called once, with the number of instances, before any decoding; throws to refuse (503). */
  admit(n: number): void;
  /** True once the client has gone: decoding stops (checked before each image). */
  gone(): boolean;
  /** ?debug=1: filled, per instance index, with a picture of each preprocessing stage (images only). */
  traces?: (StageTrace[] | undefined)[];
  /** The caller's per-minute image budget, charged from each image's header before it is decoded; throws 429 when spent. */
  charge?: (pixels: number) => Promise<void>;
};

/** The request is gone (client closed the connection): nobody to answer, so no more work. */
export class ClientGoneError extends ApiError {
  constructor(readonly stage: 'decode' | 'enqueue') {
    super(499, 'client_closed_request', `the client closed the connection before the ${stage} stage`);
  }
}

export function checkGone(hooks: Pick<ReadHooks, 'gone'>, stage: 'decode' | 'enqueue'): void {
  if (hooks.gone()) throw new ClientGoneError(stage);
}

// Instances decoded between two yields to the event loop: a request of many small images
// (decoded synchronously in JS) lets other requests, and its own client's close, be seen.
const YIELD_EVERY = 8;
const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

// Images of one request decoded a few at a time: keeps the thread pool busy without
// flooding it, and our JS pixel work per image stays short between awaits.
const DECODE_CONCURRENCY = 4;

export function createInputReader(limits: InputLimits) {
  const instancesSchema = instancesBody(limits.maxInstances);
  const decode = (bytes: Buffer, hooks: ReadHooks, i: number, budget?: PixelBudget) => {
    const trace = hooks.traces ? (hooks.traces[i] = []) : undefined;
    return decodeDigit(bytes, { maxPixels: limits.maxPixels, ...(budget ? { budget } : {}), ...(hooks.charge ? { charge: hooks.charge } : {}) }, trace);
  };

  /** The request's inputs: read, counted and admitted (hooks.admit), then decoded unless the client is gone. */
  return async function readInputs(request: FastifyRequest, hooks: ReadHooks): Promise<Float32Array[]> {
    const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    switch (readerFor(type)) {
      case 'json':
        return fromJson(request.body, hooks);
      case 'multipart':
        return decodeOne(await multipartImage(request), hooks);
      case 'image': {
        const body = request.body;
        if (!Buffer.isBuffer(body) || body.length === 0) throw unprocessable('the image is empty (0 bytes)');
        return decodeOne(body, hooks);
      }
      case undefined:
        throw unsupportedType(request.headers['content-type']);
    }
  };

  async function decodeOne(bytes: Buffer, hooks: ReadHooks): Promise<Float32Array[]> {
    hooks.admit(1);
    checkGone(hooks, 'decode');
    // one image: MAX_IMAGE_PIXELS (≤ MAX_REQUEST_PIXELS) already bounds it, so no request budget to count
    return [await decode(bytes, hooks, 0)];
  }

  async function fromJson(body: unknown, hooks: ReadHooks): Promise<Float32Array[]> {
    if (body instanceof PixelsBodyFast) {
      hooks.admit(1);
      return [body.pixels]; // checked while parsing
    }
    if (body === undefined || body === null) throw badRequest(`empty body: send ${JSON_BODIES}`);
    if (typeof body !== 'object' || Array.isArray(body) || !JSON_FORMS.some((f) => f.jsonKey! in body)) {
      throw invalid(`expected ${JSON_BODIES}`);
    }
    if ('pixels' in body) {
      const { pixels } = body as { pixels: unknown };
      const checked = Object.keys(body).length === 1 && isPixelArray(pixels) ? pixels : check(PixelsBody, body).pixels;
      hooks.admit(1);
      return [Float32Array.from(checked)];
    }
    const items = check(instancesSchema, body).instances;
    // each instance is checked by its own form, so errors name the right problem
    const parsed = items.map((item, i) =>
      isPixelArray(item)
        ? item
        : Array.isArray(item)
          ? check(PixelsSchema, item, ['instances', i])
          : check(B64ImageSchema, item, ['instances', i]),
    );
    hooks.admit(parsed.length);
    const out: Float32Array[] = new Array(parsed.length);
    const budget = new PixelBudget(limits.maxRequestPixels); // the images' pixels, summed over the request
    let next = 0;
    let failed = false; // one bad instance (or a gone client) stops the other decoders too
    const worker = async () => {
      while (!failed && next < parsed.length) {
        const i = next++;
        const item = parsed[i]!;
        try {
          if (Array.isArray(item)) {
            out[i] = Float32Array.from(item);
            continue;
          }
          if (i > 0 && i % YIELD_EVERY === 0) await yieldToLoop();
          checkGone(hooks, 'decode');
          out[i] = await decode(bytesFromBase64(item.b64), hooks, i, budget);
        } catch (err) {
          failed = true;
          if (err instanceof ClientGoneError) throw err;
          if (err instanceof ApiError) throw new ApiError(err.status, err.code, `instances.${i}: ${err.message}`, err.details, err.headers);
          throw err;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(DECODE_CONCURRENCY, parsed.length) }, worker));
    return out;
  }
}

/**
 * The hot path of JSON predict: the same rule as PixelsSchema (784 numbers in [0, 1]) in
 * one loop; zod runs only when this says no, to explain what is wrong.
 */
function isPixelArray(v: unknown): v is number[] {
  if (!Array.isArray(v) || v.length !== PIXELS) return false;
  for (let i = 0; i < PIXELS; i++) {
    const x = v[i];
    if (typeof x !== 'number' || !(x >= 0 && x <= 1)) return false;
  }
  return true;
}

const invalid = (message: string, details?: unknown) => new ApiError(422, 'validation_failed', message, details);

function check<T>(schema: z.ZodType<T>, value: unknown, prefix: (string | number)[] = []): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const details = zodIssues(r.error).map((d) => ({ ...d, path: [...prefix, ...(d.path ? [d.path] : [])].join('.') }));
  const first = details.slice(0, 3).map((d) => (d.path ? `${d.path}: ${d.message}` : d.message));
  const more = details.length > 3 ? ` (and ${details.length - 3} more)` : '';
  throw invalid(`invalid predict body: ${first.join('; ')}${more}`, details.slice(0, 20));
}

/** 415, naming every accepted form (the registry's), with their content types in `details.accepted`. */
export function unsupportedType(contentType: string | undefined): ApiError {
  return unsupportedMediaType(unsupportedTypeMessage(contentType), { accepted: ACCEPTED_CONTENT_TYPES });
}

/**
 * The one file part (MULTIPART_FIELD) of a multipart body (limits: one file of at most BODY_LIMIT_BYTES,
 * a few small fields; see predict.routes.ts). busboy reports a body that does not match its
 * boundary (missing, truncated, no such boundary) as a plain Error: that is the client's
 * malformed body, a 400, never a 500.
 */
async function multipartImage(request: FastifyRequest): Promise<Buffer> {
  if (!request.isMultipart()) throw unsupportedType(request.headers['content-type']);
  let image: Buffer | null = null;
  try {
    for await (const part of request.parts()) {
      if (part.type !== 'file') continue; // small fields (fieldSize limit) are ignored
      if (part.fieldname !== MULTIPART_FIELD) {
        part.file.resume(); // not buffered
        throw unprocessable(`unexpected file field ${JSON.stringify(part.fieldname.slice(0, 64))}: send the image as field "${MULTIPART_FIELD}"`);
      }
      image = await part.toBuffer(); // enforces the size limit (413)
    }
  } catch (err) {
    throw multipartError(err);
  }
  if (!image) throw unprocessable(`multipart body has no file field "${MULTIPART_FIELD}"`);
  if (image.length === 0) throw unprocessable('the image is empty (0 bytes)');
  return image;
}

function multipartError(err: unknown): unknown {
  if (err instanceof ApiError) return err;
  const status = (err as { statusCode?: unknown })?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) return err; // @fastify/multipart's limits
  const message = err instanceof Error ? err.message.split('\n')[0]!.slice(0, 200) : 'unreadable';
  return new ApiError(400, 'malformed_multipart', `malformed multipart body: ${message}`);
}
