/**
 * The learners' ThreadPool in a real browser (Debian chromium, headless, through playwright-core;
 * the page is served by a vite dev server, cross-origin isolated): module Web Workers with their
 * own tfjs wasm backends give a batch's gradient and a forward pass equal to this thread's.
 */
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { collectErrors, launchChromium } from '@gibbs/test-support/browser';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createViteServer } from 'vitest/node';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = resolve(HERE, '../../..');
const WASM_DIR = `${dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json'))}/dist/`;

let vite: Awaited<ReturnType<typeof createViteServer>>;
let browser: Browser;
let page: Page;
let errors: string[] = [];

beforeAll(async () => {
  vite = await createViteServer({
    root: resolve(HERE, 'browser'),
    configFile: false,
    logLevel: 'error',
    server: {
      host: '127.0.0.1',
      port: 0,
      fs: { allow: [REPO_ROOT] },
      headers: {
        'Cross-Origin-Opener-Policy': 'same-origin',
        'Cross-Origin-Embedder-Policy': 'require-corp',
      },
      hmr: false,
      watch: null,
    },
    optimizeDeps: {
      entries: [resolve(HERE, 'browser/page.ts'), resolve(HERE, '../src/pool/browser-entry.ts')],
    },
    worker: { format: 'es' },
  });
  await vite.listen();
  browser = await launchChromium();
  page = await browser.newPage();
  errors = collectErrors(page);
  const url = vite.resolvedUrls?.local[0];
  if (!url) throw new Error('vite did not report its URL');
  await page.goto(url);
  await page.waitForFunction(() => document.body.dataset.ready === 'true', null, {
    timeout: 90_000,
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await vite?.close();
});

describe('ThreadPool in chromium', () => {
  it('3 threads (2 Web Workers) give the one-thread gradient and policies', async () => {
    const r = await page.evaluate(
      (dir) =>
        (
          window as unknown as {
            gibbsTest: {
              poolGradient(d: string): Promise<{
                backend: string;
                crossOriginIsolated: boolean;
                lossOne: number;
                lossSplit: number;
                gradDiff: number;
                scale: number;
                policyDiff: number;
                threads: number;
              }>;
            };
          }
        ).gibbsTest.poolGradient(dir),
      `/@fs${WASM_DIR}`,
    );
    expect(errors).toEqual([]);
    expect(r.crossOriginIsolated).toBe(true);
    expect(r.backend).toBe('wasm');
    expect(r.threads).toBe(3);
    expect(Number.isFinite(r.lossOne)).toBe(true);
    expect(Math.abs(r.lossSplit - r.lossOne)).toBeLessThan(1e-5 * (1 + Math.abs(r.lossOne)));
    expect(r.scale).toBeGreaterThan(0);
    expect(r.gradDiff).toBeLessThan(1e-5 * (1 + r.scale));
    expect(r.policyDiff).toBeLessThan(1e-6);
  }, 120_000);
});
