/**
 * An experiment module for the Coins world: `pnpm gibbs run ./examples/custom-env/experiment.ts`.
 * Walkers step towards the nearest coin in their 5 x 5 view (or at random when none is in sight, or
 * always with `--policy random`). Episode e is played under seed + e, so the metrics are a pure
 * function of the parameters and the seed.
 */
import { defineExperiment, type MetricRecord, Rng } from '@gibbs/core';
import { z } from 'zod';
import { Coins } from './coins.ts';

const R = 2;
const SIDE = 5;
const STEP_TOWARDS = (dx: number, dy: number): number =>
  Math.abs(dx) >= Math.abs(dy) ? (dx > 0 ? 2 : 4) : dy > 0 ? 3 : 1; // E, W, S, N

export default defineExperiment({
  name: 'coins',
  description: 'walkers pick up coins to keep their energy up (example of a custom world)',
  params: z.object({
    walkers: z.number().int().positive().default(8),
    size: z.number().int().min(3).max(1024).default(16).describe('grid side'),
    coins: z.number().int().nonnegative().default(12),
    policy: z.enum(['greedy', 'random']).default('greedy'),
  }),
  defaultSteps: 400,
  create: ({ params: p, seed }) => {
    const env = new Coins({ width: p.size, height: p.size, walkers: p.walkers, coins: p.coins });
    const rng = new Rng(seed + 1);
    const actions = [new Int32Array(p.walkers)];
    let out = env.reset(seed);
    let episode = 0;
    let step = 0;
    let coins = 0;
    return {
      advance() {
        if (out.done) out = env.reset(seed + ++episode);
        const o = out.groups[0];
        for (let i = 0; i < p.walkers; i++) {
          let best = 99;
          let act = rng.int(5);
          if (p.policy === 'greedy')
            for (let dy = -R; dy <= R; dy++)
              for (let dx = -R; dx <= R; dx++) {
                const d = Math.abs(dx) + Math.abs(dy);
                const coin = o.view[i * SIDE * SIDE * 3 + ((dy + R) * SIDE + dx + R) * 3 + 1];
                if (coin > 0 && d > 0 && d < best) {
                  best = d;
                  act = STEP_TOWARDS(dx, dy);
                }
              }
          actions[0][i] = act;
        }
        out = env.step(actions);
        step++;
        coins += out.info.coins;
      },
      metrics(): MetricRecord {
        const o = out.groups[0];
        let alive = 0;
        let reward = 0;
        for (let i = 0; i < p.walkers; i++) {
          alive += o.alive[i];
          reward += o.reward[i];
        }
        return {
          step,
          episode,
          values: { coins_total: coins, coins: out.info.coins, deaths: out.info.deaths },
          groups: { walkers: { alive, reward_sum: reward } },
        };
      },
      frame: () => env.render(),
    };
  },
});
