// The forms a predict request body may take (POST /v1/predict, POST /v1/models/{id}/predict), each
// said once: its content types, how it is read, its documented schema, what it looks like, and its
// examples. Everything else is derived from this list: the content-type parsers of the predict routes
// (predict.routes.ts), the dispatch and the 415/422 messages that say what is accepted
// (predict-input.ts), the OpenAPI request body with its examples, and the routes' description.
// Images are recognised by their signature (image-formats.ts), whatever the declared type.
// test/api/predict-formats.test.ts sends every documented form and example to the real app, and
// checks that anything else is refused with a message that lists exactly these forms.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { PUBLIC_DIR, STATIC_PREFIX } from '../../web/pages.routes.ts';
import { InstanceSchema, PIXELS, PixelsBody } from '../schemas/predict.schemas.ts';
import { IMAGE_FORMAT_NAMES, IMAGE_FORMATS, orList } from './image-formats.ts';

/** How a form's bytes become model inputs (predict-input.ts). */
export type InputReader = 'json' | 'image' | 'multipart';

export type InputLimits = { maxPixels: number; maxInstances: number; maxRequestPixels: number };

/** An example body: a JSON value, or a file served by the app (image bytes). */
export type InputExample = { name: string; summary: string; contentType: string } & (
  | { value: unknown }
  | { file: string }
);

type JsonSchema = Record<string, unknown>;

export type InputForm = {
  id: 'pixels' | 'instances' | 'image' | 'multipart';
  reader: InputReader;
  contentTypes: readonly string[];
  /** JSON forms: the one key of the body object that says which form it is. */
  jsonKey?: string;
  /** Multipart: the file field. */
  field?: string;
  /** What the body is, in one line (messages and the routes' description). */
  body: string;
  /** The documented schema: zod for JSON bodies (the validating path checks with the same parts), JSON Schema for bytes. */
  schema(limits: Pick<InputLimits, 'maxInstances'>): z.ZodType | JsonSchema;
  examples: readonly InputExample[];
};

/** The image examples' files, under src/web/public/examples/, served at /static/examples/. */
const EXAMPLES_DIR = 'examples';
export const exampleUrl = (file: string) => `${STATIC_PREFIX}${EXAMPLES_DIR}/${file}`;
export const exampleBytes = (file: string): Buffer => readFileSync(join(PUBLIC_DIR, EXAMPLES_DIR, file));

/** A 7 drawn in MNIST's 28×28 grid (0 background, 1 ink): the pixels example. */
function sevenPixels(): number[] {
  const px = new Array<number>(PIXELS).fill(0);
  for (let r = 6; r <= 7; r++) for (let c = 8; c <= 20; c++) px[r * 28 + c] = 1;
  for (let r = 8; r <= 22; r++) {
    const c = Math.round(20 - (r - 8) * 0.6);
    px[r * 28 + c] = px[r * 28 + c - 1] = 1;
  }
  return px;
}

const [firstImage, secondImage] = IMAGE_FORMATS;
const binary = (description: string): JsonSchema => ({ type: 'string', contentMediaType: 'application/octet-stream', description });

export const INPUT_FORMS: readonly InputForm[] = [
  {
    id: 'pixels',
    reader: 'json',
    contentTypes: ['application/json'],
    jsonKey: 'pixels',
    body: `{ "pixels": [${PIXELS} numbers] }`,
    schema: () => PixelsBody,
    examples: [{ name: 'pixels', summary: 'a 7 as 28×28 MNIST-scale pixels', contentType: 'application/json', value: { pixels: sevenPixels() } }],
  },
  {
    id: 'instances',
    reader: 'json',
    contentTypes: ['application/json'],
    jsonKey: 'instances',
    body: `{ "instances": [ [${PIXELS} numbers] | { "b64": "<base64 ${IMAGE_FORMAT_NAMES}, or a data: URL>" }, … ] }`,
    schema: ({ maxInstances }) => z.strictObject({ instances: z.array(InstanceSchema).min(1).max(maxInstances) }),
    examples: [{
      name: 'instances',
      summary: `two instances: a base64 ${firstImage.name} and a ${secondImage.name} data: URL, one prediction each`,
      contentType: 'application/json',
      value: {
        instances: [
          { b64: exampleBytes(firstImage.exampleFile).toString('base64') },
          { b64: `data:${secondImage.mediaType};base64,${exampleBytes(secondImage.exampleFile).toString('base64')}` },
        ],
      },
    }],
  },
  {
    id: 'image',
    reader: 'image',
    contentTypes: [...IMAGE_FORMATS.map((f) => f.mediaType), 'application/octet-stream'],
    body: `the ${IMAGE_FORMAT_NAMES} file's bytes (the format is read from the bytes)`,
    schema: () => binary(`the ${IMAGE_FORMAT_NAMES} file's bytes`),
    examples: IMAGE_FORMATS.flatMap((f) => [
      { name: f.format, summary: `a ${f.name} picture of a 7`, contentType: f.mediaType, file: f.exampleFile },
      { name: f.format, summary: `a ${f.name} picture of a 7, sent as bytes`, contentType: 'application/octet-stream', file: f.exampleFile },
    ]),
  },
  {
    id: 'multipart',
    reader: 'multipart',
    contentTypes: ['multipart/form-data'],
    field: 'image',
    body: `the ${IMAGE_FORMAT_NAMES} file in the field "image"`,
    schema: () => ({
      type: 'object',
      required: ['image'],
      properties: { image: binary(`a ${IMAGE_FORMAT_NAMES} file`) },
    }),
    examples: [], // a multipart body is not a JSON value; the test sends each image example as the file
  },
];

/** Every accepted content type, in the registry's order. */
export const ACCEPTED_CONTENT_TYPES: readonly string[] = [...new Set(INPUT_FORMS.flatMap((f) => f.contentTypes))];

export const JSON_FORMS = INPUT_FORMS.filter((f) => f.reader === 'json');

/** The form's content types and body: `multipart/form-data: the PNG or JPEG file in the field "image"`. */
export const describeForm = (f: InputForm) => `${orList(f.contentTypes)}: ${f.body}`;

/** The 415 message, the one list of what is accepted. */
export function unsupportedTypeMessage(contentType: string | undefined): string {
  const what = contentType ? `content type ${JSON.stringify(contentType.slice(0, 100))}` : 'a body without a content type';
  return `unsupported ${what}: send one of ${INPUT_FORMS.map(describeForm).join('; ')}`;
}

/** The JSON bodies, for messages: `{ "pixels": … } or { "instances": … }`. */
export const JSON_BODIES = orList(JSON_FORMS.map((f) => f.body));

/** The readers of the forms that come under a content type (its media type, lower case). */
export function readerFor(mediaType: string): InputReader | undefined {
  return INPUT_FORMS.find((f) => f.contentTypes.includes(mediaType))?.reader;
}

/** The content types one reader takes (the parsers predict.routes.ts registers). */
export const contentTypesOf = (reader: InputReader): string[] =>
  [...new Set(INPUT_FORMS.filter((f) => f.reader === reader).flatMap((f) => f.contentTypes))];

/** The multipart form's file field. */
export const MULTIPART_FIELD = INPUT_FORMS.find((f) => f.reader === 'multipart')!.field!;

/**
 * The OpenAPI request body, one entry per content type: the schemas of the forms under it
 * (JSON forms as one union) and their examples (`x-examples`, which @fastify/swagger makes the
 * media type's `examples`). For `schema.requestBodyContent` (openapi.ts).
 */
export function requestBodyContent(limits: Pick<InputLimits, 'maxInstances'>): Record<string, JsonSchema> {
  const out: Record<string, JsonSchema> = {};
  for (const type of ACCEPTED_CONTENT_TYPES) {
    const forms = INPUT_FORMS.filter((f) => f.contentTypes.includes(type));
    const schemas = forms.map((f) => f.schema(limits));
    let schema: JsonSchema;
    if (schemas.every((s) => s instanceof z.ZodType)) {
      const zs = schemas as z.ZodType[];
      const one = zs.length === 1 ? zs[0]! : z.union(zs as [z.ZodType, z.ZodType, ...z.ZodType[]]);
      schema = z.toJSONSchema(one, { target: 'draft-2020-12', io: 'input' }) as JsonSchema;
    } else if (schemas.length === 1) {
      schema = { ...(schemas[0] as JsonSchema) };
    } else {
      throw new Error(`content type ${type}: only JSON forms may share one`);
    }
    const examples = forms.flatMap((f) => f.examples.filter((e) => e.contentType === type));
    if (examples.length > 0) {
      schema['x-examples'] = Object.fromEntries(examples.map((e) => [
        e.name,
        'value' in e ? { summary: e.summary, value: e.value } : { summary: e.summary, externalValue: exampleUrl(e.file) },
      ]));
    }
    out[type] = schema;
  }
  return out;
}

/** The routes' description of their input, derived from the forms (a Markdown list). */
export const INPUT_DESCRIPTION =
  'Input, one of:\n\n' +
  INPUT_FORMS.map((f) => `- ${orList(f.contentTypes.map((t) => `\`${t}\``))}: ${f.body.startsWith('{') ? `\`${f.body}\`` : f.body}`).join('\n') +
  `\n\nImages are recognised by their signature (${IMAGE_FORMAT_NAMES}), whatever the declared type.`;
