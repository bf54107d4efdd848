/**
 * Battle (its world, observation kernels and rewards) in a browser's Web Worker, through core's
 * runtime, gives the same metrics as in a Node worker (Debian chromium, headless, through
 * playwright-core; the page is served by a vite dev server).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { metricLine, type RunStatus } from '@gibbs/core';
import { startSimulation } from '@gibbs/core/runtime';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createViteServer } from 'vitest/node';
import { experimentUrl } from './index.ts';

const HERE = import.meta.dirname;
const BATTLE = fileURLToPath(experimentUrl('battle'));

let vite: Awaited<ReturnType<typeof createViteServer>>;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(executablePath)) {
    throw new Error(
      `no chromium at ${executablePath}: install Debian's (apt-get install -y chromium) or set CHROMIUM_PATH`,
    );
  }
  vite = await createViteServer({
    root: resolve(HERE, 'test-page'),
    configFile: false,
    logLevel: 'error',
    server: { host: '127.0.0.1', port: 0, fs: { allow: [resolve(HERE, '..')] }, hmr: false },
    // Scan the page and the experiment up front: a dependency found later reloads the page.
    optimizeDeps: { entries: [resolve(HERE, 'test-page/page.ts'), BATTLE] },
    worker: { format: 'es' },
  });
  await vite.listen();
  browser = await chromium.launch({
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--no-first-run', '--disable-background-networking'],
  });
  page = await browser.newPage();
  page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(`console: ${m.text()}`);
  });
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

describe('battle in chromium', () => {
  it('a Web Worker gives the metrics of a Node worker, line for line', async () => {
    const params = { map: 40, maxSteps: 50 };
    const opts = { seed: 9, steps: 120, params };
    const inPage = await page.evaluate(
      (o) =>
        (
          window as unknown as {
            gibbsTest: { run(o: unknown): Promise<{ lines: string[]; status: RunStatus }> };
          }
        ).gibbsTest.run(o),
      { ...opts, module: `/@fs${BATTLE}` },
    );
    expect(inPage.status.state).toBe('finished');
    const h = await startSimulation({ experiment: BATTLE, worker: true, ...opts });
    const node: string[] = [];
    h.metrics$.subscribe((b) => {
      for (const r of b) node.push(metricLine(r));
    });
    await h.start();
    await h.done;
    await h.dispose();
    expect(node).toHaveLength(120);
    expect(inPage.lines).toEqual(node);
    expect(pageErrors).toEqual([]);
  });
});
