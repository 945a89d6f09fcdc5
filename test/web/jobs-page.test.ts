// The jobs pages in headless Chromium against the real app and a real worker process:
// submit a small job from the form and watch its charts grow to completion (then the
// test results and the gallery), cancel a running job, and bad specs get a message.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import type { Page } from 'playwright-core';
import { startTestApp, type TestApp } from '../fixtures/test-app.ts';
import { startWorker, stopWorker, waitFor, waitForOutput, type WorkerProcess } from '../queue/queue-helpers.ts';
import { launchBrowser, listen, screenshot, skipWithoutChromium, watchErrors, type TestBrowser } from './browser.ts';

/**
 * Records, from page load on, every value the charts' point count and the status badge
 * take (old values from the mutation records: several updates may share one callback).
 */
function recordUpdates(page: Page) {
  return page.addInitScript(() => {
    const w = window as unknown as { __points: (string | null)[]; __statuses: string[] };
    w.__points = [];
    w.__statuses = [];
    document.addEventListener('DOMContentLoaded', () => {
      const chart = document.getElementById('accuracy-chart');
      const badge = document.getElementById('job-status');
      if (!chart || !badge) return;
      new MutationObserver((records) => w.__points.push(...records.map((r) => r.oldValue)))
        .observe(chart, { attributeFilter: ['data-points'], attributeOldValue: true });
      new MutationObserver(() => w.__statuses.push(badge.textContent ?? ''))
        .observe(badge, { childList: true, characterData: true, subtree: true });
    });
  });
}

const badge = (page: Page, status: string, timeout = 60_000) =>
  page.waitForFunction((s) => document.getElementById('job-status')?.textContent === s, status, { timeout });

describe('web: jobs', { skip: skipWithoutChromium }, () => {
  let t: TestApp;
  let worker: WorkerProcess;
  let base: string;
  let browser: TestBrowser;

  before(async () => {
    t = await startTestApp('web-jobs', { JOB_LOCK_MS: '2000', JOB_STALLED_INTERVAL_MS: '1000' });
    base = await listen(t.app);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    if (worker) await stopWorker(worker);
    await t?.close();
  });

  test('submit a small job from a preset and watch its charts grow to completion', async () => {
    const page = await browser.newPage();
    const errors = watchErrors(page);
    await recordUpdates(page);
    await page.goto(`${base}/jobs`);
    await page.locator('#preset option[value="ch1-mlp30"]').waitFor({ state: 'attached' });
    await page.selectOption('#preset', 'ch1-mlp30');
    assert.match(await page.locator('#preset-info').textContent() ?? '', /book reports 95\.\d\d% test accuracy/);
    await page.fill('#name', 'web small');
    await page.fill('#epochs', '3');
    await page.fill('#trainSize', '2000');
    await page.fill('#validationSize', '500');
    assert.deepEqual(JSON.parse(await page.inputValue('#spec')), {
      preset: 'ch1-mlp30', name: 'web small', training: { epochs: 3 }, data: { trainSize: 2000, validationSize: 500 },
    });
    await screenshot(page, 'jobs-desktop');
    await page.click('#submit');
    await page.waitForURL(/\/jobs\/[A-Za-z0-9-]+$/);
    const jobId = page.url().split('/').at(-1)!;
    // the worker starts only now, so every epoch reaches the open page live
    await badge(page, 'queued');
    await screenshot(page, 'job-queued-desktop');
    worker = startWorker(t.config);
    await waitForOutput(worker, 'worker started');

    await badge(page, 'completed');
    await page.locator('#gallery li').first().waitFor({ timeout: 60_000 });
    const { points, statuses } = await page.evaluate(() => {
      const w = window as unknown as { __points: (string | null)[]; __statuses: string[] };
      const chart = document.getElementById('accuracy-chart')!;
      return { points: [...w.__points.slice(1), chart.dataset.points ?? null], statuses: w.__statuses };
    });
    assert.deepEqual(points, ['1', '2', '3'], 'the accuracy chart grew one epoch at a time');
    assert.ok(statuses.includes('running'), `the page followed the job live (${statuses.join(' → ')})`);
    for (const id of ['cost-chart', 'eta-chart', 'gradients-chart']) {
      assert.equal(await page.locator(`#${id}`).getAttribute('data-points'), '3', id);
    }

    const job = (await request(t.server).get(`/v1/jobs/${jobId}`).expect(200)).body;
    assert.equal(job.status, 'completed');
    const model = (await request(t.server).get(`/v1/models/${job.modelId}`).expect(200)).body;
    const shown = `${(model.testAccuracy * 100).toFixed(2)}%`;
    assert.equal(await page.locator('#stat-test').textContent(), shown);
    assert.equal(await page.locator('#confusion tbody tr').count(), 10);
    assert.equal(await page.locator('#gallery li').count(), 24);
    assert.match(await page.locator('#gallery-status').textContent() ?? '', /of 10,000 test digits are misclassified/);
    await screenshot(page, 'job-desktop');

    const phone = await browser.newPage('phone');
    await phone.goto(`${base}/jobs/${jobId}`);
    await phone.locator('#gallery li').first().waitFor();
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `no sideways scrolling (${overflow}px too wide)`);
    await screenshot(phone, 'job-phone');

    await phone.goto(`${base}/jobs`);
    const row = phone.locator('#jobs tbody tr', { hasText: 'web small' });
    await row.waitFor();
    assert.match(await row.textContent() ?? '', /completed/);
    // the list's summary carries the last epoch: its validation accuracy is in the row
    const last = job.metrics.at(-1);
    assert.match(await row.textContent() ?? '', new RegExp(`${(last.validationAccuracy * 100).toFixed(2)}%`));
    await screenshot(phone, 'jobs-phone');
    assert.deepEqual(errors(), []);
    await page.close();
    await phone.close();
  });

  test('cancel a running job from its page', async () => {
    const submitted = await request(t.server)
      .post('/v1/jobs')
      .send({ name: 'web long', preset: 'ch1-mlp30', training: { epochs: 1000 }, data: { trainSize: 20000, validationSize: 500 } })
      .expect(202);
    const page = await browser.newPage();
    const errors = watchErrors(page);
    await page.goto(`${base}/jobs/${submitted.body.id}`);
    await badge(page, 'running');
    await page.waitForFunction(() => Number(document.getElementById('accuracy-chart')?.dataset.points ?? 0) >= 1, null, { timeout: 60_000 });
    assert.ok(await page.locator('#cancel').isVisible());
    await page.getByRole('button', { name: 'Cancel job' }).click();
    await badge(page, 'cancelled');
    assert.equal(await page.locator('#cancel').isVisible(), false);
    const job = await waitFor(async () => {
      const r = (await request(t.server).get(`/v1/jobs/${submitted.body.id}`)).body;
      return r.status === 'cancelled' ? r : null;
    }, 10_000, 'the job to be cancelled');
    assert.ok(job.progress.epoch < 1000);
    await screenshot(page, 'job-cancelled-desktop');
    assert.deepEqual(errors(), []);
    await page.close();
  });

  test('a job that is not JSON, or not a valid spec, gets a message and is not submitted', async () => {
    const page = await browser.newPage();
    const errors = watchErrors(page);
    await page.goto(`${base}/jobs`);
    await page.locator('#preset option[value="ch1-mlp30"]').waitFor({ state: 'attached' });
    await page.fill('#spec', '{ "preset": ');
    await page.click('#submit');
    await page.waitForFunction(() => /not valid JSON/.test(document.getElementById('submit-status')?.textContent ?? ''));
    await page.fill('#spec', JSON.stringify({ preset: 'ch1-mlp30', training: { epochs: 0 } }));
    await page.click('#submit');
    await page.waitForFunction(() => /epochs/.test(document.getElementById('submit-status')?.textContent ?? ''));
    assert.ok(page.url().endsWith('/jobs'), 'still on the jobs page');
    // the 422 in the console is the expected answer to the bad spec
    assert.deepEqual(errors().filter((e) => !e.includes('422')), []);
    await page.close();
  });
});
