/**
 * The browser side of pool-browser.test.ts: a learner's gradient of one batch on this thread and
 * split over a ThreadPool of module Web Workers (each with its own tfjs wasm backend), and a
 * forward pass split the same way. The test calls `window.gibbsTest.poolGradient`.
 */

import { Rng } from '@gibbs/core';
import { configureBackends, initBackend } from '@gibbs/core/backend';
import { allocUpdate, LOCAL, sharedFloat32 } from '../../src/policy.ts';
import { ThreadPool } from '../../src/pool/index.ts';
import { createLearner } from '../../src/selfplay.ts';

async function poolGradient(wasmDir: string) {
  configureBackends({ wasmPaths: wasmDir });
  const backend = await initBackend('wasm');
  const shape = { view: { height: 7, width: 7, channels: 3 }, features: 4, actions: 5 };
  const learner = createLearner(
    'mfq',
    shape,
    { net: 'population', batchSize: 32, replayCapacity: 64 },
    new Rng(3),
  );
  const rng = new Rng(8);
  const u = allocUpdate(learner.memory, 32);
  for (const a of [u.batch.view, u.batch.features, u.next.view, u.next.features])
    for (let i = 0; i < a.length; i++) a[i] = rng.float();
  for (const m of [u.batch.mean, u.next.mean]) m?.fill(0.2);
  for (let k = 0; k < 32; k++) {
    u.action[k] = rng.int(5);
    u.reward[k] = rng.normal();
    u.done[k] = k % 7 === 0 ? 1 : 0;
  }
  const one = await LOCAL.gradient(learner, u, 0.5);
  const pool = await ThreadPool.create(3, { minGradRows: 4, minActRows: 4, wasmPaths: wasmDir });
  await pool.register(learner);
  const split = await pool.gradient(learner, u, 0.5);
  const obs = { n: 32, view: u.batch.view, features: u.batch.features, mean: u.batch.mean };
  const p1 = sharedFloat32(32 * 5);
  const p3 = sharedFloat32(32 * 5);
  learner.policyRows(obs, 0, 32, 1, p1);
  await pool.policy(learner, obs, 1, p3);
  await pool.dispose();
  let gradDiff = 0;
  let scale = 0;
  for (let i = 0; i < one.grad.length; i++) {
    gradDiff = Math.max(gradDiff, Math.abs(split.grad[i] - one.grad[i]));
    scale = Math.max(scale, Math.abs(one.grad[i]));
  }
  let policyDiff = 0;
  for (let i = 0; i < p1.length; i++) policyDiff = Math.max(policyDiff, Math.abs(p1[i] - p3[i]));
  learner.dispose();
  return {
    backend,
    crossOriginIsolated: globalThis.crossOriginIsolated,
    lossOne: one.loss,
    lossSplit: split.loss,
    gradDiff,
    scale,
    policyDiff,
    threads: pool.threads,
  };
}

(window as unknown as { gibbsTest: unknown }).gibbsTest = { poolGradient };
document.body.dataset.ready = 'true';
