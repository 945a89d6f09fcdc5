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

/**
 * Draws a 28×28 MNIST digit on the page's canvas with the mouse, the way a person traces
 * it: each row's runs of ink (≥ threshold) become one pointer stroke across the canvas.
 */
export async function traceDigit(page: Page, selector: string, pixels: Uint8Array, threshold = 128): Promise<number> {
  const box = await page.locator(selector).boundingBox();
  if (!box) throw new Error(`${selector} is not visible`);
  const cell = box.width / 28;
  const at = (col: number, row: number) => [box.x + (col + 0.5) * cell, box.y + (row + 0.5) * cell] as const;
  let strokes = 0;
  for (let row = 0; row < 28; row++) {
    for (let col = 0; col < 28; col++) {
      if (pixels[row * 28 + col]! < threshold) continue;
      let end = col;
      while (end + 1 < 28 && pixels[row * 28 + end + 1]! >= threshold) end++;
      await page.mouse.move(...at(col, row));
      await page.mouse.down();
      await page.mouse.move(...at(end, row), { steps: Math.max(1, end - col) });
      await page.mouse.up();
      strokes++;
      col = end;
    }
  }
  return strokes;
}
