// Headless Chromium for the web page tests: Debian's /usr/bin/chromium driven by
// playwright-core (which never downloads a browser), a fresh profile per launch, and
// screenshots of each page at desktop and phone size under test-artifacts/web/.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** `false` when the browser is there, else why the browser tests skip (for node:test's skip). */
export const skipWithoutChromium: string | false = existsSync(CHROMIUM)
  ? false
  : `no browser at ${CHROMIUM}: install Debian's chromium (apt-get install -y chromium; .ci/run does) to run the web page tests`;

export const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'web');

export const DESKTOP = { width: 1280, height: 900 };
export const PHONE = { width: 390, height: 844 };

export type TestBrowser = {
  context: BrowserContext;
  /** A new tab at desktop (1280×900) or phone (390×844) size. */
  newPage(size?: 'desktop' | 'phone'): Promise<Page>;
  close(): Promise<void>;
};

/** Chromium with a throwaway profile (--user-data-dir): nothing leaks between runs, nothing goes online. */
export async function launchBrowser(): Promise<TestBrowser> {
  const profile = await mkdtemp(join(tmpdir(), 'nndl-chromium-'));
  // playwright passes the profile as --user-data-dir (it refuses the flag in args)
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: DESKTOP,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
  await mkdir(ARTIFACTS, { recursive: true });
  return {
    context,
    async newPage(size = 'desktop') {
      const page = await context.newPage();
      if (size === 'phone') await page.setViewportSize(PHONE);
      return page;
    },
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** Listens on an ephemeral port of 127.0.0.1; returns the base URL. */
export async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  return `http://127.0.0.1:${port}`;
}

/** Fails the test on any uncaught error or console error of the page (a broken script). */
export function watchErrors(page: Page): () => string[] {
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console: ${msg.text()} ${msg.location().url}`);
  });
  return () => errors;
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

type Point = readonly [number, number];

/** One stroke with the mouse: press, move in steps, release. */
async function mouseStroke(page: Page, from: Point, to: Point, steps: number): Promise<void> {
  await page.mouse.move(...from);
  await page.mouse.down();
  await page.mouse.move(...to, { steps });
  await page.mouse.up();
}

/**
 * Draws a 28×28 MNIST digit on the page's canvas the way a person traces it: each row's
 * runs of ink (≥ threshold) become one stroke across the canvas — with the mouse, or with
 * a finger (real touch input through the DevTools protocol, so the page gets touch
 * pointer events as on a phone).
 */
export async function traceDigit(
  page: Page, selector: string, pixels: Uint8Array, opts: { threshold?: number; input?: 'mouse' | 'touch' } = {},
): Promise<number> {
  const { threshold = 128, input = 'mouse' } = opts;
  const box = await page.locator(selector).boundingBox();
  if (!box) throw new Error(`${selector} is not visible`);
  const cell = box.width / 28;
  const at = (col: number, row: number): Point => [box.x + (col + 0.5) * cell, box.y + (row + 0.5) * cell];
  const cdp = input === 'touch' ? await page.context().newCDPSession(page) : null;
  const touch = async (type: 'touchStart' | 'touchMove' | 'touchEnd', p?: Point) =>
    cdp!.send('Input.dispatchTouchEvent', { type, touchPoints: p ? [{ x: p[0], y: p[1] }] : [] });
  let strokes = 0;
  for (let row = 0; row < 28; row++) {
    for (let col = 0; col < 28; col++) {
      if (pixels[row * 28 + col]! < threshold) continue;
      let end = col;
      while (end + 1 < 28 && pixels[row * 28 + end + 1]! >= threshold) end++;
      const steps = Math.max(1, end - col);
      if (cdp) {
        await touch('touchStart', at(col, row));
        for (let s = 1; s <= steps; s++) await touch('touchMove', at(col + ((end - col) * s) / steps, row));
        await touch('touchEnd');
      } else {
        await mouseStroke(page, at(col, row), at(end, row), steps);
      }
      strokes++;
      col = end;
    }
  }
  await cdp?.detach();
  return strokes;
}
