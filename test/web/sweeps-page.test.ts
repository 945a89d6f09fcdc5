// The /sweeps page in headless Chromium against the real app and a real worker process: a small
// halving sweep submitted from the page grows to completion on it — the leaderboard fills, every
// trial's curve grows on one chart (live over SSE), and the scatter of the objective against the
// searched log-uniform field uses a log axis.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { startTestApp, type TestApp } from '../fixtures/test-app.ts';
import { startWorker, stopWorker, waitForOutput, type WorkerProcess } from '../queue/queue-helpers.ts';
import { launchBrowser, listen, screenshot, skipWithoutChromium, watchErrors, type TestBrowser } from './browser.ts';

/** Every value the curves chart's point count takes, from page load on. */
function recordPoints(page: Page) {
  return page.addInitScript(() => {
    const w = window as unknown as { __points: (string | null)[] };
    w.__points = [];
    document.addEventListener('DOMContentLoaded', () => {
      const chart = document.getElementById('curves-chart');
      if (!chart) return;
      new MutationObserver((records) => w.__points.push(...records.map((r) => (r.target as HTMLElement).dataset.points ?? null)))
        .observe(chart, { attributeFilter: ['data-points'] });
    });
  });
}

describe('web: sweeps', { skip: skipWithoutChromium }, () => {
  let t: TestApp;
  let worker: WorkerProcess | undefined;
  let base: string;
  let browser: TestBrowser;

  before(async () => {
    t = await startTestApp('web-sweeps', { JOB_LOCK_MS: '2000', JOB_STALLED_INTERVAL_MS: '1000' });
    base = await listen(t.app);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    if (worker) await stopWorker(worker);
    await t?.close();
  });

  test('a small halving sweep grows to completion on the page', async () => {
    const page = await browser.newPage();
    const errors = watchErrors(page);
    await recordPoints(page);
    await page.goto(`${base}/sweeps`);
    await page.locator('#sweeps-status').filter({ hasText: 'No sweeps yet.' }).waitFor();
    await page.fill('#spec', JSON.stringify({
      name: 'web halving',
      base: { preset: 'ch3-mlp30-ce', data: { trainSize: 500, validationSize: 300 } },
      space: { 'training.eta': { logUniform: [0.01, 10] } },
      strategy: { type: 'halving', trials: 4, seed: 2, keep: 0.5, rungs: [{ epochs: 1, trainSize: 500 }, { epochs: 3, trainSize: 1000 }] },
      concurrency: 2,
    }));
    await page.click('#submit');
    await page.waitForURL(/\/sweeps\?id=/);
    await page.locator('#sweep-status').filter({ hasText: 'running' }).waitFor();
    await page.locator('#leaderboard tbody tr').first().waitFor();
    await screenshot(page, 'sweep-queued-desktop');
    // the worker starts only now, so the page sees the sweep grow
    worker = startWorker(t.config);
    await waitForOutput(worker, 'worker started');
    await page.locator('#sweep-status').filter({ hasText: 'completed' }).waitFor({ timeout: 180_000 });
    await page.waitForFunction(() => document.getElementById('curves-chart')?.dataset.points === String(4 * 1 + 2 * 2), undefined, { timeout: 30_000 });

    const rows = await page.locator('#leaderboard tbody tr').evaluateAll((trs) => trs.map((tr) => ({
      status: (tr as HTMLElement).dataset.status, rung: tr.children[3]!.textContent, best: tr.classList.contains('best'),
    })));
    assert.equal(rows.length, 6, 'four trials on rung 0, two promoted');
    assert.ok(rows.every((r) => r.status === 'completed'));
    assert.deepEqual(rows.map((r) => r.rung), ['1', '1', '0', '0', '0', '0'], 'later rungs first');
    assert.ok(rows[0]!.best, 'the best trial leads');
    assert.equal(await page.locator('#curves-chart').getAttribute('data-series'), '6', 'one curve per trial');
    const points = await page.evaluate(() => (window as unknown as { __points: string[] }).__points.map(Number));
    assert.ok(new Set(points).size >= 3, `the curves grew live: ${points.join(',')}`);
    const scatter = page.locator('canvas[data-path="training.eta"]');
    assert.equal(await scatter.getAttribute('data-scale'), 'logarithmic');
    assert.equal(await scatter.getAttribute('data-points'), '6');
    assert.match(await page.locator('#stat-trials').textContent() ?? '', /^6 \/ 6 done/);
    assert.notEqual(await page.locator('#stat-best').textContent(), '–');
    await screenshot(page, 'sweep-desktop');
    await page.setViewportSize({ width: 390, height: 844 });
    await screenshot(page, 'sweep-phone');
    await page.goto(`${base}/sweeps`);
    await page.locator('#sweeps tbody tr').first().waitFor();
    assert.match(await page.locator('#sweeps tbody tr').first().textContent() ?? '', /web halving.*halving.*completed/);
    assert.deepEqual(errors(), []);
  });
});
