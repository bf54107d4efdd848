/**
 * `pnpm gibbs run pursuit [--map 45] [--predators 25] [--prey 50] [--policy chase|random]`
 *
 * MAgent2's adversarial pursuit (packages/env/src/pursuit.ts), two heterogeneous groups under
 * fixed policies:
 *   random  uniform actions for both groups;
 *   chase   a predator tags a prey in one of its 8 neighbours if there is one, else steps towards
 *           the nearest prey in its 11 x 11 view; a prey steps (diagonals allowed) to the free
 *           neighbour farthest from the nearest predator in its 9 x 9 view; otherwise, and with
 *           probability `epsilon`, a uniform random action.
 * Logged values: tags (this step), tags_episode, attacks; per group: reward_mean, reward_sum,
 * episode_reward, alive.
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
import { PURSUIT_ATTACKS, PURSUIT_MOVES, Pursuit } from '@gibbs/env/pursuit';
import { z } from 'zod';

const RADIUS = [5, 4];
const N_MOVES = [5, 9];
const N_ACTIONS = [13, 9];
const PREDATOR_CHANNEL = 1;
const PREY_CHANNEL = 2;

/** Nearest cell (dx, dy) with `channel` set in a square view of radius r, or null. */
function nearest(
  view: Float32Array,
  base: number,
  r: number,
  channel: number,
  into: Int32Array,
): boolean {
  const side = 2 * r + 1;
  let best = Number.POSITIVE_INFINITY;
  for (let dy = -r; dy <= r; dy++)
    for (let dx = -r; dx <= r; dx++) {
      const d = dx * dx + dy * dy;
      if (d > 0 && d < best && view[base + ((dy + r) * side + dx + r) * 3 + channel] > 0) {
        best = d;
        into[0] = dx;
        into[1] = dy;
      }
    }
  return best < Number.POSITIVE_INFINITY;
}

export function chase(out: StepOutput, actions: Int32Array[], rng: Rng, epsilon: number): void {
  const target = new Int32Array(2);
  for (let g = 0; g < 2; g++) {
    const o = out.groups[g];
    const r = RADIUS[g];
    const side = 2 * r + 1;
    const size = side * side * 3;
    const moves = PURSUIT_MOVES[g];
    for (let i = 0; i < actions[g].length; i++) {
      if (rng.float() < epsilon) {
        actions[g][i] = rng.int(N_ACTIONS[g]);
        continue;
      }
      const base = i * size;
      const free = (dx: number, dy: number) => {
        const c = base + ((dy + r) * side + dx + r) * 3;
        return o.view[c] === 0 && o.view[c + 1] === 0 && o.view[c + 2] === 0;
      };
      let act = -1;
      if (g === 0) {
        for (let k = 0; k < 8 && act < 0; k++) {
          const c =
            base + ((PURSUIT_ATTACKS[2 * k + 1] + r) * side + PURSUIT_ATTACKS[2 * k] + r) * 3;
          if (o.view[c + PREY_CHANNEL] > 0) act = N_MOVES[0] + k;
        }
        if (act < 0 && nearest(o.view, base, r, PREY_CHANNEL, target)) {
          let bestD = target[0] * target[0] + target[1] * target[1];
          for (let m = 1; m < N_MOVES[0]; m++) {
            const ex = target[0] - moves[2 * m];
            const ey = target[1] - moves[2 * m + 1];
            const d = ex * ex + ey * ey;
            if (d < bestD && free(moves[2 * m], moves[2 * m + 1])) {
              bestD = d;
              act = m;
            }
          }
        }
      } else if (nearest(o.view, base, r, PREDATOR_CHANNEL, target)) {
        let bestD = target[0] * target[0] + target[1] * target[1];
        for (let m = 1; m < N_MOVES[1]; m++) {
          const ex = target[0] - moves[2 * m];
          const ey = target[1] - moves[2 * m + 1];
          const d = ex * ex + ey * ey;
          if (d > bestD && free(moves[2 * m], moves[2 * m + 1])) {
            bestD = d;
            act = m;
          }
        }
      }
      actions[g][i] = act >= 0 ? act : rng.int(N_MOVES[g]);
    }
  }
}

export default defineExperiment({
  name: 'pursuit',
  description: "MAgent2's adversarial pursuit: predators tag prey (random or chasing policies)",
  params: z.object({
    map: z.number().int().min(6).max(4096).default(45),
    predators: z.number().int().positive().default(25),
    prey: z.number().int().positive().default(50),
    walls: z.number().min(0).max(0.5).default(0.03),
    maxSteps: z.number().int().positive().default(500).describe('steps per episode'),
    policy: z.enum(['chase', 'random']).default('chase'),
    epsilon: z.number().min(0).max(1).default(0.1).describe('random-action rate of chase'),
  }),
  defaultSteps: 500,
  create: ({ params: p, seed }) => {
    const env = new Pursuit({
      map: p.map,
      predators: p.predators,
      prey: p.prey,
      walls: p.walls,
      maxSteps: p.maxSteps,
    });
    const loop = new EpisodeLoop(env, seed);
    const rng = new Rng(seed ^ 0x9e37);
    const policy: Policy =
      p.policy === 'random'
        ? randomPolicy(rng, N_ACTIONS)
        : (out, a) => chase(out, a, rng, p.epsilon);
    return loopSimulation(loop, policy, () => ({
      tags: loop.out.info.tags,
      tags_episode: loop.episodeTotal('tags'),
      attacks: loop.out.info.attacks,
    }));
  },
});
