/**
 * `pnpm gibbs run tiger-deer [--map 45] [--policy hunt|random]`
 *
 * MAgent's tiger-deer (packages/env/src/tiger-deer.ts) under fixed policies:
 *   random  uniform actions for both groups;
 *   hunt    a tiger attacks a deer in one of its 4 neighbours if there is one, else steps towards
 *           the nearest deer in its 9 x 9 view; a deer steps away from a tiger in its 3 x 3 view;
 *           otherwise, and with probability `epsilon`, a uniform random action.
 * Joint attacks (+1 to each tiger) happen when two hunting tigers reach the same deer.
 * Logged values: hunts, hunts_episode, deer_killed_episode, tigers_starved_episode; per group:
 * alive, reward_mean, reward_sum, episode_reward.
 */
import {
  defineExperiment,
  EpisodeLoop,
  loopSimulation,
  type Policy,
  Rng,
  randomPolicy,
  type StepOutput,
} from '@gibbs/core';
import {
  DEER,
  TIGER_DEER_ATTACKS,
  TIGER_DEER_MOVES,
  TIGERS,
  TigerDeer,
} from '@gibbs/env/tiger-deer';
import { z } from 'zod';

const RADIUS = [1, 4];
const N_ACTIONS = [5, 9];
const C_DEER = 1;
const C_TIGER = 3;

/** The move (1..4) that best brings (dx, dy) towards 0 (sign +1) or away from it (sign -1). */
function bestMove(dx: number, dy: number, sign: number): number {
  let best = 0;
  let bestD = sign * (dx * dx + dy * dy);
  for (let m = 1; m < 5; m++) {
    const ex = dx - TIGER_DEER_MOVES[2 * m];
    const ey = dy - TIGER_DEER_MOVES[2 * m + 1];
    const d = sign * (ex * ex + ey * ey);
    if (d < bestD) {
      bestD = d;
      best = m;
    }
  }
  return best;
}

export function hunt(out: StepOutput, actions: Int32Array[], rng: Rng, epsilon: number): void {
  for (const g of [DEER, TIGERS]) {
    const o = out.groups[g];
    const r = RADIUS[g];
    const side = 2 * r + 1;
    const size = side * side * 5;
    const seek = g === TIGERS ? C_DEER : C_TIGER;
    for (let i = 0; i < actions[g].length; i++) {
      if (!o.alive[i] || rng.float() < epsilon) {
        actions[g][i] = rng.int(N_ACTIONS[g]);
        continue;
      }
      const at = (dx: number, dy: number) =>
        o.view[i * size + ((dy + r) * side + dx + r) * 5 + seek];
      let act = -1;
      if (g === TIGERS)
        for (let k = 0; k < 4 && act < 0; k++)
          if (at(TIGER_DEER_ATTACKS[2 * k], TIGER_DEER_ATTACKS[2 * k + 1]) > 0) act = 5 + k;
      if (act < 0) {
        let best = Number.POSITIVE_INFINITY;
        for (let dy = -r; dy <= r; dy++)
          for (let dx = -r; dx <= r; dx++) {
            const d = dx * dx + dy * dy;
            if (d > 0 && d < best && at(dx, dy) > 0) {
              best = d;
              act = bestMove(dx, dy, g === TIGERS ? 1 : -1);
            }
          }
      }
      actions[g][i] = act >= 0 ? act : rng.int(5);
    }
  }
}

export default defineExperiment({
  name: 'tiger-deer',
  description:
    "MAgent's tiger-deer: tigers hunt deer in pairs or starve (random or hunting policies)",
  params: z.object({
    map: z.number().int().min(6).max(4096).default(45),
    deer: z.number().int().positive().optional(),
    tigers: z.number().int().positive().optional(),
    maxSteps: z.number().int().positive().default(500).describe('steps per episode'),
    policy: z.enum(['hunt', 'random']).default('hunt'),
    epsilon: z.number().min(0).max(1).default(0.1).describe('random-action rate of hunt'),
  }),
  defaultSteps: 500,
  create: ({ params: p, seed }) => {
    const env = new TigerDeer({ map: p.map, deer: p.deer, tigers: p.tigers, maxSteps: p.maxSteps });
    const loop = new EpisodeLoop(env, seed);
    const rng = new Rng(seed ^ 0x7d3e);
    const policy: Policy =
      p.policy === 'random'
        ? randomPolicy(rng, N_ACTIONS)
        : (out, a) => hunt(out, a, rng, p.epsilon);
    return loopSimulation(loop, policy, () => ({
      hunts: loop.out.info.hunts,
      hunts_episode: loop.episodeTotal('hunts'),
      deer_killed_episode: loop.episodeTotal('deer.killed'),
      tigers_starved_episode: loop.episodeTotal('tigers.starved'),
    }));
  },
});
