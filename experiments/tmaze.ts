/**
 * `pnpm gibbs run tmaze --agents 1000 --steps 300`
 *
 * Many independent active-inference agents in the T-maze (packages/env/src/tmaze.ts), one batch
 * (packages/agents/src/aif). Each agent starts at the centre of its own maze, not knowing which arm
 * holds the reward; the cue location tells. With the state information gain on, expected free
 * energy makes the agent visit the cue first (epistemic value) and then the rewarded arm
 * (pragmatic value); with it off, going to the cue has no value and the agent stays put
 * (Friston et al. 2015, "Active inference and epistemic value").
 *
 * One run step = one move of every agent; a trial lasts `trialLength` moves, then the mazes and
 * beliefs are reset (new contexts). Logged: `cue_then_reward` = share of the trials finished so far
 * in which the agent visited the cue first and then the rewarded arm (and `_last` for the last
 * trial alone), the reward rate, and the free-energy budget (F, G and its parts, belief entropy).
 */
import { AifAgents } from '@gibbs/agents/aif/agent';
import { inspectAif } from '@gibbs/agents/aif/inspect';
import { tensor } from '@gibbs/agents/aif/maths';
import type { AgentConfig, GenerativeModel } from '@gibbs/agents/aif/model';
import { defineExperiment, EpisodeLoop, type EpisodeSummary, type MetricRecord } from '@gibbs/core';
import { TMAZE_LOCATIONS, TmazeEnv } from '@gibbs/env/tmaze';
import { z } from 'zod';
import { AifPlayer, aifAgentConfig, aifSimulation } from './_aif.ts';

/**
 * The agents' generative model of the T-maze, as pymdp's T-maze demo builds it. Factors:
 * location (4; controlled: the action is the location to go to) x context (2; uncontrolled).
 * Modalities: location (4), reward (3: none, reward, loss), cue (2).
 */
export function tmazeModel(rewardProb = 0.98, rewardPref = 3): GenerativeModel {
  const p = rewardProb;
  const A0 = tensor([4, 4, 2]);
  const A1 = tensor([3, 4, 2]);
  const A2 = tensor([2, 4, 2]);
  const at = (t: { data: Float64Array }, o: number, loc: number, ctx: number, v: number) => {
    t.data[(o * 4 + loc) * 2 + ctx] = v;
  };
  for (let loc = 0; loc < 4; loc++) {
    for (let ctx = 0; ctx < 2; ctx++) {
      at(A0, loc, loc, ctx, 1);
      if (loc === 0 || loc === 3) at(A1, 0, loc, ctx, 1);
      else {
        // Arm 1 (right) is rewarded in context 0, arm 2 (left) in context 1.
        const good = (loc === 1 && ctx === 0) || (loc === 2 && ctx === 1);
        at(A1, 1, loc, ctx, good ? p : 1 - p);
        at(A1, 2, loc, ctx, good ? 1 - p : p);
      }
      if (loc === 3) at(A2, ctx, loc, ctx, 1);
      else {
        at(A2, 0, loc, ctx, 0.5);
        at(A2, 1, loc, ctx, 0.5);
      }
    }
  }
  const B0 = tensor([4, 4, 4]);
  for (let a = 0; a < 4; a++)
    for (let prev = 0; prev < 4; prev++) B0.data[(a * 4 + prev) * 4 + a] = 1;
  const B1 = tensor([2, 2, 1], [1, 0, 0, 1]);
  return {
    A: [A0, A1, A2],
    B: [B0, B1],
    C: [new Float64Array(4), Float64Array.from([0, rewardPref, -rewardPref]), new Float64Array(2)],
    D: [Float64Array.from([1, 0, 0, 0]), Float64Array.from([0.5, 0.5])],
  };
}

export const tmazeParams = z.object({
  agents: z
    .number()
    .int()
    .min(1)
    .max(1_000_000)
    .default(1000)
    .describe('independent agents (one maze each)'),
  rewardProb: z
    .number()
    .min(0.5)
    .max(1)
    .default(0.98)
    .describe('probability of reward in the arm of the context'),
  rewardPref: z
    .number()
    .min(0)
    .default(3)
    .describe('preference C: +rewardPref for reward, -rewardPref for loss'),
  trialLength: z.number().int().min(2).max(20).default(3).describe('moves per trial'),
  policyLen: z
    .number()
    .int()
    .min(1)
    .max(4)
    .default(1)
    .describe('planning horizon (4^policyLen policies)'),
  gamma: z.number().positive().default(16).describe('policy precision'),
  alpha: z.number().positive().default(16).describe('action precision (stochastic selection)'),
  utility: z.boolean().default(true).describe('expected utility in the EFE'),
  stateInfoGain: z
    .boolean()
    .default(true)
    .describe('state information gain (epistemic value) in the EFE'),
  selection: z
    .enum(['deterministic', 'stochastic'])
    .default('deterministic')
    .describe('action selection'),
});

export type TmazeParams = z.infer<typeof tmazeParams>;

export function tmazeAgentConfig(p: TmazeParams): AgentConfig {
  return aifAgentConfig(p, false);
}

/** The simulation, exported for tests: `trials`/`successes` count finished trials. */
export class TmazeSimulation {
  readonly env: TmazeEnv;
  readonly agents: AifAgents;
  /** Core's episode loop: trial e starts from episodeSeed(seed, e). */
  readonly loop: EpisodeLoop;
  trials = 0;
  successes = 0;
  lastShare = 0;
  /** The agents as the maze's policy: observations [location, reward, cue]. */
  private readonly player: AifPlayer;
  private rewardSum = 0;
  private rewardSteps = 0;
  /** cue_then_reward of each trial finished since the last drainEpisodes. */
  private readonly shares: number[] = [];

  constructor(
    readonly params: TmazeParams,
    seed: number,
  ) {
    const p = params;
    this.env = new TmazeEnv({
      agents: p.agents,
      rewardProb: p.rewardProb,
      maxSteps: p.trialLength,
    });
    this.agents = new AifAgents({
      model: tmazeModel(p.rewardProb, p.rewardPref),
      config: tmazeAgentConfig(p),
      count: p.agents,
      seed: seed + 1,
    });
    this.player = new AifPlayer(this.agents, 3);
    this.loop = new EpisodeLoop(this.env, seed);
  }

  advance(): void {
    const N = this.params.agents;
    this.loop.advance((out, actions) => {
      // A new trial brings new contexts, and the beliefs start again from the priors.
      const act = this.player.act(out.groups[0].features, this.loop.episode);
      // Factor 0 (location) is the controlled one; factor 1 (context) has a single null action.
      for (let i = 0; i < N; i++) actions[0][i] = act[i * 2];
    });
    const out = this.loop.out;
    const g = out.groups[0];
    for (let i = 0; i < N; i++) this.rewardSum += g.reward[i];
    this.rewardSteps += N;
    if (out.done) {
      let ok = 0;
      for (let i = 0; i < N; i++) if (this.env.cueThenReward(i)) ok++;
      this.successes += ok;
      this.trials += N;
      this.lastShare = ok / N;
      this.shares.push(this.lastShare);
    }
  }

  metrics(): MetricRecord {
    return {
      step: this.loop.step,
      episode: this.loop.episode,
      values: {
        cue_then_reward: this.trials > 0 ? this.successes / this.trials : 0,
        cue_then_reward_last: this.lastShare,
        trials: this.trials,
        reward_rate: this.rewardSteps > 0 ? this.rewardSum / this.rewardSteps : 0,
        ...this.player.budget,
      },
      groups: {
        agents: { reward_mean: this.rewardSteps > 0 ? this.rewardSum / this.rewardSteps : 0 },
      },
    };
  }

  drainEpisodes(): EpisodeSummary[] {
    // The loop's summaries and the shares are of the same finished trials, in order.
    const shares = this.shares.splice(0);
    return this.loop.drainEpisodes().map((e, i) => ({
      ...e,
      values: { ...e.values, cue_then_reward: shares[i] },
    }));
  }

  inspect(group: number, slot: number) {
    if (group !== 0 || !(slot >= 0 && slot < this.params.agents)) return null;
    return inspectAif(
      this.agents,
      'agents',
      slot,
      {
        factors: ['location', 'context'],
        states: [[...TMAZE_LOCATIONS], ['reward right', 'reward left']],
        actions: [['centre', 'right', 'left', 'cue'], ['-']],
      },
      { location: this.env.location[slot], context: this.env.context[slot] },
    );
  }
}

export default defineExperiment({
  name: 'tmaze',
  description: 'Active-inference agents in the T-maze: epistemic cue-seeking, then reward',
  params: tmazeParams,
  defaultSteps: 300,
  create: ({ params, seed }) => aifSimulation(new TmazeSimulation(params, seed)),
});
