// Every bad predict input gets a 4xx in the one error shape, and leaves nothing changed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import request from 'supertest';
import sharp from 'sharp';
import { digitPng, testDigits, toUnitPixels } from '../fixtures/mnist-digits.ts';
import { startTestApp, type TestApp } from '../fixtures/test-app.ts';
import { smallModel } from '../fixtures/trained-model.ts';
import { storeKeys } from '../../src/store/store-keys.ts';

let t: TestApp;
let modelId: string;
let before_: { models: unknown; aliases: unknown };
const BODY_LIMIT = 300_000;
const digit = testDigits(1)[0]!;
const good = toUnitPixels(digit);

before(async () => {
  t = await startTestApp('predict-invalid', {
    BODY_LIMIT_BYTES: String(BODY_LIMIT), MAX_IMAGE_PIXELS: '1000000', MAX_INSTANCES: '8', MAX_REQUEST_PIXELS: '2000000',
  });
  modelId = (await t.saveModel(await smallModel())).id;
  await t.aliases.set('default', modelId);
  before_ = await snapshot();
});
after(() => t.close());

async function snapshot() {
  const models = (await request(t.server).get('/v1/models')).body;
  const aliases = (await request(t.server).get('/v1/aliases')).body;
  return { models, aliases };
}

function expectError(res: request.Response, status: number, code?: string | RegExp) {
  assert.equal(res.status, status, `${res.status} ${res.text.slice(0, 300)}`);
  assert.match(String(res.headers['content-type']), /application\/json/);
  assert.equal(typeof res.body.error?.code, 'string', res.text);
  assert.equal(typeof res.body.error?.message, 'string');
  assert.ok(res.body.error.message.length > 0);
  assert.doesNotMatch(res.text, /at .*\.(ts|js):\d+/, 'no stack trace');
  if (code) assert.match(res.body.error.code, code instanceof RegExp ? code : new RegExp(`^${code}$`));
}

/** A valid PNG header that claims w×h pixels, with a tiny (invalid) body: must be refused from the header. */
function pngClaiming(w: number, h: number): Buffer {
  const sig = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // greyscale
  return Buffer.concat([sig, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.alloc(w + 1))), chunk('IEND', Buffer.alloc(0))]);
}

function crc32(buf: Buffer): number {
  let c = ~0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return ~c >>> 0;
}

const post = (path = '/v1/predict') => request(t.server).post(path);

test('JSON bodies of the wrong shape → 422 with the field named', async () => {
  const cases: [unknown, RegExp?][] = [
    [{}, /pixels.*instances/],
    [{ pixels: 'abc' }, /pixels/],
    [{ pixels: good.slice(1) }, /784/],
    [{ pixels: [...good.slice(1), 1.5] }, /\[0, 1\]/],
    [{ pixels: [...good.slice(1), -0.1] }, /\[0, 1\]/],
    [{ pixels: [...good.slice(1), '0.5'] }],
    [{ pixels: [...good.slice(1), null] }],
    [{ pixels: good, extra: 1 }],
    [{ instances: [] }, /empty/],
    [{ instances: Array(9).fill(good) }, /at most 8/],
    [{ instances: [[0.5, 0.5]] }, /instances\.0/],
    [{ instances: [{ b64: 5 }] }],
    [{ instances: [{ url: 'http://x' }] }],
    [{ instances: 'nope' }],
    [[1, 2, 3]],
    ['just a string'],
    [42],
  ];
  for (const [body, msg] of cases) {
    const res = await post().set('content-type', 'application/json').send(JSON.stringify(body));
    expectError(res, 422, 'validation_failed');
    if (msg) assert.match(res.body.error.message, msg, JSON.stringify(body).slice(0, 80));
  }
});

test('numbers JSON cannot hold (huge → Infinity) are out of range; NaN is malformed JSON', async () => {
  const huge = `{"pixels":[${[...good.slice(1).map(String), '1e400'].join(',')}]}`;
  expectError(await post().set('content-type', 'application/json').send(huge), 422, 'validation_failed');
  const nan = `{"pixels":[${[...good.slice(1).map(String), 'NaN'].join(',')}]}`;
  expectError(await post().set('content-type', 'application/json').send(nan), 400, 'malformed_json');
  expectError(await post().set('content-type', 'application/json').send('{"pixels": [0.1, '), 400, 'malformed_json');
});

test('empty bodies', async () => {
  expectError(await post().set('content-type', 'application/json').send(''), 400);
  expectError(await post().set('content-type', 'image/png').send(Buffer.alloc(0)), 422);
  expectError(await post().set('content-type', 'multipart/form-data; boundary=x').send(''), 422);
});

test('malformed multipart bodies → 400 malformed_multipart, never 500', async () => {
  const head = '--x\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n';
  const cases: [string, string | Buffer][] = [
    ['multipart/form-data; boundary=x', 'a body that holds no such boundary'],
    ['multipart/form-data; boundary=x', head + 'truncated, no closing boundary'],
    ['multipart/form-data; boundary=x', Buffer.concat([Buffer.from(head), await digitPng(digit)])],
    ['multipart/form-data', '--x\r\n\r\n--x--'], // no boundary parameter
    ['multipart/form-data; boundary=', 'abc'],
    ['multipart/form-data; boundary="unterminated', 'abc'],
    ['multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="image"; filename="a.png"'],
  ];
  for (const [type, body] of cases) {
    const res = await post().set('content-type', type).send(body);
    expectError(res, 400, 'malformed_multipart');
  }
});

test('multipart takes one file part: a second one → 413, a file under another name → 422', async () => {
  const png = await digitPng(digit);
  const two = await post()
    .attach('image', png, { filename: 'a.png', contentType: 'image/png' })
    .attach('image', png, { filename: 'b.png', contentType: 'image/png' });
  expectError(two, 413, 'payload_too_large');
  const other = await post().attach('photo', png, { filename: 'a.png', contentType: 'image/png' });
  expectError(other, 422);
  assert.match(other.body.error.message, /"photo"/);
  // small fields beside the image are fine
  const ok = await post().field('note', 'hello').attach('image', png, { filename: 'a.png', contentType: 'image/png' });
  assert.equal(ok.status, 200, ok.text);
});

test('content types nobody accepts → 415', async () => {
  expectError(await post().set('content-type', 'text/plain').send('7'), 415, 'unsupported_media_type');
  expectError(await post().set('content-type', 'application/xml').send('<x/>'), 415, 'unsupported_media_type');
  expectError(await post().set('content-type', 'image/gif').send(Buffer.from('GIF89a')), 415, 'unsupported_media_type');
  // an image body on a route that takes none
  expectError(await request(t.server).put('/v1/aliases/x').set('content-type', 'image/png').send(await digitPng(digit)), 415);
});

test('bytes that are not a usable PNG/JPEG → 422', async () => {
  const png = await digitPng(digit);
  const cases: [Buffer, string, RegExp][] = [
    [Buffer.from('definitely not an image'), 'image/png', /not a PNG or JPEG/],
    [png.subarray(0, Math.floor(png.length / 2)), 'image/png', /decode|PNG/],
    [png.subarray(0, 20), 'image/png', /not a PNG|decode/],
    [await sharp(png).webp().toBuffer(), 'image/png', /format/],
    [await sharp(png).gif().toBuffer(), 'image/jpeg', /format/],
    [Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(100, 7)]), 'image/jpeg', /not a PNG|decode/],
    [await sharp({ create: { width: 60, height: 60, channels: 3, background: '#ffffff' } }).png().toBuffer(), 'image/png', /blank/],
  ];
  for (const [bytes, type, msg] of cases) {
    const res = await post().set('content-type', type).send(bytes);
    expectError(res, 422);
    assert.match(res.body.error.message, msg);
  }
  // the same in JSON b64 and multipart
  const res = await post().send({ instances: [good, { b64: png.subarray(0, 100).toString('base64') }] });
  expectError(res, 422);
  assert.match(res.body.error.message, /^instances\.1: /);
  expectError(await post().send({ instances: [{ b64: '%%% not base64 %%%' }] }), 422);
  expectError(await post().attach('image', Buffer.from('nope'), { filename: 'x.png', contentType: 'image/png' }), 422);
});

test('images over MAX_IMAGE_PIXELS → 422 from the header, before decoding', async () => {
  const res = await post().set('content-type', 'image/png').send(pngClaiming(10_000, 10_000));
  expectError(res, 422);
  assert.match(res.body.error.message, /10000×10000/);
  assert.deepEqual(res.body.error.details, { width: 10000, height: 10000, maxPixels: 1_000_000 });
  const real = await sharp({ create: { width: 1200, height: 1000, channels: 3, background: '#000' } }).png().toBuffer();
  expectError(await post().set('content-type', 'image/png').send(real), 422);
  expectError(await post().send({ instances: [{ b64: pngClaiming(10_000, 10_000).toString('base64') }] }), 422);
});

test('a request whose images hold more than MAX_REQUEST_PIXELS in all → 422 over_budget, counted from the headers', async () => {
  // blank pictures compress to almost nothing: 800,000 pixels each in a few hundred bytes
  const png = await sharp({ create: { width: 1000, height: 800, channels: 3, background: '#fff' } }).png().toBuffer();
  const jpeg = await sharp({ create: { width: 1000, height: 800, channels: 3, background: '#fff' } }).jpeg().toBuffer();
  const b64 = (b: Buffer) => ({ b64: b.toString('base64') });
  const res = await post().send({ instances: [b64(png), b64(jpeg), b64(png)] });
  expectError(res, 422, 'over_budget');
  assert.match(res.body.error.message, /^instances\.2: the request's images hold 2,400,000 pixels so far, above MAX_REQUEST_PIXELS = 2,000,000/);
  assert.deepEqual(res.body.error.details[0], {
    budget: 'MAX_REQUEST_PIXELS', figure: 'requestPixels', value: 2_400_000, limit: 2_000_000, message: res.body.error.details[0].message,
  });
  // two of them are within it (both blank: no digit found, a 422 of another kind, after decoding)
  const two = await post().send({ instances: [b64(png), b64(jpeg)] });
  expectError(two, 422, 'unprocessable');
  assert.match(two.body.error.message, /no digit found/);
  assert.deepEqual(await snapshot(), before_, 'nothing changed');
});

test('bodies over BODY_LIMIT_BYTES → 413', async () => {
  expectError(await post().set('content-type', 'image/png').send(Buffer.alloc(BODY_LIMIT + 1000, 1)), 413, 'payload_too_large');
  const bigJson = JSON.stringify({ instances: Array(8).fill(good.map(() => 0.123456789012345)) }) + ' '.repeat(BODY_LIMIT);
  expectError(await post().set('content-type', 'application/json').send(bigJson), 413, 'payload_too_large');
  const res = await post().attach('image', Buffer.alloc(BODY_LIMIT + 1000, 1), { filename: 'big.png', contentType: 'image/png' });
  expectError(res, 413, 'payload_too_large');
});

test('multipart without a file field "image" → 422', async () => {
  const png = await digitPng(digit);
  expectError(await post().attach('file', png, { filename: 'd.png', contentType: 'image/png' }), 422);
  expectError(await post().field('image', 'not a file'), 422);
});

test('unknown model, unknown alias, bad query → 404/400; no default model → 404 that says what to do', async () => {
  expectError(await post('/v1/models/nope/predict').send({ pixels: good }), 404, 'not_found');
  expectError(await post('/v1/models/m0000000000000000000/predict').send({ pixels: good }), 404, 'not_found');
  expectError(await post('/v1/models/..%2F..%2Fetc/predict').send({ pixels: good }), 404, 'not_found');
  expectError(await post('/v1/predict?debug=maybe').send({ pixels: good }), 400, 'validation_failed');
  expectError(await request(t.server).get('/v1/models/nope'), 404, 'not_found');
  // behind the repository's back (aliases are only ever set to registered models): as if left by an older version
  await t.redis.hset(storeKeys(t.config.QUEUE_PREFIX).aliases, 'stale', 'm000000000000000gone');
  const stale = await post('/v1/models/stale/predict').send({ pixels: good });
  expectError(stale, 404);
  assert.match(stale.body.error.message, /no longer exists/);
  await t.aliases.delete('stale');

  await request(t.server).delete('/v1/aliases/default').expect(200);
  const res = await post().send({ pixels: good });
  expectError(res, 404, 'not_found');
  assert.match(res.body.error.message, /no default model/);
  assert.match(res.body.error.message, /PUT \/v1\/aliases\/default/);
  await request(t.server).put('/v1/aliases/default').send({ modelId }).expect(200);
});

test('unknown routes and methods → 404 in the same shape', async () => {
  expectError(await request(t.server).get('/v1/nothing-here'), 404, 'not_found');
  expectError(await request(t.server).get('/v1/predict'), 404, 'not_found');
});

test('after all that: nothing changed, and the service still predicts', async () => {
  assert.deepEqual(await snapshot(), before_);
  const res = await post().send({ pixels: good });
  assert.equal(res.status, 200);
  assert.equal(res.body.predictions[0].digit, digit.label);
});
