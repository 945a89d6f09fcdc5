// The models page shows a conv net's learned filters (chapter 6) in headless Chromium, against the real
// app with a small real conv net (20 5×5 filters, as the book's first conv layer): the "learned
// filters" panel appears for the conv net only, is fetched when opened, and its 20 canvases hold the
// API's weights on the documented grey scale (darker = larger, the layer's min white and max black).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { loadMnist, resolveExperiment, splitData, train, type TrainedModel } from '../../src/engine/index.ts';
import { startTestApp, type TestApp } from '../fixtures/test-app.ts';
import { smallModel } from '../fixtures/trained-model.ts';
import { launchBrowser, listen, screenshot, skipWithoutChromium, watchErrors, type TestBrowser } from './browser.ts';

async function convNet(): Promise<TrainedModel> {
  const exp = resolveExperiment({
    network: { layers: [
      { type: 'conv', filters: 20, kernel: 5, activation: 'relu' }, { type: 'pool', kind: 'max' },
      { type: 'dense', units: 30, activation: 'relu' }, { type: 'dense', units: 10, activation: 'softmax' },
    ] },
    training: { epochs: 1, eta: 0.05, seed: 3 },
    data: { trainSize: 1000, validationSize: 0 },
  });
  const data = splitData(await loadMnist(), exp.data);
  data.test = { images: data.test.images.subarray(0, 200 * 784), labels: data.test.labels.subarray(0, 200), count: 200 };
  const r = await train(exp, { data, threads: 1 });
  if (r.status !== 'completed') throw new Error(r.status);
  return r.model;
}

describe('web: a conv net\'s learned filters on the models page', { skip: skipWithoutChromium }, () => {
  let t: TestApp;
  let base: string;
  let browser: TestBrowser;
  let convId: string;
  let denseId: string;

  before(async () => {
    t = await startTestApp('web-filters');
    denseId = (await t.saveModel(await smallModel(), { name: 'dense mlp30' })).id;
    convId = (await t.saveModel(await convNet(), { name: 'conv 20×5×5' })).id;
    base = await listen(t.app);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  test('the filters open as 20 images with the API\'s weights; a dense net has none', async () => {
    const page = await browser.newPage();
    const errors = watchErrors(page);
    const asked: string[] = [];
    page.on('request', (r) => asked.push(new URL(r.url()).pathname));
    await page.goto(`${base}/models`);
    const convRow = page.locator(`tr[data-model-id="${convId}"]`);
    const denseRow = page.locator(`tr[data-model-id="${denseId}"]`);
    await convRow.waitFor();
    await denseRow.waitFor();
    assert.equal(await denseRow.locator('details.filters-details').count(), 0);
    // fetched only when opened
    assert.deepEqual(asked.filter((p) => p.endsWith('/filters')), []);
    await convRow.locator('details.filters-details summary').click();
    const canvases = convRow.getByRole('img', { name: /^filter \d+: 5×5 weights/ });
    await canvases.first().waitFor();
    assert.equal(await canvases.count(), 20);
    assert.deepEqual(asked.filter((p) => p.endsWith('/filters')), [`/v1/models/${convId}/filters`]);
    assert.match(await convRow.locator('details.filters-details').textContent() ?? '', /20 filters of 5×5 weights/);

    // each canvas: the API's weights on the layer's grey scale
    const answer = (await request(t.server).get(`/v1/models/${convId}/filters`).expect(200)).body;
    const drawn: number[][] = await convRow.locator('canvas.filter').evaluateAll((nodes) => nodes.map((c) => {
      const canvas = c as HTMLCanvasElement;
      const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
      return Array.from({ length: canvas.width * canvas.height }, (_, i) => data[i * 4]!);
    }));
    assert.equal(drawn.length, 20);
    answer.filters.forEach((f: { weights: number[][] }, i: number) => {
      const expected = f.weights.flat().map((w) => Math.round(255 * (1 - (w - answer.min) / (answer.max - answer.min))));
      assert.deepEqual(drawn[i], expected, `filter ${i + 1}`);
    });
    // the canvases are scaled up, not 5 css pixels
    const box = await canvases.first().boundingBox();
    assert.ok(box && box.width >= 30, `filter drawn ${box?.width}px wide`);
    await screenshot(page, 'models-filters-desktop');

    const phone = await browser.newPage('phone');
    await phone.goto(`${base}/models`);
    const phoneRow = phone.locator(`tr[data-model-id="${convId}"]`);
    await phoneRow.locator('details.filters-details summary').click();
    await phoneRow.getByRole('img', { name: /^filter 20:/ }).waitFor();
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `no sideways scrolling (${overflow}px too wide)`);
    await screenshot(phone, 'models-filters-phone');
    assert.deepEqual(errors(), []);
    await page.close();
    await phone.close();
  });
});
