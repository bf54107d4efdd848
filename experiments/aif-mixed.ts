/**
 * `pnpm gibbs run aif-mixed --agents 128 --rivals 128 --steps 2000`
 *
 * A mixed population in one world: on the aif-forage grid (packages/env/src/aif-forage.ts) the
 * group "foragers" are active-inference agents (the batch of packages/agents/src/aif, the model
 * of experiments/aif-forage.ts) and the group "rivals" are mean-field Q-learners (MF-Q, Yang et
 * al. 2018; `--algo il` for independent Q-learning), all competing for the same food. Both see the
 * same categorical observations [cell, smell]; the Q-learners also see their group's mean action
 * of the previous step. The active-inference agents plan with their generative model from the
 * first step; the Q-learners learn from experience, training at the end of every episode.
 *
 * Logged: food_rate_foragers / food_rate_rivals (food per agent-step, mean over the episode so
 * far), the foragers' free-energy budget (free_energy, efe and its parts, belief_entropy), the
 * learners' loss, mean Q and temperature; per group: reward_mean.
 */

import { type GroupPolicy, PopulationTrainer } from '@gibbs/agents';
import { AifAgents } from '@gibbs/agents/aif/agent';
import type { Learner } from '@gibbs/agents/policy';
import {
  type AgentInspection,
  defineExperiment,
  type EpisodeSummary,
  type MetricRecord,
  type StepOutput,
} from '@gibbs/core';
import { initBackend } from '@gibbs/core/backend';
import { AifForageEnv } from '@gibbs/env/aif-forage';
import { z } from 'zod';
import {
  AifPlayer,
  aifAgentConfig,
  aifSimulation,
  forageFoodParams,
  forageMapParams,
  inspectForager,
} from './_aif.ts';
import { forageModel } from './aif-forage.ts';

export const aifMixedParams = z.object({
  ...forageMapParams,
  agents: z.number().int().min(1).max(100_000).default(128).describe('active-inference foragers'),
  rivals: z.number().int().min(1).max(100_000).default(128).describe('Q-learning rivals'),
  algo: z
    .enum(['mfq', 'il'])
    .default('mfq')
    .describe('rivals: mean-field (mfq) or independent (il) Q-learning'),
  ...forageFoodParams,
  episodeLength: z
    .number()
    .int()
    .min(2)
    .default(100)
    .describe('steps per episode (the learners train after each)'),
  policyLen: z.number().int().min(1).max(4).default(3).describe('foragers: planning horizon'),
  gamma: z.number().positive().default(16).describe('foragers: policy precision'),
  foodPref: z.number().default(4).describe('foragers: preference for finding food'),
});
export type AifMixedParams = z.infer<typeof aifMixedParams>;

/**
 * The foragers are a fixed policy (a function) and the rivals a learning group of core's
 * PopulationTrainer, which plays the episodes (episodeSeed), gathers the rivals' experience with
 * their group's mean action and trains them after every episode.
 */
export class AifMixedSimulation {
  readonly env: AifForageEnv;
  readonly aif: AifAgents;
  readonly trainer: PopulationTrainer;
  readonly learner: Learner;
  private readonly foragers: AifPlayer;
  private episodeStep = 0;
  private foodAif = 0;
  private foodRivals = 0;
  private lastRates: Record<string, number> = { food_rate_foragers: 0, food_rate_rivals: 0 };
  /** The food rates of each episode finished since the last drainEpisodes. */
  private readonly episodeRates: Record<string, number>[] = [];

  constructor(
    readonly params: AifMixedParams,
    seed: number,
  ) {
    const p = params;
    this.env = new AifForageEnv({
      width: p.width,
      height: p.height,
      agents: p.agents,
      rivals: p.rivals,
      food: p.food,
      smellNoise: p.smellNoise,
      maxSteps: p.episodeLength,
    });
    this.aif = new AifAgents({
      model: forageModel({
        radius: 2,
        smellNoise: p.smellNoise,
        volatility: 0.05,
        appear: 0.2,
        foodPref: p.foodPref,
        concentration: 0,
      }),
      config: aifAgentConfig(
        {
          policyLen: p.policyLen,
          gamma: p.gamma,
          alpha: 16,
          utility: true,
          stateInfoGain: true,
          selection: 'stochastic',
        },
        false,
      ),
      count: p.agents,
      seed: seed + 1,
    });
    // Foragers: infer, plan, act on their observations [cell, smell].
    this.foragers = new AifPlayer(this.aif, 2);
    const forage: GroupPolicy = (gs, actions, ctx) => {
      actions.set(this.foragers.act(gs.features, ctx.episode));
    };
    this.trainer = new PopulationTrainer(
      this.env,
      {
        groups: [{ play: forage }, { learn: p.algo }],
        // The run's step budget ends it, not a number of episodes.
        episodes: Number.MAX_SAFE_INTEGER,
      },
      seed,
    );
    this.learner = this.trainer.learnerOf(1) as Learner;
  }

  async advance(): Promise<void> {
    await this.trainer.advance();
    const out = this.trainer.output as StepOutput;
    this.episodeStep++;
    this.foodAif += out.info.food_eaten;
    this.foodRivals += out.info.food_eaten_rivals ?? 0;
    if (out.done) {
      this.lastRates = this.rates();
      this.episodeRates.push(this.lastRates);
      this.episodeStep = 0;
      this.foodAif = 0;
      this.foodRivals = 0;
    }
  }

  /** Food per agent-step of each group over the episode so far (the last episode's at its end). */
  private rates(): Record<string, number> {
    if (this.episodeStep === 0) return this.lastRates;
    const s = this.episodeStep;
    return {
      food_rate_foragers: this.foodAif / (this.params.agents * s),
      food_rate_rivals: this.foodRivals / (this.params.rivals * s),
    };
  }

  metrics(): MetricRecord {
    const r = this.rates();
    const rivals = this.trainer.metrics().groups.rivals;
    // Loss and mean Q exist once the rivals have trained (after the first episode).
    const learned: Record<string, number> = {};
    if (rivals.loss !== undefined) learned.rivals_loss = rivals.loss;
    if (rivals.mean_q !== undefined) learned.rivals_mean_q = rivals.mean_q;
    return {
      step: this.trainer.step,
      episode: this.trainer.episode,
      values: {
        ...r,
        ...this.foragers.budget,
        ...learned,
        rivals_temperature: rivals.temperature,
      },
      groups: {
        foragers: { reward_mean: r.food_rate_foragers },
        rivals: { reward_mean: r.food_rate_rivals },
      },
    };
  }

  drainEpisodes(): EpisodeSummary[] {
    // The trainer's summaries and the rates are of the same finished episodes, in order.
    const rates = this.episodeRates.splice(0);
    return this.trainer
      .drainEpisodes()
      .map((e, i) => ({ ...e, values: { ...e.values, ...rates[i] } }));
  }

  inspect(group: number, slot: number): AgentInspection | null {
    if (group === 0 && slot >= 0 && slot < this.params.agents)
      return inspectForager(this.aif, this.env, slot, 2);
    const rival = group === 1 ? this.trainer.inspect(1, slot) : null;
    if (!rival) return null;
    const i = this.params.agents + slot;
    const place = { x: this.env.x[i], y: this.env.y[i], food_eaten: this.env.eaten[i] };
    return { ...rival, values: { ...place, ...rival.values } };
  }

  dispose(): Promise<void> {
    return this.trainer.dispose();
  }
}

export default defineExperiment({
  name: 'aif-mixed',
  description:
    'Mixed population: active-inference foragers and mean-field Q-learners share one foraging world',
  params: aifMixedParams,
  defaultSteps: 2000,
  create: async ({ params, seed, backend: forced }) => {
    const backend = await initBackend(forced);
    const sim = new AifMixedSimulation(params, seed);
    return { ...aifSimulation(sim), backend, dispose: () => sim.dispose() };
  },
});
