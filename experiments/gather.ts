/**
 * `pnpm gibbs run gather [--map 64] [--policy forage|random] [--placement magent|random]`
 *
 * MAgent2's gather world (packages/env/src/gather.ts) played by a fixed policy:
 *   random  uniform over the 33 actions;
 *   forage  attack food in a neighbouring cell if there is any; else step (within radius 3)
 *           towards the nearest food cell in the 15 x 15 view, stopping next to it; else a random
 *           move. With probability `epsilon` a uniform random action instead.
 * Logged values: food_left, food_eaten (this step) and food_eaten_episode, attacks, kills,
 * starved; per group: alive, reward_mean, reward_sum, episode_reward.
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
import { GATHER_ATTACKS, GATHER_MOVES, GATHER_STAY, Gather } from '@gibbs/env/gather';
import { z } from 'zod';

const R = 7;
const SIDE = 2 * R + 1;
const VIEW = SIDE * SIDE * 5;
const FOOD = 3;
const N_MOVES = GATHER_MOVES.length / 2;

/** Fill actions for the forage policy (no allocation: scans each live agent's view). */
export function forage(out: StepOutput, actions: Int32Array, rng: Rng, epsilon: number): void {
  const o = out.groups[0];
  for (let i = 0; i < actions.length; i++) {
    if (!o.alive[i]) {
      actions[i] = GATHER_STAY;
      continue;
    }
    if (rng.float() < epsilon) {
      actions[i] = rng.int(N_MOVES + 4);
      continue;
    }
    const base = i * VIEW;
    const food = (dx: number, dy: number) => o.view[base + ((dy + R) * SIDE + dx + R) * 5 + FOOD];
    let act = -1;
    for (let k = 0; k < 4 && act < 0; k++)
      if (food(GATHER_ATTACKS[2 * k], GATHER_ATTACKS[2 * k + 1]) > 0) act = N_MOVES + k;
    if (act < 0) {
      let best = Number.POSITIVE_INFINITY;
      let fx = 0;
      let fy = 0;
      for (let dy = -R; dy <= R; dy++)
        for (let dx = -R; dx <= R; dx++) {
          const d = dx * dx + dy * dy;
          if (d > 0 && d < best && food(dx, dy) > 0) {
            best = d;
            fx = dx;
            fy = dy;
          }
        }
      if (best === Number.POSITIVE_INFINITY) act = rng.int(N_MOVES);
      else {
        let bestMove = GATHER_STAY;
        let bestD = best;
        for (let m = 0; m < N_MOVES; m++) {
          const ex = fx - GATHER_MOVES[2 * m];
          const ey = fy - GATHER_MOVES[2 * m + 1];
          const d = ex * ex + ey * ey;
          if (d > 0 && d < bestD) {
            bestD = d;
            bestMove = m;
          }
        }
        act = bestMove;
      }
    }
    actions[i] = act;
  }
}

export default defineExperiment({
  name: 'gather',
  description: "MAgent2's gather: foragers break and eat food cells (random or foraging policy)",
  params: z.object({
    map: z.number().int().min(8).max(4096).default(64).describe('map side'),
    placement: z.enum(['magent', 'random']).default('magent'),
    agents: z.number().int().positive().optional().describe('foragers (default: the layout)'),
    food: z.number().int().nonnegative().optional().describe('food cells (random placement)'),
    stepRecover: z.number().default(0).describe('hp per step; negative: starvation'),
    maxSteps: z.number().int().positive().default(500).describe('steps per episode'),
    policy: z.enum(['forage', 'random']).default('forage'),
    epsilon: z.number().min(0).max(1).default(0.05).describe('random-action rate of forage'),
  }),
  defaultSteps: 500,
  create: ({ params: p, seed }) => {
    const env = new Gather({
      map: p.map,
      placement: p.placement,
      agents: p.agents,
      food: p.food,
      stepRecover: p.stepRecover,
      maxSteps: p.maxSteps,
    });
    const loop = new EpisodeLoop(env, seed);
    const rng = new Rng(seed ^ 0x5eed);
    const policy: Policy =
      p.policy === 'random'
        ? randomPolicy(rng, [33])
        : (out, a) => forage(out, a[0], rng, p.epsilon);
    return loopSimulation(loop, policy, () => {
      const info = loop.out.info;
      return {
        food_left: info['food.left'],
        food_eaten: info['food.eaten'],
        food_eaten_episode: loop.episodeTotal('food.eaten'),
        attacks: info.attacks,
        kills: info.kills,
        starved: info.starved,
      };
    });
  },
});
