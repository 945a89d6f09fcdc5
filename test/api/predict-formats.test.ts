// The predict input registry (src/api/predict/input-formats.ts) against the real app and the
// OpenAPI document it serves: every documented form and example is accepted (200), the document
// lists exactly the registry's forms, the documented JSON schemas and the validating path agree on
// good and bad bodies, and any other content type is refused with a 415 that lists exactly the
// registry's forms. A form documented but not accepted, or accepted but not documented, fails here.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import request from 'supertest';
import sharp from 'sharp';
import { z } from 'zod';
import { IMAGE_FORMAT_NAMES, IMAGE_FORMATS } from '../../src/api/predict/image-formats.ts';
import {
  ACCEPTED_CONTENT_TYPES, describeForm, exampleUrl, INPUT_FORMS, JSON_FORMS, requestBodyContent,
} from '../../src/api/predict/input-formats.ts';
import { startTestApp, type TestApp } from '../fixtures/test-app.ts';
import { smallModel } from '../fixtures/trained-model.ts';

const MAX_INSTANCES = 4;
let t: TestApp;
let modelId: string;
type Media = { schema: Record<string, unknown>; examples?: Record<string, { summary?: string; value?: unknown; externalValue?: string }> };
type Operation = { tags?: string[]; requestBody?: { content: Record<string, Media> } };
let doc: { paths: Record<string, Record<string, Operation>> };
/** The predict routes: every operation tagged `predict` that takes a body. */
let routes: { path: string; url: string; content: Record<string, Media> }[];

before(async () => {
  t = await startTestApp('predict-formats', { MAX_INSTANCES: String(MAX_INSTANCES) });
  modelId = (await t.saveModel(await smallModel())).id;
  await t.aliases.set('default', modelId);
  const res = await request(t.server).get('/openapi.json');
  assert.equal(res.status, 200);
  doc = res.body;
  routes = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.values(ops)
      .filter((op) => op.tags?.includes('predict') && op.requestBody)
      .map((op) => ({ path, url: path.replace('{id}', modelId), content: op.requestBody!.content })));
});
after(() => t.close());

const post = (url: string) => request(t.server).post(url);

function expect200(res: request.Response, instances: number, what: string) {
  assert.equal(res.status, 200, `${what}: ${res.status} ${res.text.slice(0, 300)}`);
  assert.equal(res.body.modelId, modelId, what);
  assert.equal(res.body.predictions.length, instances, what);
  for (const p of res.body.predictions) assert.ok(Number.isInteger(p.digit) && p.digit >= 0 && p.digit <= 9, what);
}

/** The bytes an externalValue points at, fetched from the app itself (the document's URL must work). */
async function fetchExample(url: string): Promise<Buffer> {
  const res = await request(t.server).get(url).buffer(true).parse((r, cb) => {
    const chunks: Buffer[] = [];
    r.on('data', (c: Buffer) => chunks.push(c));
    r.on('end', () => cb(null, Buffer.concat(chunks)));
  });
  assert.equal(res.status, 200, `GET ${url}: ${res.status}`);
  assert.ok(Buffer.isBuffer(res.body) && res.body.length > 0, url);
  return res.body as Buffer;
}

test('both predict routes document exactly the registry: its content types, schemas and examples', () => {
  assert.deepEqual(routes.map((r) => r.path).sort(), ['/v1/models/{id}/predict', '/v1/predict']);
  const expected = JSON.parse(JSON.stringify(requestBodyContent({ maxInstances: MAX_INSTANCES })));
  for (const { path, content } of routes) {
    assert.deepEqual(Object.keys(content), [...ACCEPTED_CONTENT_TYPES], path);
    for (const type of ACCEPTED_CONTENT_TYPES) {
      const { 'x-examples': examples = {}, $schema: _, ...schema } = expected[type];
      assert.deepEqual(content[type]!.schema, schema, `${path} ${type} schema`);
      assert.deepEqual(content[type]!.examples ?? {}, examples, `${path} ${type} examples`);
      const forms = INPUT_FORMS.filter((f) => f.contentTypes.includes(type));
      const registered = forms.flatMap((f) => f.examples.filter((e) => e.contentType === type));
      assert.equal(Object.keys(content[type]!.examples ?? {}).length, registered.length, `${path} ${type}`);
    }
  }
  // every form has an example or (multipart) is sent with the image examples below
  for (const f of INPUT_FORMS) assert.ok(f.examples.length > 0 || f.reader === 'multipart', `${f.id} has no example`);
  for (const f of IMAGE_FORMATS) assert.ok(routes[0]!.content[f.mediaType], `${f.mediaType} documented`);
});

test('every documented example of every content type is accepted (200) on both routes', async () => {
  let sent = 0;
  for (const { path, url, content } of routes) {
    const files = new Set<string>();
    for (const [type, media] of Object.entries(content)) {
      for (const [name, ex] of Object.entries(media.examples ?? {})) {
        const what = `${path} ${type} example ${name}`;
        if (ex.externalValue) {
          files.add(ex.externalValue);
          const bytes = await fetchExample(ex.externalValue);
          expect200(await post(url).set('content-type', type).send(bytes), 1, what);
        } else {
          assert.ok(ex.value !== undefined, what);
          const instances = (ex.value as { instances?: unknown[] }).instances?.length ?? 1;
          expect200(await post(url).set('content-type', type).send(JSON.stringify(ex.value)), instances, what);
        }
        sent++;
      }
    }
    // multipart: each documented image example as the file field the document requires
    const multipart = Object.entries(content).filter(([type]) => type.startsWith('multipart/'));
    assert.equal(multipart.length, 1, `${path}: one multipart form`);
    const [field] = multipart[0]![1].schema.required as string[];
    assert.ok(field, `${path}: the multipart schema names its file field`);
    assert.ok(files.size >= IMAGE_FORMATS.length, `${path}: an example file per image format`);
    for (const file of files) {
      const bytes = await fetchExample(file);
      expect200(await post(url).attach(field, bytes, { filename: file.split('/').at(-1)! }), 1, `${path} multipart ${file}`);
      sent++;
    }
  }
  assert.ok(sent >= 2 * 8, `${sent} bodies sent`);
});

test('images are read by their signature: every image example under every image content type', async () => {
  const imageTypes = INPUT_FORMS.filter((f) => f.reader === 'image').flatMap((f) => f.contentTypes);
  for (const f of IMAGE_FORMATS) {
    const bytes = await fetchExample(exampleUrl(f.exampleFile));
    for (const type of imageTypes) expect200(await post('/v1/predict').set('content-type', type).send(bytes), 1, `${f.name} as ${type}`);
  }
  // a format outside the registry, under a type the registry accepts: refused by its bytes, naming the formats
  const png = await fetchExample(exampleUrl(IMAGE_FORMATS[0].exampleFile));
  for (const other of [await sharp(png).webp().toBuffer(), await sharp(png).gif().toBuffer(), await sharp(png).tiff().toBuffer()]) {
    const res = await post('/v1/predict').set('content-type', 'application/octet-stream').send(other);
    assert.equal(res.status, 422, res.text);
    assert.ok(res.body.error.message.includes(IMAGE_FORMAT_NAMES), res.body.error.message);
  }
});

test('the documented JSON schemas and the validating path agree on good and bad bodies', async () => {
  const good = JSON_FORMS.flatMap((f) => f.examples.map((e) => ({ form: f, value: (e as { value: unknown }).value })));
  assert.equal(good.length, JSON_FORMS.length);
  const pixels = (good[0]!.value as { pixels: number[] }).pixels;
  const b64 = ((good[1]!.value as { instances: { b64: string }[] }).instances[0]!).b64;
  const bad: unknown[] = [
    {},
    [],
    { pixels },
    { pixels: pixels.slice(1) },
    { pixels: [...pixels.slice(1), 2] },
    { pixels: pixels.map(String) },
    { pixels, instances: [pixels] },
    { pixels, extra: 1 },
    { instances: [] },
    { instances: Array.from({ length: MAX_INSTANCES + 1 }, () => pixels) },
    { instances: [pixels.slice(1)] },
    { instances: [{ b64: '' }] },
    { instances: [{ b64, extra: 1 }] },
    { instances: [{ image: b64 }] },
    { instances: [pixels], extra: 1 },
    { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 784], data: pixels }] },
  ];
  // the documented schema of application/json: the union of the JSON forms' schemas
  const documented = z.union(JSON_FORMS.map((f) => f.schema({ maxInstances: MAX_INSTANCES }) as z.ZodType) as [z.ZodType, z.ZodType]);
  for (const { value } of good) assert.ok(documented.safeParse(value).success);
  for (const [i, value] of bad.entries()) {
    if (i === 2) {
      assert.ok(documented.safeParse(value).success, 'the pixels body itself is good');
      continue;
    }
    assert.equal(documented.safeParse(value).success, false, `documented schema takes ${JSON.stringify(value).slice(0, 80)}`);
    const res = await post('/v1/predict').set('content-type', 'application/json').send(JSON.stringify(value));
    assert.ok([400, 422].includes(res.status), `${res.status} for ${JSON.stringify(value).slice(0, 80)}: ${res.text.slice(0, 200)}`);
  }
});

test('any other content type gets a 415 that lists exactly the registry\'s forms', async () => {
  const probes = new Set([
    'text/plain', 'text/csv', 'text/html', 'application/xml', 'application/x-www-form-urlencoded', 'multipart/mixed',
    'application/x-ndjson', 'application/cbor', 'application/pdf', 'application/vnd.api+json', 'image/gif', 'image/webp',
    'image/avif', 'image/bmp', 'image/tiff', 'image/heic', 'image/svg+xml', 'image/jpg', 'image/x-png', 'image/*',
    // what predict takes today: listed here too, so one dropped from the registry but still parsed is caught
    'application/json', 'application/octet-stream', 'multipart/form-data', 'image/png', 'image/jpeg',
  ]);
  // every content type any route of the document takes (the v2 infer routes'), and every format sharp reads
  for (const ops of Object.values(doc.paths)) for (const op of Object.values(ops)) for (const type of Object.keys(op.requestBody?.content ?? {})) probes.add(type);
  for (const format of Object.keys(sharp.format)) probes.add(`image/${format}`);
  for (const type of ACCEPTED_CONTENT_TYPES) probes.delete(type);
  assert.ok(probes.size > 20);

  const png = await fetchExample(exampleUrl(IMAGE_FORMATS[0].exampleFile));
  const listed = (message: string) => {
    const list = message.slice(message.indexOf('send one of'));
    return [...new Set(list.match(/\b[a-z]+\/[a-z0-9.+*-]+/g) ?? [])];
  };
  const check = (res: request.Response, what: string) => {
    assert.equal(res.status, 415, `${what}: ${res.status} ${res.text.slice(0, 200)}`);
    assert.equal(res.body.error.code, 'unsupported_media_type', what);
    assert.deepEqual(res.body.error.details, { accepted: [...ACCEPTED_CONTENT_TYPES] }, what);
    assert.deepEqual(listed(res.body.error.message).sort(), [...ACCEPTED_CONTENT_TYPES].sort(), `${what}: ${res.body.error.message}`);
    for (const f of INPUT_FORMS) assert.ok(res.body.error.message.includes(describeForm(f)), `${what}: ${f.id} not listed`);
  };
  for (const { url, content } of routes) {
    assert.deepEqual(Object.keys(content).sort(), [...ACCEPTED_CONTENT_TYPES].sort());
    for (const type of probes) check(await post(url).set('content-type', type).send(png), type);
  }
  // a body without a content type (light-my-request sets none for a Buffer)
  const bare = await t.app.inject({ method: 'POST', url: '/v1/predict', payload: png });
  check({ status: bare.statusCode, body: bare.json(), text: bare.body } as unknown as request.Response, 'no content type');
});

test('the web page offers exactly the registry\'s image types', () => {
  const html = readFileSync(new URL('../../src/web/pages/index.html', import.meta.url), 'utf8');
  const accept = /<input id="file"[^>]*accept="([^"]+)"/.exec(html)?.[1];
  assert.deepEqual(accept?.split(','), IMAGE_FORMATS.map((f) => f.mediaType));
});
