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
import { AifAgents } from '@gibbs/agents/aif/agent';
import { aifSummary } from '@gibbs/agents/aif/inspect';
import type { ObsBatch } from '@gibbs/agents/nets';
import { act, type Learner, type TrainStats } from '@gibbs/agents/policy';
import { createLearner, groupShape } from '@gibbs/agents/selfplay';
import {
  defineExperiment,
  type EpisodeSummary,
  groupMeanAction,
  type MetricRecord,
  Rng,
  type StepOutput,
} from '@gibbs/core';
import { initBackend } from '@gibbs/core/backend';
import { AifForageEnv, FORAGE_ACTIONS } from '@gibbs/env/aif-forage';
import { z } from 'zod';
import {
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

export class AifMixedSimulation {
  readonly env: AifForageEnv;
  readonly aif: AifAgents;
  readonly learner: Learner;
  private out: StepOutput;
  private readonly rng: Rng;
  private readonly obs: Int32Array;
  private readonly actions: Int32Array[];
  private readonly batch: ObsBatch;
  private readonly probs: Float32Array;
  private readonly live: Int32Array;
  private readonly mean: Float32Array;
  private readonly allAlive: Uint8Array;
  private readonly prevRow: Int32Array;
  private readonly curRow: Int32Array;
  private readonly pendingReward: Float32Array;
  private step = 0;
  private episode = 0;
  private round = 0;
  private episodeStep = 0;
  private foodAif = 0;
  private foodRivals = 0;
  private lastTrain: TrainStats = { loss: 0, meanQ: 0, ess: 0, updates: 0 };
  private budget: Record<string, number> = {};
  private readonly finished: EpisodeSummary[] = [];

  constructor(
    readonly params: AifMixedParams,
    seed: number,
  ) {
    const p = params;
    this.rng = new Rng(seed);
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
    this.learner = createLearner(p.algo, groupShape(this.env, 1), {}, this.rng.fork());
    this.obs = new Int32Array(p.agents * 2);
    this.actions = [new Int32Array(p.agents), new Int32Array(p.rivals)];
    this.batch = {
      n: p.rivals,
      view: new Float32Array(0),
      features: new Float32Array(p.rivals * 2),
      mean: this.learner.meanField ? new Float32Array(p.rivals * 5) : null,
    };
    this.probs = new Float32Array(p.rivals * 5);
    this.live = new Int32Array(p.rivals);
    this.mean = new Float32Array(5);
    this.allAlive = new Uint8Array(p.rivals).fill(1);
    this.prevRow = new Int32Array(p.rivals).fill(-1);
    this.curRow = new Int32Array(p.rivals);
    this.pendingReward = new Float32Array(p.rivals);
    this.out = this.env.reset(this.rng.u32());
  }

  async advance(): Promise<void> {
    const p = this.params;
    // Foragers: infer, plan, act.
    const f0 = this.out.groups[0].features;
    for (let i = 0; i < this.obs.length; i++) this.obs[i] = f0[i];
    this.actions[0].set(this.aif.step(this.obs));
    this.budget = aifSummary(this.aif);
    // Rivals: one forward pass for the group, Boltzmann actions; experience into the replay.
    const g1 = this.out.groups[1];
    this.batch.features.set(g1.features);
    if (this.batch.mean) for (let i = 0; i < p.rivals; i++) this.batch.mean.set(this.mean, i * 5);
    const temperature = this.learner.temperatureAt(this.round);
    await act(this.learner, this.batch, temperature, this.rng, this.live, this.probs);
    this.actions[1].set(this.live);
    const mem = this.learner.memory;
    const meanRow = this.learner.meanField ? this.mean : null;
    const rows = this.curRow;
    for (let i = 0; i < p.rivals; i++) {
      rows[i] = mem.write(g1.view, g1.features, i, meanRow, this.live[i]);
      if (this.prevRow[i] >= 0) mem.link(this.prevRow[i], this.pendingReward[i], rows[i]);
    }
    const next = this.env.step(this.actions);
    groupMeanAction(this.actions[1], this.allAlive, 5, this.mean);
    this.step++;
    this.episodeStep++;
    this.foodAif += next.info.food_eaten;
    this.foodRivals += next.info.food_eaten_rivals ?? 0;
    const n1 = next.groups[1];
    const meanNext = this.learner.meanField ? this.mean : null;
    for (let i = 0; i < p.rivals; i++) {
      if (next.done) {
        // Cut by the time limit: bootstrap from the last observation (a tail row without action).
        const tail = mem.write(n1.view, n1.features, i, meanNext, 0);
        mem.link(rows[i], n1.reward[i], tail);
        this.prevRow[i] = -1;
      } else {
        this.prevRow[i] = rows[i];
        this.pendingReward[i] = n1.reward[i];
      }
    }
    this.out = next;
    if (next.done) {
      this.lastTrain = await this.learner.train(this.round, temperature, this.rng);
      this.lastRates = this.rates();
      this.finished.push({
        episode: this.episode,
        step: this.step,
        length: this.episodeStep,
        values: this.rates(),
        groups: {
          foragers: { reward_mean: this.foodAif / (p.agents * this.episodeStep) },
          rivals: { reward_mean: this.foodRivals / (p.rivals * this.episodeStep) },
        },
      });
      this.round++;
      this.episode++;
      this.episodeStep = 0;
      this.foodAif = 0;
      this.foodRivals = 0;
      this.mean.fill(0);
      this.aif.reset();
      this.out = this.env.reset(this.rng.u32());
    }
  }

  private lastRates: Record<string, number> = { food_rate_foragers: 0, food_rate_rivals: 0 };

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
    return {
      step: this.step,
      episode: this.episode,
      values: {
        ...r,
        ...this.budget,
        rivals_loss: this.lastTrain.loss,
        rivals_mean_q: this.lastTrain.meanQ,
        rivals_temperature: this.learner.temperatureAt(this.round),
      },
      groups: {
        foragers: { reward_mean: r.food_rate_foragers },
        rivals: { reward_mean: r.food_rate_rivals },
      },
    };
  }

  drainEpisodes(): EpisodeSummary[] {
    return this.finished.splice(0);
  }

  inspect(group: number, slot: number) {
    if (group === 0 && slot >= 0 && slot < this.params.agents)
      return inspectForager(this.aif, this.env, slot, 2);
    if (group === 1 && slot >= 0 && slot < this.params.rivals) {
      const i = this.params.agents + slot;
      return {
        group: 'rivals',
        slot,
        values: { x: this.env.x[i], y: this.env.y[i], food_eaten: this.env.eaten[i] },
        distributions: {
          policy: Array.from(this.probs.subarray(slot * 5, slot * 5 + 5)),
          mean_action: Array.from(this.mean),
        },
        labels: { policy: [...FORAGE_ACTIONS], mean_action: [...FORAGE_ACTIONS] },
      };
    }
    return null;
  }

  dispose(): void {
    this.learner.dispose();
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
