/**
 * Agent-steps per second of the Gather, Pursuit, Tiger-deer and Gaussian-squeeze worlds, small and large, one
 * thread, uniform random actions, the full step including every live agent's observation. The
 * actions come from a pool of pre-drawn arrays so that drawing them is not timed. An episode that
 * ends is reset (outside the timing).
 */
import { type Environment, Rng } from '@gibbs/core';
import { Gather } from '@gibbs/env/gather';
import { GaussianSqueeze } from '@gibbs/env/gaussian-squeeze';
import { Pursuit } from '@gibbs/env/pursuit';
import { TigerDeer } from '@gibbs/env/tiger-deer';
import { circleSpans, rowOrder, ViewLayer } from '@gibbs/env/view-layer';
import { printTable, type Row, timeMedian, writeResult } from './lib.ts';

interface Case {
  world: string;
  size: string;
  make: () => Environment;
}

const cases: Case[] = [
  { world: 'gather', size: 'small: magent 64x64', make: () => new Gather({ map: 64 }) },
  { world: 'gather', size: 'default: magent 200x200', make: () => new Gather() },
  {
    world: 'gather',
    size: 'large: 1000x1000, 20k foragers, 50k food',
    make: () => new Gather({ map: 1000, placement: 'random', agents: 20_000, food: 50_000 }),
  },
  { world: 'pursuit', size: 'small: 45x45, 25+50', make: () => new Pursuit() },
  {
    world: 'pursuit',
    size: 'large: 1000x1000, 20k+40k',
    make: () => new Pursuit({ map: 1000, predators: 20_000, prey: 40_000 }),
  },
  { world: 'tiger-deer', size: 'small: 45x45, 101+20', make: () => new TigerDeer() },
  {
    world: 'tiger-deer',
    size: 'large: 1000x1000, 50k+10k',
    make: () => new TigerDeer({ map: 1000, deer: 50_000, tigers: 10_000 }),
  },
  {
    world: 'gaussian-squeeze',
    size: 'small: 200 agents',
    make: () => new GaussianSqueeze({ agents: 200 }),
  },
  {
    world: 'gaussian-squeeze',
    size: 'large: 1M agents',
    make: () => new GaussianSqueeze({ agents: 1_000_000, maxSteps: 1000 }),
  },
];

const TARGET_AGENT_STEPS = 3_000_000;
const rows: Row[] = [];
for (const c of cases) {
  const env = c.make();
  const rng = new Rng(7);
  const pool = Array.from({ length: 4 }, () =>
    env.spec.groups.map((g) => {
      const a = new Int32Array(g.capacity);
      for (let i = 0; i < a.length; i++) a[i] = rng.int(g.actions);
      return a;
    }),
  );
  const capacity = env.spec.groups.reduce((s, g) => s + g.capacity, 0);
  const steps = Math.max(10, Math.min(2000, Math.ceil(TARGET_AGENT_STEPS / capacity)));
  let out = env.reset(1);
  // Warm-up (JIT), then the timed steps.
  for (let s = 0; s < Math.min(20, steps); s++) {
    out = env.step(pool[s % 4]);
    if (out.done) out = env.reset(s);
  }
  let agentSteps = 0;
  let ms = 0;
  for (let s = 0; s < steps; s++) {
    let live = 0;
    for (const g of out.groups) for (let i = 0; i < g.alive.length; i++) live += g.alive[i];
    const t0 = performance.now();
    out = env.step(pool[s % 4]);
    ms += performance.now() - t0;
    agentSteps += live;
    if (out.done) out = env.reset(s + 100);
  }
  rows.push({
    world: c.world,
    size: c.size,
    agents: capacity,
    steps,
    'ms/step': ms / steps,
    agent_steps_per_s: Math.round((agentSteps / ms) * 1000),
  });
  console.log(`${c.world} ${c.size}: ${(agentSteps / ms / 1000).toFixed(3)} M agent-steps/s`);
}
printTable('Worlds: agent-steps/s, one thread, random actions, observations included', rows);

// The view copy on its own, side by side: element loop against copyWithin (layer and views in one
// buffer), agents in slot order against row order, 15x15x5 windows (Gather) at scattered
// positions of a 1000 x 1000 map.
const copyRows: Row[] = [];
{
  const W = 1000;
  const n = 20_000;
  const size = 15 * 15 * 5;
  const host = new Float32Array(n * size + ViewLayer.size(W, W, 5, 7));
  const shared = new ViewLayer(W, W, 5, 7, 0, { buffer: host, offset: n * size });
  const own = new ViewLayer(W, W, 5, 7, 0);
  const out = new Float32Array(n * size);
  const rng = new Rng(3);
  const xs = Int32Array.from({ length: n }, () => rng.int(W));
  const ys = Int32Array.from({ length: n }, () => rng.int(W));
  const spans = circleSpans(7);
  const loop = await timeMedian(() => {
    for (let i = 0; i < n; i++) own.window(out, i * size, xs[i], ys[i], spans);
  }, 7);
  const copy = await timeMedian(() => {
    for (let i = 0; i < n; i++) shared.window(host, i * size, xs[i], ys[i], spans);
  }, 7);
  const order = new Int32Array(n);
  const counts = new Int32Array(W + 1);
  const sorted = await timeMedian(() => {
    const m = rowOrder(ys, null, W, counts, order);
    for (let k = 0; k < m; k++) {
      const i = order[k];
      shared.window(host, i * size, xs[i], ys[i], spans);
    }
  }, 7);
  copyRows.push(
    { variant: 'element loop, slot order', 'ns/agent': (loop * 1e6) / n, ratio: 1 },
    { variant: 'copyWithin, slot order', 'ns/agent': (copy * 1e6) / n, ratio: loop / copy },
    { variant: 'copyWithin, row order', 'ns/agent': (sorted * 1e6) / n, ratio: loop / sorted },
  );
}
printTable('15x15x5 view copy, 20k agents on 1000x1000 (ratio: speed-up over the loop)', copyRows);
console.log(`wrote ${writeResult('worlds', { worlds: rows, viewCopy: copyRows })}`);
