// GET /v1/models/{id}/filters against the real app and small real conv nets trained by the engine:
// the JSON filters are the model's own weights (read back through planNetwork's layout, the naive
// reference), the PNG grid has the documented size and grey scale (max weight black, min white),
// ensembles by member, and the errors: a dense model (422 no_conv_layer), an unknown or deleted
// model (404), a member it lacks, a bad format, a grid too large (400), all in the one error shape.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import sharp from 'sharp';
import { loadMnist, planNetwork, resolveExperiment, splitData, train, type TrainedModel } from '../../src/engine/index.ts';
import { gridSize } from '../../src/api/filter-grid.ts';
import { startTestApp, type TestApp } from '../fixtures/test-app.ts';
import { smallModel } from '../fixtures/trained-model.ts';

async function trainConv(layers: object[], opts: { ensemble?: number; trainSize?: number } = {}): Promise<TrainedModel> {
  const exp = resolveExperiment({
    network: { layers },
    training: { epochs: 1, eta: 0.1, seed: 5 },
    data: { trainSize: opts.trainSize ?? 500, validationSize: 0 },
    ...(opts.ensemble ? { ensemble: { size: opts.ensemble } } : {}),
  });
  const data = splitData(await loadMnist(), exp.data);
  data.test = { images: data.test.images.subarray(0, 100 * 784), labels: data.test.labels.subarray(0, 100), count: 100 };
  const r = await train(exp, { data, threads: 1 });
  if (r.status !== 'completed') throw new Error(r.status);
  return r.model;
}

const binary = (r: request.Response, cb: (e: Error | null, b: Buffer) => void) => {
  const bufs: Buffer[] = [];
  const stream = r as unknown as NodeJS.ReadableStream;
  stream.on('data', (b: Buffer) => bufs.push(b));
  stream.on('end', () => cb(null, Buffer.concat(bufs)));
};

const assertError = (body: unknown, code: string) => {
  const e = (body as { error: { code: string; message: string } }).error;
  assert.equal(e.code, code);
  assert.equal(typeof e.message, 'string');
};

describe('GET /v1/models/{id}/filters', () => {
  let t: TestApp;
  let conv: TrainedModel;
  let convId: string;

  before(async () => {
    t = await startTestApp('filters');
    // ch6-conv1's shape, small: conv 20×5×5 + max-pool + FC + softmax (after a pool, to check "first conv" finds it)
    conv = await trainConv([
      { type: 'conv', filters: 20, kernel: 5, activation: 'sigmoid' }, { type: 'pool', kind: 'max' },
      { type: 'dense', units: 30, activation: 'sigmoid' }, { type: 'dense', units: 10, activation: 'softmax' },
    ]);
    convId = (await t.saveModel(conv, { name: 'conv' })).id;
    await t.aliases.set('default', convId);
  });
  after(() => t?.close());

  test('JSON: the first conv layer\'s 20 5×5 filters are the model\'s own weights', async () => {
    const res = await request(t.server).get(`/v1/models/${convId}/filters`).expect(200);
    assert.match(res.headers['content-type']!, /application\/json/);
    const body = res.body;
    assert.equal(body.modelId, convId);
    assert.equal(body.layer, 0);
    assert.equal(body.member, 0);
    assert.equal(body.members, 1);
    assert.equal(body.kernel, 5);
    assert.equal(body.activation, 'sigmoid');
    assert.equal(body.filters.length, 20);
    // reference: the layout says W[f][ky][kx][c] from the segment's offset, then the 20 biases
    const seg = planNetwork(conv.experiment.network).segments[0]!;
    const p = conv.members[0]!.params;
    let min = Infinity;
    let max = -Infinity;
    body.filters.forEach((f: { bias: number; weights: number[][] }, i: number) => {
      assert.equal(f.weights.length, 5);
      assert.equal(f.bias, p[seg.biasOffset + i]);
      f.weights.forEach((row, y) => {
        assert.equal(row.length, 5);
        row.forEach((w, x) => {
          assert.equal(w, p[seg.weightOffset + i * 25 + y * 5 + x], `filter ${i} (${y}, ${x})`);
          min = Math.min(min, w);
          max = Math.max(max, w);
        });
      });
    });
    assert.equal(body.min, min);
    assert.equal(body.max, max);
    // the alias answers the same
    const byAlias = await request(t.server).get('/v1/models/default/filters').expect(200);
    assert.deepEqual(byAlias.body, body);
  });

  test('PNG: a grid of 10 tiles a row, each weight a scale×scale block, max black and min white', async () => {
    const json = (await request(t.server).get(`/v1/models/${convId}/filters`).expect(200)).body;
    const res = await request(t.server).get(`/v1/models/${convId}/filters?format=png&scale=4`).buffer(true).parse(binary).expect(200);
    assert.match(res.headers['content-type']!, /image\/png/);
    const { data, info } = await sharp(res.body as Buffer).raw().toBuffer({ resolveWithObject: true });
    const size = gridSize(20, 5, 4);
    assert.deepEqual([info.width, info.height], [size.width, size.height]);
    assert.deepEqual([size.columns, size.rows], [10, 2]);
    const gap = 2;
    const pixel = (f: number, y: number, x: number) => {
      const left = gap + (f % 10) * (20 + gap) + x * 4 + 1; // inside the block
      const top = gap + Math.floor(f / 10) * (20 + gap) + y * 4 + 1;
      const at = (top * info.width + left) * info.channels;
      return [data[at], data[at + 1], data[at + 2]];
    };
    json.filters.forEach((f: { weights: number[][] }, i: number) => f.weights.forEach((row, y) => row.forEach((w, x) => {
      const grey = Math.round(255 * (1 - (w - json.min) / (json.max - json.min)));
      assert.deepEqual(pixel(i, y, x), [grey, grey, grey], `filter ${i} (${y}, ${x})`);
    })));
    const greys = json.filters.flatMap((f: { weights: number[][] }, i: number) => f.weights.flatMap((row, y) => row.map((_, x) => pixel(i, y, x)[0])));
    assert.equal(Math.min(...greys), 0);
    assert.equal(Math.max(...greys), 255);
  });

  test('an ensemble: each member\'s filters; a member it lacks is a 400', async () => {
    const model = await trainConv([
      { type: 'conv', filters: 4, kernel: 3, activation: 'relu' }, { type: 'pool', kind: 'max' },
      { type: 'dense', units: 10, activation: 'softmax' },
    ], { ensemble: 2, trainSize: 200 });
    const { id } = await t.saveModel(model);
    const m0 = (await request(t.server).get(`/v1/models/${id}/filters?member=0`).expect(200)).body;
    const m1 = (await request(t.server).get(`/v1/models/${id}/filters?member=1`).expect(200)).body;
    assert.equal(m0.members, 2);
    assert.equal(m1.member, 1);
    assert.equal(m1.filters.length, 4);
    assert.equal(m1.filters[0].weights[0][0], model.members[1]!.params[0]);
    assert.notDeepEqual(m0.filters, m1.filters);
    assertError((await request(t.server).get(`/v1/models/${id}/filters?member=2`).expect(400)).body, 'validation_failed');
  });

  test('a model without a conv layer: 422 no_conv_layer; unknown model: 404; bad query: 400', async () => {
    const { id } = await t.saveModel(await smallModel());
    assertError((await request(t.server).get(`/v1/models/${id}/filters`).expect(422)).body, 'no_conv_layer');
    assertError((await request(t.server).get(`/v1/models/${id}/filters?format=png`).expect(422)).body, 'no_conv_layer');
    assertError((await request(t.server).get('/v1/models/no-such-model/filters').expect(404)).body, 'not_found');
    for (const q of ['format=svg', 'member=-1', 'member=x', 'scale=0', 'scale=33']) {
      const res = await request(t.server).get(`/v1/models/${convId}/filters?${q}`).expect(400);
      assert.ok(res.body.error.code, q);
    }
  });

  test('a grid over the pixel bound is refused (400), a smaller scale is served', async () => {
    // 20 filters of 28×28 (the whole image): at scale 32 the grid would be 9,136 × 1,840 pixels
    const big = await trainConv([
      { type: 'conv', filters: 20, kernel: 28, activation: 'relu' }, { type: 'dense', units: 10, activation: 'softmax' },
    ], { trainSize: 100 });
    const { id } = await t.saveModel(big);
    const res = await request(t.server).get(`/v1/models/${id}/filters?format=png&scale=32`).expect(400);
    assertError(res.body, 'validation_failed');
    assert.match(res.body.error.message, /smaller scale/);
    await request(t.server).get(`/v1/models/${id}/filters?format=png&scale=2`).expect(200);
  });

  test('a deleted model is not served from what was kept: 404', async () => {
    const { id } = await t.saveModel(conv);
    await request(t.server).get(`/v1/models/${id}/filters`).expect(200);
    await request(t.server).delete(`/v1/models/${id}`).expect(200);
    assertError((await request(t.server).get(`/v1/models/${id}/filters`).expect(404)).body, 'not_found');
  });
});
