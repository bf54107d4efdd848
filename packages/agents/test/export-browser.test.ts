/**
 * An exported Gibbs network in a real browser, as a tfjs user loads it there (issue 12, item 3):
 * a plain page with tfjs's own bundle (`<script src="tf.min.js">`, nothing of Gibbs), served by a
 * plain static file server, calls `tf.loadLayersModel(url)` and predicts; the outputs equal what
 * Gibbs computes in Node for the same raw observations (Debian chromium, headless).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Rng } from '@gibbs/core';
import { initBackend } from '@gibbs/core/backend';
import { collectErrors, launchChromium } from '@gibbs/test-support/browser';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveNetwork } from '../src/checkpoint.ts';
import {
  type ExportSpec,
  gibbsNetwork,
  gibbsOutputs,
  maxAbs,
  maxAbsDiff,
  type NamedOutputs,
  randomBatch,
} from '../src/export.ts';
import { exportCheckpoint } from '../src/export-files.ts';
import type { Algo } from '../src/policy.ts';
import { createLearner } from '../src/selfplay.ts';

const TF_BUNDLE = join(
  dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs/package.json')),
  'dist/tf.min.js',
);
const BATTLE = { view: { height: 13, width: 13, channels: 5 }, features: 24, actions: 21 };
const work = mkdtempSync(join(tmpdir(), 'gibbs-export-browser-'));

const PAGE = `<!doctype html><html><head><meta charset="utf-8">
<script src="/tf.min.js"></script></head><body>stock tfjs</body></html>`;

let server: Server;
let base = '';
let browser: Browser;
let page: Page;
let errors: string[] = [];

beforeAll(async () => {
  await initBackend();
  server = createServer((req, res) => {
    const url = req.url ?? '/';
    if (url === '/') return void res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
    if (url === '/tf.min.js')
      return void res
        .writeHead(200, { 'content-type': 'text/javascript' })
        .end(readFileSync(TF_BUNDLE));
    if (url === '/favicon.ico') return void res.writeHead(204).end();
    const m = /^\/models\/([a-z-]+)\/(model\.json|weights\.bin)$/.exec(url);
    if (!m) return void res.writeHead(404).end();
    res.writeHead(200).end(readFileSync(join(work, m[1], m[2])));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await launchChromium();
  page = await browser.newPage();
  errors = collectErrors(page);
  await page.goto(`${base}/`);
  await page.waitForFunction(() => typeof (window as { tf?: unknown }).tf === 'object');
}, 120_000);

afterAll(async () => {
  await browser?.close();
  server?.close();
  rmSync(work, { recursive: true, force: true });
});

/** A learner with perturbed weights, saved as a checkpoint and exported to work/<name>. */
async function exported(algo: Algo, net: 'mfrl' | 'population', name: string) {
  const small = algo === 'mfq' || algo === 'il' ? { replayCapacity: 2 } : { memoryCapacity: 2 };
  const learner = createLearner(algo, BATTLE, { net, ...small }, new Rng(3));
  const flat = learner.policyParams.flat();
  const rng = new Rng(4);
  for (let i = 0; i < flat.length; i++) flat[i] += (2 * rng.float() - 1) * 0.05;
  learner.policyParams.setFlat(flat);
  const ck = join(work, `${name}-ck`);
  await saveNetwork(ck, learner, learner.policyParams, 'learner');
  const report = await exportCheckpoint(ck, join(work, name));
  const gibbs = gibbsNetwork(report.spec, learner.policyParams.named());
  learner.dispose();
  return { spec: report.spec, gibbs };
}

/** In the page: load the model by URL with stock tfjs (cpu backend) and predict. */
async function predictInBrowser(url: string, inputs: { shape: number[]; data: number[] }[]) {
  return page.evaluate(
    async ({ url, inputs }) => {
      const tf = (window as unknown as { tf: typeof import('@tensorflow/tfjs') }).tf;
      await tf.setBackend('cpu');
      const model = await tf.loadLayersModel(url);
      const xs = inputs.map((x) => tf.tensor(x.data, x.shape));
      const y = model.predict(xs.length === 1 ? xs[0] : xs);
      const ys = Array.isArray(y) ? y : [y];
      const out: Record<string, number[]> = {};
      ys.forEach((t, i) => {
        out[model.outputNames[i]] = Array.from(t.dataSync());
      });
      return { out, inputNames: model.inputNames, version: tf.version.tfjs };
    },
    { url, inputs },
  );
}

function rowsOf(spec: ExportSpec, n: number) {
  const b = randomBatch(spec.shape, n, 17);
  const v = spec.shape.view;
  const inputs = [
    ...(v ? [{ shape: [n, v.height, v.width, v.channels], data: Array.from(b.view) }] : []),
    { shape: [n, spec.shape.features], data: Array.from(b.features) },
    ...(spec.shape.meanAction
      ? [{ shape: [n, spec.shape.actions], data: Array.from(b.mean as Float32Array) }]
      : []),
  ];
  return { b, inputs };
}

describe('tf.loadLayersModel(url) in chromium', () => {
  for (const [algo, net] of [
    ['mfq', 'population'],
    ['mfac', 'mfrl'],
  ] as const)
    it(`${algo} on the ${net} network: the browser's outputs are Gibbs's`, async () => {
      const name = `${algo}-${net}`;
      const { spec, gibbs } = await exported(algo, net, name);
      const { b, inputs } = rowsOf(spec, 32);
      const want = gibbsOutputs(spec, gibbs, b);
      const r = await predictInBrowser(`${base}/models/${name}/model.json`, inputs);
      expect(errors).toEqual([]);
      expect(r.inputNames).toEqual(['view', 'features', 'mean_action']);
      const got: NamedOutputs = {};
      for (const [k, v] of Object.entries(r.out)) got[k] = Float32Array.from(v);
      const d = maxAbsDiff(want, got);
      console.log(
        `export in chromium (tfjs ${r.version}, cpu): ${name} max |browser - gibbs| = ${d.toExponential(2)}`,
      );
      expect(d).toBeLessThanOrEqual(1e-5 * Math.max(1, maxAbs(want)));
      gibbs.dispose();
    }, 60_000);
});
