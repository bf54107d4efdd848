/**
 * `pnpm bench mfrl`: mean-field MARL speed on the tfjs backend initBackend picks (wasm in Node).
 *
 * 1. Training agent-steps/s on Battle (acting + learning, MF-Q self-play) at 2x64, 2x1k and 2x10k
 *    agents: one short round of `steps` steps (both groups act: one forward pass per group), then
 *    the learner's training round (replay ratio 1, capped here at 50 batches of 128).
 * 2. The Q-network's forward+backward rate (one Adam step on a batch, FLOPs counted as 3x the
 *    forward pass) next to a plain 512x512 matmul's rate, same backend, same run: the issue asks
 *    for at least half. And one dense layer's gradient with explicit transposes (ours) against
 *    tf.matMul's own gradient (transpose flags), which TOOLCHAIN.md measured ~8x slower on wasm.
 */
import {
  createLearner,
  createPlayer,
  forwardFlops,
  groupShape,
  lossAndGradient,
  MFQ,
  matMul,
  type QNetwork,
  SelfPlay,
} from '@gibbs/agents';
import { tf } from '@gibbs/agents/tf';
import { Rng } from '@gibbs/core';
import { initBackend } from '@gibbs/core/backend';
import { environments } from '@gibbs/env';
import { printTable, type Row, timeMedian, writeResult } from './lib.ts';

const backend = await initBackend(process.env.GIBBS_BACKEND);
const quick = process.argv.includes('--quick');

// ---- 1. training agent-steps/s -------------------------------------------------------------
const sizes = quick
  ? [{ n: 64, steps: 10 }]
  : [
      { n: 64, steps: 40 },
      { n: 1024, steps: 6 },
      { n: 10240, steps: 2 },
    ];
const training: Row[] = [];
for (const { n, steps } of sizes) {
  const side = Math.ceil(Math.sqrt(n));
  const map = Math.ceil(side / 0.2) + 2;
  const entry = environments.battle;
  const env = entry.create(entry.config.parse({ map, agents: n, maxSteps: steps }));
  const shape = groupShape(env, 0);
  const rng = new Rng(1);
  // The round's training is capped at 50 batches of 128 so that the largest size stays short.
  const cfg = { replayCapacity: 1 << 15, learningStarts: 1, maxUpdatesPerRound: 50 };
  const learner = createLearner('mfq', shape, cfg, rng.fork()) as MFQ;
  const opponent = createPlayer('mfq', shape, cfg, rng.fork());
  const sp = new SelfPlay(
    env,
    learner,
    opponent,
    { rounds: 1, opponentTau: 0.01, learnerGroup: 0, train: true, evalTemperature: 0.1 },
    1,
  );
  // Acting: all steps but the last; the last step also runs the round's training.
  const t0 = performance.now();
  for (let s = 0; s < steps - 1; s++) await sp.advance();
  const t1 = performance.now();
  await sp.advance();
  const t2 = performance.now();
  const m = sp.metrics();
  const actMs = (t1 - t0) / (steps - 1);
  const trainMs = t2 - t1 - actMs;
  const agentSteps = 2 * n * steps;
  training.push({
    agents: `2x${n}`,
    map: `${map}x${map}`,
    steps,
    'act ms/step': actMs,
    'agent-steps/s (acting)': (2 * n * 1000) / actMs,
    updates: m.values.updates ?? 0,
    'train ms': trainMs,
    'agent-steps/s (acting+learning)': (agentSteps * 1000) / (t2 - t0),
  });
  sp.dispose();
  (env as { dispose?: () => void }).dispose?.();
}
printTable(`Battle MF-Q self-play training (${backend})`, training);

// ---- 2. Q-network GFLOP/s vs a plain matmul -------------------------------------------------
const shape = {
  view: { height: 13, width: 13, channels: 5 },
  features: 24,
  actions: 21,
  meanAction: true,
};
const B = 256;
const net = new MFQ(
  { view: shape.view, features: shape.features, actions: shape.actions },
  { replayCapacity: 2 },
  new Rng(2),
);
const obs = {
  n: B,
  view: Float32Array.from({ length: B * 845 }, () => Math.random()),
  features: Float32Array.from({ length: B * 24 }, () => Math.random()),
  mean: new Float32Array(B * 21).fill(1 / 21),
};
const q: QNetwork = net.online;
const reps = quick ? 3 : 8;
const stepMs = await timeMedian(() => {
  const g = lossAndGradient(
    q.params.vars,
    () => tf.mean(tf.square(q.apply(q.inputs(obs)))) as tf.Scalar,
  );
  net.optimizer.stepFlat(g.grad, 10);
}, reps);
const fwdMs = await timeMedian(() => {
  const t = tf.tidy(() => q.apply(q.inputs(obs)));
  t.dataSync();
  t.dispose();
}, reps);
const a = tf.randomNormal([512, 512]) as tf.Tensor2D;
const mmMs = await timeMedian(() => tf.tidy(() => tf.matMul(a, a).dataSync()), reps * 2);
const flops = forwardFlops(shape);
const mmG = (2 * 512 ** 3) / mmMs / 1e6;
const stepG = (3 * flops * B) / stepMs / 1e6;
const fwdG = (flops * B) / fwdMs / 1e6;
// One dense layer 2592 -> 256 (the view dense of the torso), gradient both ways.
const x = tf.randomNormal([B, 2592]) as tf.Tensor2D;
const w = tf.randomNormal([2592, 256]) as tf.Tensor2D;
const gradOurs = tf.grads((p: tf.Tensor, r: tf.Tensor) =>
  tf.sum(matMul(p as tf.Tensor2D, r as tf.Tensor2D)),
);
const gradFlags = tf.grads((p: tf.Tensor, r: tf.Tensor) =>
  tf.sum(tf.matMul(p as tf.Tensor2D, r as tf.Tensor2D)),
);
const oursMs = await timeMedian(
  () => tf.tidy(() => gradOurs([x, w]).map((t) => t.dataSync())),
  reps,
);
const flagsMs = await timeMedian(
  () => tf.tidy(() => gradFlags([x, w]).map((t) => t.dataSync())),
  reps,
);
const rates: Row[] = [
  { what: 'plain matmul 512x512', ms: mmMs, 'GFLOP/s': mmG, 'vs matmul': 1 },
  { what: `Q-net forward (batch ${B})`, ms: fwdMs, 'GFLOP/s': fwdG, 'vs matmul': fwdG / mmG },
  {
    what: `Q-net forward+backward+Adam (batch ${B})`,
    ms: stepMs,
    'GFLOP/s': stepG,
    'vs matmul': stepG / mmG,
  },
  {
    what: 'dense 2592x256 grad, explicit transposes',
    ms: oursMs,
    'GFLOP/s': (3 * 2 * B * 2592 * 256) / oursMs / 1e6,
    'vs matmul': (3 * 2 * B * 2592 * 256) / oursMs / 1e6 / mmG,
  },
  {
    what: 'dense 2592x256 grad, matMul transpose flags',
    ms: flagsMs,
    'GFLOP/s': (3 * 2 * B * 2592 * 256) / flagsMs / 1e6,
    'vs matmul': (3 * 2 * B * 2592 * 256) / flagsMs / 1e6 / mmG,
  },
];
printTable(
  `Q-network rate vs plain matmul (${backend}; forward ${(flops / 1e6).toFixed(2)} MFLOP per agent)`,
  rates,
);
net.dispose();
const path = writeResult('mfrl', { backend, training, rates, forwardMflopPerAgent: flops / 1e6 });
console.log(`wrote ${path}`);
