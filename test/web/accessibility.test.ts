// Accessibility basics of every page in headless Chromium: each control has a label, each
// button a name, each picture (canvas) a text alternative, the prediction is announced
// (aria-live), and the controls are reachable with the Tab key in a sensible order.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import type { Page } from 'playwright-core';
import { startTestApp, type TestApp } from '../fixtures/test-app.ts';
import { smallModel } from '../fixtures/trained-model.ts';
import { launchBrowser, listen, skipWithoutChromium, watchErrors, type TestBrowser } from './browser.ts';

/** Problems found on the page: unlabelled controls, nameless buttons/links, canvases without alt text. */
function audit(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const problems: string[] = [];
    for (const c of document.querySelectorAll<HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>('input, select, textarea')) {
      if ((c.labels?.length ?? 0) === 0 && !c.getAttribute('aria-label')) problems.push(`unlabelled ${c.tagName} #${c.id}`);
    }
    // (no helper functions in here: tsx would wrap them in a __name the page lacks)
    for (const b of document.querySelectorAll('button, a')) if (!(b.getAttribute('aria-label') ?? b.textContent ?? '').trim()) problems.push(`nameless ${b.tagName} ${b.outerHTML.slice(0, 60)}`);
    for (const c of document.querySelectorAll('canvas')) {
      if (c.getAttribute('role') !== 'img' || !c.getAttribute('aria-label')) problems.push(`canvas #${c.id} without role=img and aria-label`);
    }
    if (document.querySelectorAll('h1').length !== 1) problems.push('not exactly one h1');
    if (!document.documentElement.lang) problems.push('no lang on <html>');
    return problems;
  });
}

/** The ids (or text) of the elements Tab visits, in order. */
async function tabOrder(page: Page, presses: number): Promise<string[]> {
  const seen: string[] = [];
  for (let i = 0; i < presses; i++) {
    await page.keyboard.press('Tab');
    seen.push(await page.evaluate(() => {
      const e = document.activeElement;
      return e ? e.id || (e.textContent ?? '').trim() : '';
    }));
  }
  return seen;
}

describe('web: accessibility', { skip: skipWithoutChromium }, () => {
  let t: TestApp;
  let base: string;
  let browser: TestBrowser;
  let jobId: string;

  before(async () => {
    t = await startTestApp('web-a11y');
    const saved = await t.saveModel(await smallModel(), { name: 'small' });
    await t.aliases.set('default', saved.id);
    // no worker: the job stays queued, its page still renders everything but results
    jobId = (await request(t.server).post('/v1/jobs').send({ preset: 'ch1-mlp30', training: { epochs: 2 } }).expect(202)).body.id;
    base = await listen(t.app);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  test('every page: labels, names, text alternatives', async () => {
    const ready: Record<string, string> = {
      '/': '#model option[value="default"]',
      '/jobs': '#preset option[value="ch1-mlp30"]',
      [`/jobs/${jobId}`]: '#job-status.queued',
      '/models': 'tr[data-model-id]',
    };
    for (const [path, selector] of Object.entries(ready)) {
      const page = await browser.newPage();
      const errors = watchErrors(page);
      await page.goto(base + path);
      await page.locator(selector).first().waitFor({ state: 'attached' });
      assert.deepEqual(await audit(page), [], path);
      assert.deepEqual(errors(), [], path);
      await page.close();
    }
  });

  test('the drawing page: keyboard order and an announced prediction', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/`);
    await page.locator('#model option[value="default"]').waitFor({ state: 'attached' });
    const order = await tabOrder(page, 9);
    const controls = order.filter((x) => ['model', 'clear', 'file'].includes(x));
    assert.deepEqual(controls, ['model', 'clear', 'file'], order.join(' → '));
    assert.equal(await page.locator('#summary').getAttribute('aria-live'), 'polite');
    await page.close();
  });

  test('the jobs page: a job can be submitted with the keyboard alone', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/jobs`);
    await page.locator('#preset option[value="ch1-mlp30"]').waitFor({ state: 'attached' });
    const order = await tabOrder(page, 16);
    const controls = order.filter((x) => ['preset', 'name', 'epochs', 'trainSize', 'validationSize', 'spec', 'submit'].includes(x));
    assert.deepEqual(controls, ['preset', 'name', 'epochs', 'trainSize', 'validationSize', 'spec', 'submit'], order.join(' → '));
    await page.focus('#epochs');
    await page.keyboard.press('Control+A');
    await page.keyboard.type('1');
    await page.focus('#submit');
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/jobs\/[A-Za-z0-9-]+$/);
    const id = page.url().split('/').at(-1)!;
    const job = (await request(t.server).get(`/v1/jobs/${id}`).expect(200)).body;
    assert.equal(job.experiment.training.epochs, 1);
    await page.close();
  });
});
