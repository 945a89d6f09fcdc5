// Requests for the fuzz test, built from the OpenAPI document: every operation, with path ids
// that exist and ones that cannot, queries and bodies from the schemas (valid, boundary,
// mutated), odd headers and content types, random bytes as images, random multipart bodies, and
// a few raw requests whose Content-Length does not match their body.
import fc from 'fast-check';
import { anyJson, headerText, jsonBody, oddString, valid, type OpenApiDoc, type Operation } from './schema-arbitraries.ts';

export type FuzzRequest = {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** Sent on a raw socket with this Content-Length instead of the body's own. */
  rawContentLength?: number;
  label: string;
};

export type Fixtures = { modelIds: string[]; jobIds: string[]; aliases: string[]; png: Buffer; jpeg: Buffer };

const METHODS = ['get', 'post', 'put', 'delete', 'patch'] as const;

/** encodeURIComponent that takes lone surrogates too (as U+FFFD). */
const encode = (s: string) => encodeURIComponent(s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd'));

const pathSegment = (ids: string[]) =>
  fc.oneof(
    { arbitrary: fc.constantFrom(...ids), weight: 4 },
    { arbitrary: fc.constantFrom('nope', 'm0000000000000000000', '..%2F..%2Fetc', '%ZZ', '%00', 'a'.repeat(300), '%F0%9F%92%A5', 'default%20x', '-'), weight: 2 },
    { arbitrary: oddString.map((s) => encode(s).slice(0, 400) || 'x'), weight: 1 },
  );

const contentTypes = fc.constantFrom(
  'application/json', 'application/json; charset=utf-8', 'application/json; charset=utf-16', 'text/plain', 'application/xml',
  'image/png', 'image/jpeg', 'image/gif', 'application/octet-stream', 'multipart/form-data', 'multipart/form-data; boundary=x',
  'multipart/form-data; boundary=', 'application/x-www-form-urlencoded', '', ';;', 'application/json;;;', '*/*', 'application/merge-patch+json',
);

const authHeader = fc.oneof(
  { arbitrary: fc.constant<string | undefined>(undefined), weight: 6 },
  { arbitrary: fc.constantFrom('Bearer ', 'Bearer', 'Basic dXNlcjpwYXNz', 'bearer x', 'Bearer ' + 'k'.repeat(4000), 'Token abc'), weight: 2 },
  { arbitrary: headerText(60).map((s) => `Bearer ${s}`), weight: 1 },
);

const extraHeaders = fc.record(
  {
    authorization: authHeader,
    accept: fc.constantFrom('application/json', 'text/event-stream', '*/*', 'image/png', '', 'text/html;q=0.1, x/y'),
    'x-request-id': fc.oneof(headerText(200), fc.constant('ok-id_1')),
    'accept-encoding': fc.constantFrom('gzip', 'br', 'identity', '*', 'gzip;q=0, deflate'),
    'last-event-id': fc.oneof(fc.constantFrom('0.1', 'end', '999999.999999999', '-1', ''), headerText(20)),
  },
  { requiredKeys: [] },
).map((h) => Object.fromEntries(Object.entries(h).filter(([, v]) => v !== undefined)) as Record<string, string>);

/** Random bytes, and real images cut short or with bytes flipped. */
function imageBytes(f: Fixtures): fc.Arbitrary<Buffer> {
  const mutate = (img: Buffer) =>
    fc.tuple(fc.nat(img.length), fc.array(fc.tuple(fc.nat(img.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 8 })).map(([cut, flips]) => {
      const b = Buffer.from(img.subarray(0, Math.max(1, cut)));
      for (const [i, v] of flips) if (i < b.length) b[i] = v;
      return b;
    });
  return fc.oneof(
    fc.uint8Array({ maxLength: 2048 }).map((a) => Buffer.from(a)),
    fc.uint8Array({ maxLength: 512 }).map((a) => Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from(a)])),
    fc.uint8Array({ maxLength: 512 }).map((a) => Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), Buffer.from(a)])),
    mutate(f.png),
    mutate(f.jpeg),
    fc.constantFrom(f.png, f.jpeg),
  );
}

/** multipart/form-data bodies: well formed with random parts, or random bytes under a boundary. */
function multipart(f: Fixtures): fc.Arbitrary<{ type: string; body: Buffer }> {
  const boundary = fc.oneof(fc.constantFrom('x', 'XyZ123', '----b', 'a'.repeat(70)), fc.string({ unit: fc.constantFrom(...'abcXYZ019-_'), minLength: 1, maxLength: 20 }));
  const part = fc.record({
    name: fc.oneof(fc.constant('image'), fc.constantFrom('file', 'note', '', 'image"; x="y'), headerText(10)),
    filename: fc.option(fc.constantFrom('a.png', '', '../x', 'é.jpg'), { nil: undefined }),
    type: fc.option(fc.constantFrom('image/png', 'image/jpeg', 'text/plain', ''), { nil: undefined }),
    data: fc.oneof(imageBytes(f), fc.string({ maxLength: 200 }).map((s) => Buffer.from(s))),
  });
  const wellFormed = fc.tuple(boundary, fc.array(part, { maxLength: 3 }), fc.boolean(), fc.nat(40)).map(([b, parts, truncate, cutFrom]) => {
    const chunks: Buffer[] = [];
    for (const p of parts) {
      const disp = `form-data; name="${p.name}"${p.filename !== undefined ? `; filename="${p.filename}"` : ''}`;
      chunks.push(Buffer.from(`--${b}\r\nContent-Disposition: ${disp}\r\n${p.type !== undefined ? `Content-Type: ${p.type}\r\n` : ''}\r\n`), p.data, Buffer.from('\r\n'));
    }
    chunks.push(Buffer.from(`--${b}--\r\n`));
    let body = Buffer.concat(chunks);
    if (truncate) body = body.subarray(0, Math.max(0, body.length - 1 - cutFrom));
    return { type: `multipart/form-data; boundary=${b}`, body };
  });
  const garbage = fc.tuple(boundary, fc.uint8Array({ maxLength: 600 })).map(([b, bytes]) => ({ type: `multipart/form-data; boundary=${b}`, body: Buffer.from(bytes) }));
  const noBoundary = fc.uint8Array({ maxLength: 200 }).map((bytes) => ({ type: 'multipart/form-data', body: Buffer.from(bytes) }));
  return fc.oneof({ arbitrary: wellFormed, weight: 3 }, { arbitrary: garbage, weight: 2 }, { arbitrary: noBoundary, weight: 1 });
}

type Route = { method: string; template: string; op: Operation };

export function routesOf(doc: OpenApiDoc): Route[] {
  const out: Route[] = [];
  for (const [template, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) if (item[method]) out.push({ method: method.toUpperCase(), template, op: item[method]! });
  }
  return out;
}

function queryString(doc: OpenApiDoc, op: Operation): fc.Arbitrary<string> {
  const params = (op.parameters ?? []).filter((p) => p.in === 'query');
  const pair = (name: string, schema: unknown) =>
    fc.oneof(
      { arbitrary: valid(doc, schema as never).map((v) => [name, typeof v === 'string' ? v : JSON.stringify(v)] as const), weight: 3 },
      { arbitrary: oddString.map((v) => [name, v] as const), weight: 2 },
      { arbitrary: fc.tuple(oddString, oddString).map(([k, v]) => [k, v] as const), weight: 1 },
    );
  const all = params.length ? fc.oneof(...params.map((p) => pair(p.name, p.schema))) : fc.tuple(oddString, oddString).map(([k, v]) => [k, v] as const);
  return fc.array(all, { maxLength: 4 }).map((pairs) => {
    if (pairs.length === 0) return '';
    const q = new URLSearchParams();
    for (const [k, v] of pairs) q.append(k, v);
    return `?${q.toString()}`;
  });
}

function routeRequest(doc: OpenApiDoc, r: Route, f: Fixtures): fc.Arbitrary<FuzzRequest> {
  const ids = r.template.includes('/jobs/') ? f.jobIds : r.template.includes('/aliases/') ? f.aliases : [...f.modelIds, ...f.aliases];
  // DELETE never gets the models the rest of the run predicts with
  const pathIds = r.method === 'DELETE' && r.template.startsWith('/v1/models/') ? ['nope', 'm0000000000000000000'] : ids;
  const names = [...r.template.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
  const path = fc.tuple(...names.map(() => pathSegment(pathIds))).map((segs) => {
    let p = r.template;
    names.forEach((n, i) => (p = p.replace(`{${n}}`, segs[i]!)));
    return p;
  });
  const content = r.op.requestBody?.content ?? {};
  const jsonSchema = content['application/json']?.schema;
  const body: fc.Arbitrary<{ type?: string; body?: Buffer }> = fc.oneof(
    { arbitrary: jsonBody(doc, jsonSchema as never).map((v) => ({ type: 'application/json', body: Buffer.from(JSON.stringify(v) ?? 'null') })), weight: jsonSchema ? 6 : 1 },
    { arbitrary: fc.tuple(contentTypes, anyJson).map(([type, v]) => ({ type, body: Buffer.from(JSON.stringify(v) ?? '') })), weight: 1 },
    { arbitrary: fc.tuple(contentTypes, fc.uint8Array({ maxLength: 300 })).map(([type, b]) => ({ type, body: Buffer.from(b) })), weight: 1 },
    { arbitrary: fc.constantFrom('{"pixels": [0.1, ', '{', '[', '{"a":1}{"b":2}', 'null', '"x"', '\u0000').map((s) => ({ type: 'application/json', body: Buffer.from(s) })), weight: 1 },
    { arbitrary: fc.constant({}), weight: 1 },
    ...(content['image/png'] ? [{ arbitrary: fc.tuple(fc.constantFrom('image/png', 'image/jpeg', 'application/octet-stream'), imageBytes(f)).map(([type, b]) => ({ type, body: b })), weight: 5 }] : []),
    ...(content['multipart/form-data'] ? [{ arbitrary: multipart(f), weight: 4 }] : []),
  );
  return fc.record({ path, query: queryString(doc, r.op), body, headers: extraHeaders, method: fc.oneof({ arbitrary: fc.constant(r.method), weight: 12 }, { arbitrary: fc.constantFrom(...METHODS.map((m) => m.toUpperCase()), 'HEAD', 'OPTIONS'), weight: 1 }) }).map(
    ({ path: p, query, body: b, headers, method }) => {
      const h: Record<string, string> = { ...headers };
      if (b.type !== undefined) h['content-type'] = b.type;
      return { method, path: p + query, headers: h, ...(b.body !== undefined && method !== 'GET' && method !== 'HEAD' ? { body: b.body } : {}), label: `${r.method} ${r.template}` };
    },
  );
}

/** A raw request whose Content-Length is shorter (extra bytes: a second, garbage request) or longer (the body never completes). */
function mismatched(routes: Route[]): fc.Arbitrary<FuzzRequest> {
  const posts = routes.filter((r) => r.method !== 'GET' && !r.template.includes('{'));
  return fc.tuple(fc.constantFrom(...posts), fc.uint8Array({ minLength: 1, maxLength: 200 }), fc.boolean(), fc.integer({ min: 1, max: 100 })).map(([r, bytes, shorter, delta]) => ({
    method: r.method,
    path: r.template,
    headers: { 'content-type': 'application/json' },
    body: Buffer.from(bytes),
    rawContentLength: shorter ? Math.max(0, bytes.length - delta) : bytes.length + delta,
    label: `raw content-length ${shorter ? 'short' : 'long'} ${r.method} ${r.template}`,
  }));
}

/** Every route of the document, weighted evenly, plus raw mismatches (rare: a long one waits for the request timeout). */
export function fuzzRequest(doc: OpenApiDoc, f: Fixtures): fc.Arbitrary<FuzzRequest> {
  const routes = routesOf(doc);
  const unknownPath = fc.tuple(fc.constantFrom('GET', 'POST', 'DELETE'), oddString).map(([method, s]) => ({
    method, path: `/v1/${encode(s).slice(0, 200)}`, headers: {}, label: 'unknown path',
  }));
  return fc.oneof(
    ...routes.map((r) => ({ arbitrary: routeRequest(doc, r, f), weight: r.op.requestBody ? 40 : 20 })),
    { arbitrary: unknownPath, weight: 10 },
    { arbitrary: mismatched(routes), weight: 3 },
  );
}
