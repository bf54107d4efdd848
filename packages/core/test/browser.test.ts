/**
 * The runtime and the backends in a real browser (Debian chromium, headless, driven by
 * playwright-core; the page is served by a vite dev server, cross-origin isolated):
 *   - the walkers fixture gives the same metrics in a Web Worker, in the page's thread and in Node;
 *   - tfjs picks webgpu (SwiftShader's adapter) by itself, and webgpu and wasm agree with cpu on a
 *     matmul and a conv2d.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createViteServer } from 'vitest/node';
import { metricLine, type RunStatus } from '../src/index.ts';
import walkers from './fixtures/walkers.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = resolve(HERE, '../../..');
const FIXTURE = resolve(HERE, 'fixtures/walkers.ts');
const WASM_DIR = `${dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json'))}/dist/`;

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--enable-unsafe-webgpu',
  '--enable-unsafe-swiftshader',
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
];

type Vite = Awaited<ReturnType<typeof createViteServer>>;
let vite: Vite;
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
      // Scan everything the page and the worker import up front, so that no dependency found
      // later reloads the page mid-test.
      entries: [
        resolve(HERE, 'browser/page.ts'),
        FIXTURE,
        resolve(REPO_ROOT, 'packages/core/src/runtime/browser-worker.ts'),
      ],
    },
    worker: { format: 'es' },
  });
  await vite.listen();
  browser = await chromium.launch({
    executablePath,
    headless: true,
    args: CHROMIUM_ARGS,
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

interface RunReply {
  lines: string[];
  episodes: number[];
  status: RunStatus;
  frames: number;
  crossOriginIsolated: boolean;
}

function runInPage(worker: boolean, seed: number, steps: number, params: Record<string, unknown>) {
  const module = FIXTURE;
  return page.evaluate(
    (o) =>
      (
        window as unknown as { gibbsTest: { runWalkers(o: unknown): Promise<RunReply> } }
      ).gibbsTest.runWalkers(o),
    { module: `/@fs${module}`, worker, seed, steps, params },
  );
}

describe('in chromium', () => {
  it('a Web Worker, the page thread and Node give identical metrics', async () => {
    const params = { agents: 40, episodeLength: 30 };
    const [inWorker, inPage] = [
      await runInPage(true, 21, 200, params),
      await runInPage(false, 21, 200, params),
    ];
    expect(pageErrors).toEqual([]);
    expect(inWorker.crossOriginIsolated).toBe(true);
    expect(inWorker.status.state).toBe('finished');
    expect(inWorker.lines).toHaveLength(200);
    expect(inWorker.frames).toBeGreaterThan(0);
    expect(inPage.lines).toEqual(inWorker.lines);
    expect(inWorker.episodes).toEqual([30, 60, 90, 120, 150, 180]);
    const sim = await walkers.create({ params: walkers.params.parse(params), seed: 21 });
    const node: string[] = [];
    for (let s = 0; s < 200; s++) {
      sim.advance();
      node.push(metricLine(sim.metrics()));
    }
    expect(inWorker.lines).toEqual(node);
  });

  it('errors in a Web Worker reach errors$ with step and stack; a dead worker fails the run', async () => {
    type Failing = {
      status: RunStatus;
      errors: { message: string; step: number; stack: string | null }[];
    };
    const run = (params: Record<string, unknown>) =>
      page.evaluate(
        (o) =>
          (
            window as unknown as { gibbsTest: { runFailing(o: unknown): Promise<Failing> } }
          ).gibbsTest.runFailing(o),
        { module: `/@fs${FIXTURE}`, params },
      );
    const thrown = await run({ failAt: 5 });
    expect(thrown.status.state).toBe('failed');
    expect(thrown.errors).toHaveLength(1);
    expect(thrown.errors[0].step).toBe(5);
    expect(thrown.errors[0].message).toMatch(/failAt reached at step 5/);
    expect(thrown.errors[0].stack).toMatch(/advance/);
    const crashed = await run({ crashAt: 3 });
    expect(crashed.status.state).toBe('failed');
    expect(crashed.errors[0].message).toMatch(/crashAt reached/);
    pageErrors.length = 0; // the crash is reported by the browser too
  });

  it('picks webgpu itself; webgpu and wasm agree with cpu on matmul and conv2d', async () => {
    const r = await page.evaluate(
      (dir) =>
        (
          window as unknown as {
            gibbsTest: {
              backends(dir: string): Promise<{
                auto: string;
                results: Record<string, { matmul: number[]; conv: number[] }>;
                forcedError: string;
              }>;
            };
          }
        ).gibbsTest.backends(dir),
      `/@fs${WASM_DIR}`,
    );
    expect(r.auto).toBe('webgpu');
    const cpu = r.results.cpu;
    expect(cpu.matmul).toHaveLength(64 * 32);
    expect(cpu.conv).toHaveLength(2 * 16 * 16 * 8);
    // Reference values by hand from the page's inputs: matmul entry (5, 7) and conv output
    // (batch 1, row 4, column 9, channel 2) with 'same' zero padding, before relu.
    const a = data(64 * 48, 1);
    const bm = data(48 * 32, 2);
    let mm = 0;
    for (let k = 0; k < 48; k++) mm += a[5 * 48 + k] * bm[k * 32 + 7];
    expect(cpu.matmul[5 * 32 + 7]).toBeCloseTo(mm, 4);
    const x = data(2 * 16 * 16 * 3, 3);
    const w = data(3 * 3 * 3 * 8, 4);
    let cv = 0;
    for (let dy = -1; dy <= 1; dy++)
      for (let dx = -1; dx <= 1; dx++)
        for (let c = 0; c < 3; c++) {
          const yy = 4 + dy;
          const xx = 9 + dx;
          if (yy < 0 || yy >= 16 || xx < 0 || xx >= 16) continue;
          cv += x[((1 * 16 + yy) * 16 + xx) * 3 + c] * w[(((dy + 1) * 3 + dx + 1) * 3 + c) * 8 + 2];
        }
    expect(cpu.conv[((1 * 16 + 4) * 16 + 9) * 8 + 2]).toBeCloseTo(Math.max(0, cv), 4);
    for (const b of ['webgpu', 'wasm']) {
      const got = r.results[b];
      for (const k of ['matmul', 'conv'] as const) {
        let worst = 0;
        for (let i = 0; i < cpu[k].length; i++)
          worst = Math.max(worst, Math.abs(got[k][i] - cpu[k][i]) / (1 + Math.abs(cpu[k][i])));
        expect(worst, `${b} ${k}`).toBeLessThan(1e-4);
      }
    }
    expect(r.forcedError).toMatch(/backend: got "tpu", expected one of webgpu, webgl, wasm, cpu/);
  });
});

/** The page's deterministic inputs (page.ts), as float32. */
function data(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}
