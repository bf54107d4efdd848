/**
 * `gibbs run ./train.ts`: the built-in learners on Tribes, with @gibbs/agents' PopulationTrainer.
 * Every tribe but the last learns with --algo (all of them through one network with --shared
 * true, one network each with false); the last tribe plays a fixed greedy policy, the yardstick.
 * The tribe that picks up the most coins in an episode wins it. One run step is one environment
 * step: give --steps of at least episodes x maxSteps; once the episodes are done the run idles.
 *
 * Logged each step, per tribe: alive, reward_mean, reward_episode, win_rate (of the last 10
 * episodes); for a learning tribe also loss, mean_q, ess and updates (its network's last
 * training) and temperature; values: episodes, winner (of the last episode, -1 for none),
 * policy_entropy.
 */
import {
  ALGOS,
  type GroupPolicy,
  type GroupRole,
  PopulationTrainer,
  type WinRule,
} from '@gibbs/agents';
import { defineExperiment } from '@gibbs/core';
import { initBackend } from '@gibbs/core/backend';
import { z } from 'zod';
import { Tribes, tribesConfig } from './tribes.ts';

/** The fixed tribe: a step towards the nearest coin in its 5 x 5 view, else a random one. */
const greedy: GroupPolicy = (obs, actions, { rng }) => {
  for (let i = 0; i < actions.length; i++) {
    if (!obs.alive[i]) continue;
    let best = 99;
    actions[i] = rng.int(5);
    for (let dy = -2; dy <= 2; dy++)
      for (let dx = -2; dx <= 2; dx++) {
        const d = Math.abs(dx) + Math.abs(dy);
        const coin = obs.view[i * 100 + ((dy + 2) * 5 + dx + 2) * 4 + 1];
        if (coin > 0 && d > 0 && d < best) {
          best = d;
          actions[i] = Math.abs(dx) >= Math.abs(dy) ? (dx > 0 ? 2 : 4) : dy > 0 ? 3 : 1;
        }
      }
  }
};

/** The tribe with the most coins this episode wins; a tie is no one's. */
const mostCoins: WinRule = (episode) => {
  const coins = episode.groups.map((g) => episode.info[`coins.${g.name}`]);
  const top = Math.max(...coins);
  return coins.filter((c) => c === top).length === 1 ? coins.indexOf(top) : null;
};

export default defineExperiment({
  name: 'tribes-train',
  description: 'built-in learners against a greedy tribe on Tribes (PopulationTrainer)',
  params: tribesConfig.extend({
    algo: z.enum(ALGOS).default('mfq').describe('mfq | mfac | il | ac'),
    shared: z.boolean().default(true).describe('the learning tribes share one network'),
    episodes: z.number().int().positive().default(50).describe('episodes to train'),
    lr: z.number().positive().default(1e-3).describe('Adam step size'),
  }),
  defaultSteps: 50 * 100,
  async create({ params: p, seed, backend }) {
    const used = await initBackend(backend);
    const env = new Tribes(p);
    const groups: GroupRole[] = env.spec.groups.map((_, g) =>
      g < p.tribes - 1
        ? {
            learn: p.algo,
            config: { net: 'population', lr: p.lr },
            network: p.shared ? 'learners' : `tribe-${g}`,
          }
        : { play: greedy },
    );
    const trainer = new PopulationTrainer(
      env,
      { groups, episodes: p.episodes, winner: mostCoins },
      seed,
    );
    return { backend: used, ...trainer.simulation() };
  },
});
