// The pages against an API that wants keys, in headless Chromium: the page asks for a key when
// the API answers 401 (an accessible modal dialog), a wrong key is asked again, the right one
// makes predictions work; the job page follows its event stream with the key in a header;
// the key never appears in a URL; Swagger UI renders under the app's CSP.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import type { Page, Request } from 'playwright-core';
import { testDigits } from '../fixtures/mnist-digits.ts';
import { bearer, KEYS, keysEnv } from '../fixtures/api-keys.ts';
import { startTestApp, type TestApp } from '../fixtures/test-app.ts';
import { smallModel } from '../fixtures/trained-model.ts';
import { smallJob } from '../queue/queue-helpers.ts';
import { launchBrowser, listen, screenshot, skipWithoutChromium, traceDigit, watchErrors, type TestBrowser } from './browser.ts';

/** Every request the page makes: URL and whether it carried the key. */
function recordRequests(page: Page) {
  const seen: { url: string; auth: string | undefined }[] = [];
  page.on('request', (r: Request) => seen.push({ url: r.url(), auth: r.headers().authorization }));
  return seen;
}

/** Console errors other than the browser's own note on each 401 answer (the expected first try). */
const realErrors = (errors: string[]) => errors.filter((e) => !/status of 401/.test(e));

describe('web: pages with API keys', { skip: skipWithoutChromium }, () => {
  let t: TestApp;
  let base: string;
  let browser: TestBrowser;

  before(async () => {
    t = await startTestApp('web-keys', keysEnv());
    const saved = await t.saveModel(await smallModel(), { name: 'small mlp30' });
    await t.aliases.set('default', saved.id);
    base = await listen(t.app);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  const dialog = (page: Page) => page.getByRole('dialog', { name: 'API key needed' });

  test('the drawing page asks for a key, refuses a wrong one, and predicts with the right one', async () => {
    const page = await browser.newPage();
    const errors = watchErrors(page);
    const requests = recordRequests(page);
    await page.goto(`${base}/`);

    await dialog(page).waitFor({ state: 'visible' });
    const input = page.getByRole('textbox', { name: 'API key' });
    assert.ok(await input.evaluate((el) => el === document.activeElement), 'the key field has the focus');
    assert.equal(await input.getAttribute('type'), 'password');
    await screenshot(page, 'key-prompt-desktop');

    await input.fill(KEYS.predict.replace(/.$/, 'X'));
    await page.keyboard.press('Enter');
    await page.getByRole('alert').filter({ hasText: 'That key was not accepted' }).waitFor();
    await input.fill(KEYS.predict);
    await page.getByRole('button', { name: 'Use this key' }).click();
    await dialog(page).waitFor({ state: 'hidden' });
    await page.locator('#model option[value="default"]').waitFor({ state: 'attached' });

    const d = testDigits(1)[0]!; // a 7
    await traceDigit(page, '#pad', d.pixels);
    await page.waitForFunction((x) => document.getElementById('digit')?.textContent === String(x), d.label, { timeout: 15_000 });
    assert.equal(await page.evaluate(() => sessionStorage.getItem('nndl.apiKey')), KEYS.predict, 'kept for this tab');

    const api = requests.filter((r) => new URL(r.url).pathname.startsWith('/v1/'));
    assert.ok(api.some((r) => r.url.includes('/predict') && r.auth === `Bearer ${KEYS.predict}`), 'predictions carry the key');
    assert.ok(requests.every((r) => !r.url.includes(KEYS.predict) && !r.url.includes('nndl_test')), 'no key in any URL');
    assert.deepEqual(realErrors(errors()), []);
    await page.close();
  });

  test('cancelling the prompt leaves the page with the server\'s message', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/models`);
    await dialog(page).waitFor({ state: 'visible' });
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.locator('#models-status').filter({ hasText: /needs an API key/ }).waitFor();
    await page.close();
  });

  test('the job page follows its event stream with the key in a header, not in the URL', async () => {
    const job = (await request(t.server).post('/v1/jobs').set(bearer(KEYS.trainB)).send(smallJob()).expect(202)).body;
    const page = await browser.newPage();
    const errors = watchErrors(page);
    const requests = recordRequests(page);
    await page.goto(`${base}/jobs/${job.id}`);
    await dialog(page).waitFor({ state: 'visible' });
    await page.getByRole('textbox', { name: 'API key' }).fill(KEYS.trainB);
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.getElementById('job-status')?.textContent === 'queued');
    // the stream is open; a cancel elsewhere reaches the page through it
    const stream = () => requests.find((r) => r.url.endsWith(`/v1/jobs/${job.id}/events`));
    for (let i = 0; i < 100 && !stream(); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(stream(), 'the page opened the event stream');
    await request(t.server).post(`/v1/jobs/${job.id}/cancel`).set(bearer(KEYS.admin)).expect(200);
    await page.waitForFunction(() => document.getElementById('job-status')?.textContent === 'cancelled', null, { timeout: 15_000 });
    assert.equal(stream()?.auth, `Bearer ${KEYS.trainB}`);
    assert.ok(requests.every((r) => !r.url.includes('nndl_test')), 'no key in any URL');
    assert.deepEqual(realErrors(errors()), []);
    await page.close();
  });

  test('Swagger UI renders under the app\'s CSP, without a key', async () => {
    const page = await browser.newPage();
    const errors = watchErrors(page);
    await page.goto(`${base}/docs`);
    await page.locator('.opblock').first().waitFor({ timeout: 15_000 });
    assert.ok((await page.locator('.opblock').count()) >= 19);
    await page.getByRole('button', { name: /Authorize/ }).waitFor();
    assert.deepEqual(errors(), []);
    await page.close();
  });
});
