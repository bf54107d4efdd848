/**
 * The Ising lattice: environment steps, MF-Q (act + step + learn) and MCMC sweeps, in agent-steps
 * (site updates) per second, on a small (64x64) and a large (1024x1024) lattice, side by side.
 */
import { IsingMfq } from '@gibbs/agents/ising-mfq';
import { Rng } from '@gibbs/core';
import { IsingEnv } from '@gibbs/env/ising';
import { IsingMcmc } from '@gibbs/env/ising-mcmc';
import { printTable, type Row, timeMedian, writeResult } from './lib.ts';

const rows: Row[] = [];
for (const L of [64, 1024]) {
  const N = L * L;
  const reps = L >= 1024 ? 5 : 50;
  const env = new IsingEnv({ size: L, init: 'random', maxSteps: 2 ** 31 - 1 });
  let out = env.reset(0);
  const rng = new Rng(1);
  const actions = [new Int32Array(N)];
  for (let i = 0; i < N; i++) actions[0][i] = rng.u32() & 1;
  const envMs = await timeMedian(() => env.step(actions), reps);

  const agent = new IsingMfq({ size: L, seed: 2 });
  const mfqMs = await timeMedian(() => {
    agent.act(out.groups[0].features, 1.0, actions[0]);
    out = env.step(actions);
    agent.learn(out.groups[0].features, out.groups[0].reward);
  }, reps);

  const heat = new IsingMcmc({ size: L, seed: 3 });
  const heatMs = await timeMedian(() => heat.sweep(1.0), reps);
  const metro = new IsingMcmc({ size: L, seed: 4, method: 'metropolis' });
  const metroMs = await timeMedian(() => metro.sweep(1.0), reps);

  const rate = (ms: number) => N / ms / 1e3; // M agent-steps/s
  rows.push(
    {
      lattice: `${L}x${L}`,
      what: 'env.step (random actions)',
      ms: envMs,
      'M agent-steps/s': rate(envMs),
    },
    {
      lattice: `${L}x${L}`,
      what: 'MF-Q act + step + learn',
      ms: mfqMs,
      'M agent-steps/s': rate(mfqMs),
    },
    {
      lattice: `${L}x${L}`,
      what: 'MCMC heat-bath sweep',
      ms: heatMs,
      'M agent-steps/s': rate(heatMs),
    },
    {
      lattice: `${L}x${L}`,
      what: 'MCMC Metropolis sweep',
      ms: metroMs,
      'M agent-steps/s': rate(metroMs),
    },
  );
}
printTable('Ising lattice throughput (one step = every site once)', rows);
console.log(`wrote ${writeResult('ising', rows)}`);
