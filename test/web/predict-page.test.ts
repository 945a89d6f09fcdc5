// The drawing page and the models page in headless Chromium, against the real app with a
// small real model: real MNIST test digits traced on the canvas with pointer strokes, a
// photo uploaded through the file input, default/delete on the models page.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import type { Page } from 'playwright-core';
import { photoLike, testDigits, type Digit } from '../fixtures/mnist-digits.ts';
import { startTestApp, type TestApp } from '../fixtures/test-app.ts';
import { smallModel } from '../fixtures/trained-model.ts';
import { launchBrowser, listen, screenshot, skipWithoutChromium, traceDigit, watchErrors, type TestBrowser } from './browser.ts';

describe('web: draw a digit, models', { skip: skipWithoutChromium }, () => {
  let t: TestApp;
  let base: string;
  let browser: TestBrowser;
  let files: string;
  let modelId: string;

  before(async () => {
    t = await startTestApp('web-predict');
    const saved = await t.saveModel(await smallModel(), { name: 'small mlp30' });
    modelId = saved.id;
    await t.aliases.set('default', saved.id);
    base = await listen(t.app);
    browser = await launchBrowser();
    files = await mkdtemp(join(tmpdir(), 'nndl-web-files-'));
  });
  after(async () => {
    await browser?.close();
    await t?.close();
    if (files) await rm(files, { recursive: true, force: true });
  });

  const openDrawPage = async (page: Page) => {
    await page.goto(`${base}/`);
    await page.locator('#model option[value="default"]').waitFor({ state: 'attached' });
  };
  const answer = (page: Page, digit: number) =>
    page.waitForFunction((d) => document.getElementById('digit')?.textContent === String(d), digit, { timeout: 15_000 });
  /** The sum of the 28×28 image the page shows as what the model saw. */
  const seenInk = (page: Page) =>
    page.evaluate(() => {
      const c = document.getElementById('seen') as HTMLCanvasElement;
      const data = c.getContext('2d')!.getImageData(0, 0, 28, 28).data;
      let sum = 0;
      for (let i = 0; i < data.length; i += 4) sum += data[i]!;
      return sum / 255;
    });

  test('tracing real MNIST test digits on the canvas gives the right live prediction', async () => {
    const page = await browser.newPage();
    const errors = watchErrors(page);
    await openDrawPage(page);
    // the first test digits, 7 2 1 0 4 — each one the model reads right from its own pixels
    const digits: Digit[] = testDigits(5);
    for (const d of digits) {
      await page.click('#clear');
      await page.waitForFunction(() => document.getElementById('digit')?.textContent === '?');
      const strokes = await traceDigit(page, '#pad', d.pixels);
      assert.ok(strokes > 5, `digit ${d.index} drawn with ${strokes} strokes`);
      await answer(page, d.label);
      assert.match(await page.locator('#summary').textContent() ?? '', new RegExp(`reads a ${d.label} \\(`));
      assert.ok(await page.locator(`#bar-${d.label}`).evaluate((li) => li.classList.contains('best')));
      const ink = await seenInk(page);
      assert.ok(ink > 40 && ink < 400, `the normalised image has ink (${ink.toFixed(1)})`);
      if (d.index === 0) await screenshot(page, 'draw-desktop');
    }
    assert.deepEqual(errors(), []);
    await page.close();
  });

  test('an uploaded or dropped photo of a digit is predicted; a file that is no image gets a message', async () => {
    const page = await browser.newPage();
    const errors = watchErrors(page);
    await openDrawPage(page);
    const d = testDigits(1, 7)[0]!; // a 9
    const photo = join(files, 'digit.jpg');
    await writeFile(photo, await photoLike(d, { format: 'jpeg' }));
    await page.setInputFiles('#file', photo);
    await answer(page, d.label);
    assert.ok((await seenInk(page)) > 40);
    await screenshot(page, 'upload-desktop');

    // dropped on the paper instead of chosen: a PNG photo of another digit
    const dropped = testDigits(1, 4)[0]!; // a 4
    const png = (await photoLike(dropped, { format: 'png' })).toString('base64');
    const transfer = await page.evaluateHandle((b64) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([bytes], 'photo.png', { type: 'image/png' }));
      return dt;
    }, png);
    await page.dispatchEvent('#drop', 'dragover', { dataTransfer: transfer });
    await page.dispatchEvent('#drop', 'drop', { dataTransfer: transfer });
    await answer(page, dropped.label);

    const text = join(files, 'notes.txt');
    await writeFile(text, 'not an image');
    await page.setInputFiles('#file', text);
    await page.waitForFunction(() => document.getElementById('digit')?.textContent === '!');
    assert.match(await page.locator('#summary').textContent() ?? '', /not a PNG or JPEG/);
    assert.deepEqual(errors(), []);
    await page.close();
  });

  test('on a phone-sized screen the page fits; a digit drawn with a finger, then a photo, are predicted', async () => {
    const page = await browser.newPage('phone');
    const errors = watchErrors(page);
    await openDrawPage(page);
    const drawn = testDigits(1, 2)[0]!; // a 1
    await page.locator('#pad').scrollIntoViewIfNeeded();
    await traceDigit(page, '#pad', drawn.pixels, { input: 'touch' });
    await answer(page, drawn.label);
    await screenshot(page, 'draw-touch-phone');
    const d = testDigits(1, 1)[0]!;
    const photo = join(files, 'digit.png');
    await writeFile(photo, await photoLike(d, { format: 'png' }));
    await page.setInputFiles('#file', photo);
    await answer(page, d.label);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `no sideways scrolling (${overflow}px too wide)`);
    await screenshot(page, 'draw-phone');
    assert.deepEqual(errors(), []);
    await page.close();
  });

  test('models page: accuracy and aliases shown, make default, delete', async () => {
    const second = await t.saveModel(await smallModel(), { name: 'second mlp30' });
    const page = await browser.newPage();
    const errors = watchErrors(page);
    page.on('dialog', (dialog) => void dialog.accept());
    const asked: string[] = [];
    page.on('request', (r) => asked.push(new URL(r.url()).pathname));
    await page.goto(`${base}/models`);
    const firstRow = page.locator(`tr[data-model-id="${modelId}"]`);
    const secondRow = page.locator(`tr[data-model-id="${second.id}"]`);
    await firstRow.waitFor();
    assert.match(await firstRow.textContent() ?? '', /default/);
    assert.match(await firstRow.textContent() ?? '', /\d+\.\d\d%/);
    // the page asks only for what it shows: the list; a model's detail (history, confusion)
    // only when its spec is opened
    assert.deepEqual(asked.filter((p) => /^\/v1\/models\/[^/]+$/.test(p)), []);
    await firstRow.locator('details summary').click();
    await firstRow.locator('details pre', { hasText: '"layers"' }).waitFor();
    assert.match(await firstRow.locator('details summary').textContent() ?? '', /layers, quadratic, η 3/);
    assert.deepEqual(asked.filter((p) => /^\/v1\/models\/[^/]+$/.test(p)), [`/v1/models/${modelId}`]);
    await screenshot(page, 'models-desktop');

    await secondRow.getByRole('button', { name: /make .* the default/i }).click();
    await page.waitForFunction(() => /now the default/.test(document.getElementById('models-status')?.textContent ?? ''));
    assert.equal(await t.aliases.resolve('default'), second.id);

    await firstRow.getByRole('button', { name: /delete/i }).click();
    await firstRow.waitFor({ state: 'detached' });
    assert.equal(await t.models.exists(modelId), false);
    // the export link appears exactly when the API document has an export route
    const doc = (await request(t.server).get('/openapi.json').expect(200)).body;
    const exportLinks = page.locator(`tr[data-model-id="${second.id}"] a`, { hasText: 'Export' });
    if (doc.paths['/v1/models/{id}/export']) {
      assert.match(await exportLinks.getAttribute('href') ?? '', new RegExp(`^/v1/models/${second.id}/export\\?format=`));
    } else {
      assert.equal(await exportLinks.count(), 0);
    }

    const phone = await browser.newPage('phone');
    await phone.goto(`${base}/models`);
    await phone.locator(`tr[data-model-id="${second.id}"]`).waitFor();
    await screenshot(phone, 'models-phone');
    assert.deepEqual(errors(), []);
    await page.close();
    await phone.close();
  });
});
