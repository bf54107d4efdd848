/**
 * The browser side of browser.test.ts: runs the walkers fixture through startSimulation in a Web
 * Worker and in the page's thread, and checks tfjs backends (webgpu, wasm) against cpu. The test
 * calls the functions on `window.gibbsTest` and compares with Node.
 */
import * as tf from '@tensorflow/tfjs';
import { configureBackends, initBackend } from '../../src/backend.ts';
import { metricLine, type RunStatus } from '../../src/index.ts';
import { startSimulation } from '../../src/runtime/index.ts';

interface RunReply {
  lines: string[];
  episodes: number[];
  status: RunStatus;
  frames: number;
  crossOriginIsolated: boolean;
}

async function runWalkers(opts: {
  module: string;
  worker: boolean;
  seed: number;
  steps: number;
  params: Record<string, unknown>;
}): Promise<RunReply> {
  const h = await startSimulation({
    experiment: opts.module,
    worker: opts.worker,
    seed: opts.seed,
    steps: opts.steps,
    params: opts.params,
  });
  const lines: string[] = [];
  const episodes: number[] = [];
  let frames = 0;
  h.metrics$.subscribe((batch) => {
    for (const r of batch) lines.push(metricLine(r));
  });
  h.episodes$.subscribe((e) => episodes.push(e.step));
  const sub = h.frames$.subscribe((f) => {
    if (f.cells.length !== f.width * f.height) throw new Error('bad frame');
    frames++;
  });
  await h.start();
  const status = await h.done;
  sub.unsubscribe();
  await h.dispose();
  return { lines, episodes, status, frames, crossOriginIsolated: globalThis.crossOriginIsolated };
}

/** A run whose simulation throws (failAt) or whose worker dies (crashAt): what the page sees. */
async function runFailing(opts: { module: string; params: Record<string, unknown> }): Promise<{
  status: RunStatus;
  errors: { message: string; step: number; stack: string | null }[];
}> {
  const h = await startSimulation({
    experiment: opts.module,
    worker: true,
    seed: 1,
    params: opts.params,
  });
  const errors: { message: string; step: number; stack: string | null }[] = [];
  h.errors$.subscribe((e) => errors.push({ message: e.message, step: e.step, stack: e.stack }));
  await h.start();
  const status = await h.done;
  await h.dispose();
  return { status, errors };
}

/** Deterministic inputs, the same on every backend. */
function data(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

async function compute(): Promise<{ matmul: number[]; conv: number[] }> {
  const a = tf.tensor2d(data(64 * 48, 1), [64, 48]);
  const b = tf.tensor2d(data(48 * 32, 2), [48, 32]);
  const x = tf.tensor4d(data(2 * 16 * 16 * 3, 3), [2, 16, 16, 3]);
  const w = tf.tensor4d(data(3 * 3 * 3 * 8, 4), [3, 3, 3, 8]);
  const mm = tf.matMul(a, b);
  const cv = tf.relu(tf.conv2d(x, w, 1, 'same'));
  const out = { matmul: Array.from(await mm.data()), conv: Array.from(await cv.data()) };
  tf.dispose([a, b, x, w, mm, cv]);
  return out;
}

async function backends(wasmDir: string): Promise<{
  auto: string;
  results: Record<string, { matmul: number[]; conv: number[] }>;
  forcedError: string;
}> {
  configureBackends({ wasmPaths: wasmDir });
  const auto = await initBackend();
  const results: Record<string, { matmul: number[]; conv: number[] }> = {};
  for (const b of ['webgpu', 'wasm', 'cpu']) {
    await initBackend(b);
    results[b] = await compute();
  }
  let forcedError = '';
  try {
    await initBackend('tpu');
  } catch (err) {
    forcedError = (err as Error).message;
  }
  return { auto, results, forcedError };
}

(window as unknown as { gibbsTest: unknown }).gibbsTest = { runWalkers, runFailing, backends };
document.body.dataset.ready = 'true';
