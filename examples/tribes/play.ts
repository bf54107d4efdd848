/**
 * `gibbs run ./play.ts`: the Tribes world under random play, through core's EpisodeLoop (episode
 * e starts from episodeSeed(seed, e)). Logged each step: coins picked up by each tribe in the
 * episode so far; per tribe alive, reward_mean, reward_sum and episode_reward.
 */
import { defineExperiment, EpisodeLoop, loopSimulation, Rng, randomPolicy } from '@gibbs/core';
import { Tribes, tribesConfig } from './tribes.ts';

export default defineExperiment({
  name: 'tribes-play',
  description: 'tribes of walkers compete for coins, under random play',
  params: tribesConfig,
  defaultSteps: 200,
  create: ({ params, seed }) => {
    const env = new Tribes(params);
    const loop = new EpisodeLoop(env, seed);
    const names = env.spec.groups.map((g) => g.name);
    const policy = randomPolicy(
      new Rng(seed),
      env.spec.groups.map((g) => g.actions),
    );
    const coins = () =>
      Object.fromEntries(names.map((n) => [`coins_${n}`, loop.episodeTotal(`coins.${n}`)]));
    return loopSimulation(loop, policy, coins);
  },
});
