// The Open Inference Protocol (KServe v2 / Triton HTTP) on a real trained model and real MNIST
// test digits. Requests follow the protocol's published examples (kserve/open-inference-protocol
// inference_rest.md; Triton's binary tensor data extension): health, server and model metadata,
// model ready, infer (flat, nested and binary data; output selection; id echoed) matching
// /v1/predict, and every error in the protocol's `{ "error": "<message>" }` shape.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { bearer, KEYS, keysEnv } from '../fixtures/api-keys.ts';
import { testDigits, toUnitPixels } from '../fixtures/mnist-digits.ts';
import { startTestApp, type TestApp } from '../fixtures/test-app.ts';
import { smallModel } from '../fixtures/trained-model.ts';

const N = 24;
const digits = testDigits(N, 300);
const pixels = digits.map(toUnitPixels);

type Tensor = { name: string; shape: number[]; datatype: string; data?: number[]; parameters?: Record<string, unknown> };

function assertV2Error(res: request.Response, status: number, pattern: RegExp) {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.match(String(res.headers['content-type']), /application\/json/);
  assert.deepEqual(Object.keys(res.body), ['error'], JSON.stringify(res.body));
  assert.equal(typeof res.body.error, 'string');
  assert.match(res.body.error, pattern);
}

const input = (data: unknown, shape: number[] = [N, 784], extra: Record<string, unknown> = {}) =>
  ({ name: 'input', shape, datatype: 'FP32', data, ...extra });

/** A binary-extension body: the JSON header, then the tensors' bytes (Inference-Header-Content-Length). */
function binaryBody(header: object, bytes: Buffer): { body: Buffer; headerLength: number } {
  const json = Buffer.from(JSON.stringify(header));
  return { body: Buffer.concat([json, bytes]), headerLength: json.length };
}

function float32Bytes(values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => b.writeFloatLE(v, i * 4));
  return b;
}

describe('Open Inference Protocol', () => {
  let t: TestApp;
  let modelId: string;
  let v1: { digit: number; probabilities: number[] }[];

  before(async () => {
    t = await startTestApp('v2', { MAX_INSTANCES: '32', BODY_LIMIT_BYTES: String(400 * 1024) });
    modelId = (await t.saveModel(await smallModel(), { name: 'small' })).id;
    await t.aliases.set('default', modelId);
    await t.aliases.set('mnist', modelId);
    const res = await request(t.server).post(`/v1/models/${modelId}/predict`).send({ instances: pixels }).expect(200);
    v1 = res.body.predictions;
    // the model is good enough for the comparison to mean something (far above chance: 2 of 24). The exact
    // count depends on the machine: -march=native kernels round differently, so each CPU trains a slightly
    // different model (18 of 24 on one VM, 17 on another)
    const right = v1.filter((p, i) => p.digit === digits[i]!.label).length;
    assert.ok(right >= N - 8, `${right} of ${N} right`);
  });
  after(() => t?.close());

  test('health: live and ready', async () => {
    assert.deepEqual((await request(t.server).get('/v2/health/live').expect(200)).body, { live: true });
    assert.deepEqual((await request(t.server).get('/v2/health/ready').expect(200)).body, { ready: true });
  });

  test('server metadata: name, version, extensions', async () => {
    const res = await request(t.server).get('/v2').expect(200);
    assert.equal(res.body.name, 'nndl');
    assert.match(res.body.version, /^\d+\.\d+\.\d+/);
    assert.deepEqual(res.body.extensions, ['binary_tensor_data']);
  });

  test('model metadata by id and by alias: FP32 [-1, 784] in, probabilities and digit out', async () => {
    for (const name of [modelId, 'mnist', 'default']) {
      const res = await request(t.server).get(`/v2/models/${name}`).expect(200);
      assert.deepEqual(res.body, {
        name,
        versions: [modelId],
        platform: 'nndl',
        inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 784] }],
        outputs: [
          { name: 'probabilities', datatype: 'FP32', shape: [-1, 10] },
          { name: 'digit', datatype: 'INT64', shape: [-1] },
        ],
      });
    }
    assert.equal((await request(t.server).get(`/v2/models/mnist/versions/${modelId}`).expect(200)).body.versions[0], modelId);
    assertV2Error(await request(t.server).get('/v2/models/mnist/versions/m0other'), 404, /has no version m0other/);
    assertV2Error(await request(t.server).get('/v2/models/no-such-model'), 404, /no model or alias named no-such-model/);
  });

  test('model ready: loads it; 404 for an unknown model', async () => {
    assert.deepEqual((await request(t.server).get('/v2/models/mnist/ready').expect(200)).body, { name: 'mnist', ready: true });
    assert.deepEqual((await request(t.server).get(`/v2/models/mnist/versions/${modelId}/ready`).expect(200)).body, { name: 'mnist', ready: true });
    assertV2Error(await request(t.server).get('/v2/models/nothing/ready'), 404, /no model or alias named nothing/);
  });

  test('infer on real MNIST digits equals /v1/predict, by alias, with the id echoed', async () => {
    const res = await request(t.server).post('/v2/models/mnist/infer')
      .send({ id: '42', inputs: [input(pixels.flat())] })
      .expect(200);
    assert.equal(res.body.model_name, 'mnist');
    assert.equal(res.body.model_version, modelId);
    assert.equal(res.body.id, '42');
    const [probs, digit] = res.body.outputs as Tensor[];
    assert.deepEqual({ ...probs, data: undefined }, { name: 'probabilities', shape: [N, 10], datatype: 'FP32', data: undefined });
    assert.deepEqual({ ...digit, data: undefined }, { name: 'digit', shape: [N], datatype: 'INT64', data: undefined });
    assert.deepEqual(digit!.data, v1.map((p) => p.digit));
    // one batch here, one there: equal up to float rounding
    v1.forEach((p, i) => p.probabilities.forEach((v, j) => {
      const w = probs!.data![i * 10 + j]!;
      assert.ok(Math.abs(v - w) < 1e-5, `image ${i} digit ${j}: ${v} vs ${w}`);
    }));
  });

  test('nested data ([n, 28, 28] rows), output selection, and a request without id', async () => {
    const nested = pixels.slice(0, 3).map((p) => Array.from({ length: 28 }, (_, r) => p.slice(r * 28, r * 28 + 28)));
    const res = await request(t.server).post(`/v2/models/${modelId}/infer`)
      .send({ inputs: [input(nested, [3, 28, 28])], outputs: [{ name: 'digit' }] })
      .expect(200);
    assert.deepEqual(res.body.outputs, [{ name: 'digit', shape: [3], datatype: 'INT64', data: v1.slice(0, 3).map((p) => p.digit) }]);
    assert.equal(res.body.id, res.headers['x-request-id'], 'without an id, the HTTP request id');
    // [n, 784] nested as one row per image
    const rows = await request(t.server).post(`/v2/models/${modelId}/versions/${modelId}/infer`)
      .send({ inputs: [input(pixels.slice(0, 2), [2, 784])], outputs: [{ name: 'digit' }] })
      .expect(200);
    assert.deepEqual(rows.body.outputs[0].data, v1.slice(0, 2).map((p) => p.digit));
  });

  test('binary tensor data extension: binary input, binary and JSON outputs', async () => {
    const header = {
      inputs: [{ name: 'input', shape: [4, 784], datatype: 'FP32', parameters: { binary_data_size: 4 * 784 * 4 } }],
      outputs: [{ name: 'probabilities', parameters: { binary_data: true } }, { name: 'digit' }],
    };
    const { body, headerLength } = binaryBody(header, float32Bytes(pixels.slice(0, 4).flat()));
    const res = await request(t.server).post('/v2/models/default/infer')
      .set('content-type', 'application/octet-stream')
      .set('inference-header-content-length', String(headerLength))
      .buffer(true).parse((r, cb) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => cb(null, Buffer.concat(chunks)));
      })
      .send(body);
    assert.equal(res.status, 200, String(res.body));
    const raw = res.body as Buffer;
    const jsonLength = Number(res.headers['inference-header-content-length']);
    const answer = JSON.parse(raw.subarray(0, jsonLength).toString());
    assert.deepEqual(answer.outputs[0], { name: 'probabilities', shape: [4, 10], datatype: 'FP32', parameters: { binary_data_size: 160 } });
    assert.deepEqual(answer.outputs[1].data, v1.slice(0, 4).map((p) => p.digit));
    const bytes = raw.subarray(jsonLength);
    assert.equal(bytes.length, 160);
    for (let i = 0; i < 40; i++) assert.ok(Math.abs(bytes.readFloatLE(i * 4) - v1[Math.floor(i / 10)]!.probabilities[i % 10]!) < 1e-5);
    // binary_data_output on the request: every output binary (INT64 little-endian for digit)
    const all = binaryBody({ ...header, outputs: undefined, parameters: { binary_data_output: true } }, float32Bytes(pixels.slice(0, 4).flat()));
    const res2 = await request(t.server).post('/v2/models/default/infer')
      .set('content-type', 'application/octet-stream').set('inference-header-content-length', String(all.headerLength))
      .buffer(true).parse((r, cb) => { const c: Buffer[] = []; r.on('data', (x: Buffer) => c.push(x)); r.on('end', () => cb(null, Buffer.concat(c))); })
      .send(all.body).expect(200);
    const len2 = Number(res2.headers['inference-header-content-length']);
    const tail = (res2.body as Buffer).subarray(len2 + 160);
    assert.deepEqual([0, 1, 2, 3].map((i) => Number(tail.readBigInt64LE(i * 8))), v1.slice(0, 4).map((p) => p.digit));
  });

  test("the protocol's own example request (two inputs, UINT32 and BOOL) is refused in its error shape", async () => {
    const example = {
      id: '42',
      inputs: [
        { name: 'input0', shape: [2, 2], datatype: 'UINT32', data: [1, 2, 3, 4] },
        { name: 'input1', shape: [3], datatype: 'BOOL', data: [true] },
      ],
      outputs: [{ name: 'output0' }],
    };
    assertV2Error(await request(t.server).post('/v2/models/mnist/infer').send(example), 400, /expected 1 input tensor \("input"\), got 2/);
    assertV2Error(await request(t.server).post('/v2/models/mnist/infer').send({ ...example, inputs: example.inputs.slice(0, 1) }), 400, /unexpected inference input 'input0'/);
  });

  test('bad datatype, shape, data and outputs: 400 naming the problem, nothing predicted', async () => {
    const one = pixels[0]!;
    const cases: [unknown, RegExp][] = [
      [{ inputs: [{ ...input(one, [1, 784]), datatype: 'FP64' }] }, /unexpected datatype FP64 for input 'input', expecting FP32/],
      [{ inputs: [{ ...input(one, [1, 784]), datatype: 'UINT8' }] }, /expecting FP32/],
      [{ inputs: [input(one, [784])] }, /unexpected shape \[784\]/],
      [{ inputs: [input(one, [1, 783])] }, /unexpected shape \[1, 783\]/],
      [{ inputs: [input(one, [1, 28, 27])] }, /unexpected shape/],
      [{ inputs: [input([], [0, 784])] }, /the batch is empty/],
      [{ inputs: [input(one, [2, 784])] }, /the shape needs 1568 elements, data has 784/],
      [{ inputs: [input([...one, 0.5], [1, 784])] }, /more elements than the shape's 784/],
      [{ inputs: [input(one.map((v, i) => (i === 5 ? 255 : v)), [1, 784])] }, /element 5 is 255; pixel values must be in \[0, 1\]/],
      [{ inputs: [input(one.map((v, i) => (i === 7 ? 'x' : v)), [1, 784])] }, /data holds a string; expected numbers/],
      [{ inputs: [input(one.map((v, i) => (i === 7 ? null : v)), [1, 784])] }, /data holds a null/],
      [{ inputs: [input([[[one]]], [1, 784])] }, /nested deeper than the shape/],
      [{ inputs: [input('abc', [1, 784])] }, /data must be an array/],
      [{ inputs: [input(one, [1, 784])], outputs: [{ name: 'logits' }] }, /unexpected inference output 'logits'/],
      [{ inputs: [input(one, [1, 784])], outputs: [{ name: 'digit' }, { name: 'digit' }] }, /requested twice/],
      [{ inputs: [{ name: 'input', shape: [1, 784], data: one }] }, /invalid inference request: inputs\.0\.datatype/],
      [{ inputs: [input(one, [1, 784], { parameters: { binary_data_size: 3136 } })] }, /no binary data/],
      [{}, /invalid inference request: inputs/],
      [[1, 2], /invalid inference request/],
    ];
    for (const [body, pattern] of cases) {
      assertV2Error(await request(t.server).post('/v2/models/mnist/infer').send(body as object), 400, pattern);
    }
    assertV2Error(await request(t.server).post('/v2/models/mnist/infer').set('content-type', 'application/json').send('{"inputs": ['), 400, /not valid JSON/);
    assertV2Error(await request(t.server).post('/v2/models/mnist/infer').set('content-type', 'text/plain').send('hello'), 400, /not valid JSON/);
    assertV2Error(await request(t.server).post('/v2/models/mnist/infer').set('content-type', 'application/json'), 400, /./);
    // binary: declared size and bytes must agree
    const { body, headerLength } = binaryBody({ inputs: [{ name: 'input', shape: [1, 784], datatype: 'FP32', parameters: { binary_data_size: 3136 } }] }, Buffer.alloc(100));
    const send = (len: string) => request(t.server).post('/v2/models/mnist/infer').set('content-type', 'application/octet-stream').set('inference-header-content-length', len).send(body);
    assertV2Error(await send(String(headerLength)), 400, /100 bytes of binary data follow the JSON header, 3136 expected/);
    assertV2Error(await send('999999'), 400, /Inference-Header-Content-Length "999999" does not fit/);
    assertV2Error(await send('abc'), 400, /does not fit/);
  });

  test('too large: a batch over MAX_INSTANCES is 400, a body over BODY_LIMIT_BYTES 413', async () => {
    const batch = Array.from({ length: 33 }, (_, i) => pixels[i % N]!).flat();
    assertV2Error(await request(t.server).post('/v2/models/mnist/infer').send({ inputs: [input(batch, [33, 784])] }), 400, /batch of 33 images, at most 32 per request \(MAX_INSTANCES\)/);
    // the shape is checked before the data: a huge declared batch allocates nothing
    assertV2Error(await request(t.server).post('/v2/models/mnist/infer').send({ inputs: [input([0], [1e12, 784])] }), 400, /at most 32 per request/);
    const huge = JSON.stringify({ inputs: [input(Array.from({ length: 32 * 784 }, () => 0.1234567890123456), [32, 784])] });
    assert.ok(huge.length > 400 * 1024);
    assertV2Error(await request(t.server).post('/v2/models/mnist/infer').set('content-type', 'application/json').send(huge), 413, /too large/);
  });

  test('unknown model, wrong version, unknown route', async () => {
    const body = { inputs: [input(pixels[0], [1, 784])] };
    assertV2Error(await request(t.server).post('/v2/models/nothing/infer').send(body), 404, /no model or alias named nothing/);
    assertV2Error(await request(t.server).post('/v2/models/mnist/versions/m0other/infer').send(body), 404, /has no version m0other/);
    assertV2Error(await request(t.server).get('/v2/repository/index'), 404, /no route GET \/v2\/repository\/index/);
  });
});

describe('Open Inference Protocol: keys, rate limit, budget', () => {
  let t: TestApp;
  let modelId: string;
  before(async () => {
    // PREDICT_SCRATCH_BYTES 1: no model can be served; RATE_LIMIT_PREDICT_PER_MIN 3: /v1/predict's budget
    t = await startTestApp('v2keys', keysEnv({ PREDICT_SCRATCH_BYTES: '1', RATE_LIMIT_PREDICT_PER_MIN: '3' }));
    modelId = (await t.saveModel(await smallModel())).id;
  });
  after(() => t?.close());
  const body = () => ({ inputs: [input(pixels[0], [1, 784])] });

  test('health is public; everything else needs a predict key (401/403 in the protocol shape)', async () => {
    await request(t.server).get('/v2/health/live').expect(200);
    await request(t.server).get('/v2/health/ready').expect(200);
    assertV2Error(await request(t.server).get('/v2'), 401, /needs an API key/);
    assertV2Error(await request(t.server).get(`/v2/models/${modelId}`), 401, /needs an API key/);
    assertV2Error(await request(t.server).post(`/v2/models/${modelId}/infer`).send(body()), 401, /needs an API key/);
    assertV2Error(await request(t.server).get(`/v2/models/${modelId}`).set(bearer(KEYS.train)), 403, /lacks the scope/);
    await request(t.server).get(`/v2/models/${modelId}`).set(bearer(KEYS.predict)).expect(200);
  });

  test('a model over PREDICT_SCRATCH_BYTES: not ready (503), infer 422; then the shared predict rate limit (429)', async () => {
    assertV2Error(await request(t.server).get(`/v2/models/${modelId}/ready`).set(bearer(KEYS.predict)), 503, /is not ready: .*PREDICT_SCRATCH_BYTES/);
    assertV2Error(await request(t.server).post(`/v2/models/${modelId}/infer`).set(bearer(KEYS.predict)).send(body()), 422, /PREDICT_SCRATCH_BYTES/);
    // the budget is /v1/predict's: one /v1 call and one more /v2 use it up
    await request(t.server).post(`/v1/models/${modelId}/predict`).set(bearer(KEYS.predict)).send({ pixels: pixels[0] }).expect(422);
    await request(t.server).post(`/v2/models/${modelId}/infer`).set(bearer(KEYS.predict)).send(body()).expect(422);
    const limited = await request(t.server).post(`/v2/models/${modelId}/infer`).set(bearer(KEYS.predict)).send(body());
    assertV2Error(limited, 429, /rate limit reached: 3 predict requests per minute/);
    assert.ok(Number(limited.headers['retry-after']) >= 1);
  });
});
