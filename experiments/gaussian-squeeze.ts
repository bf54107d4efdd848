/**
 * `pnpm gibbs run gaussian-squeeze [--agents 200] [--policy bandit|random] [--alpha 0.1]`
 *
 * Gaussian squeeze (Yang et al. 2018; packages/env/src/gaussian-squeeze.ts): N agents each put
 * 0..K-1 units, all are paid G(x) = x exp(-(x - mu)^2 / sigma^2) of the total x.
 *   random  uniform amounts: x ~ N (K-1) / 2 (900 for 200 agents: far past mu = 400);
 *   bandit  independent gradient bandits (Sutton & Barto 2018, section 2.8): each agent keeps
 *           preferences H_i(a), plays a ~ softmax(H_i) and after the shared reward R updates
 *             H_i(a_t) += alpha (R - Rbar)(1 - pi_i(a_t)),   H_i(b) -= alpha (R - Rbar) pi_i(b), b != a_t
 *           with Rbar the running mean reward (step size `baseline`). Each agent sees only the
 *           shared reward: the credit-assignment problem that mean-field methods address.
 * Logged values: x, G, efficiency G / G(x*), x_star, mean_amount, policy_entropy (nats, mean).
 *
 * Seed 1, 2000 steps (this machine): random stays at efficiency ~0.002 (x ~ 930); bandits reach
 * 0.6 by step 250 and ~1.0 (x ~ 445 = x*) by step 1000 with 200 agents. With 500 agents uniform
 * play puts x near 2250, where G is ~e^-85: no gradient reaches the bandits and they stay uniform,
 * the regime where a shared reward alone cannot teach independent learners.
 */
import {
  defineExperiment,
  EpisodeLoop,
  type MetricRecord,
  Rng,
  type StepOutput,
} from '@gibbs/core';
import { GaussianSqueeze, squeezeOptimum, squeezeReward } from '@gibbs/env/gaussian-squeeze';
import { z } from 'zod';

/** Independent softmax gradient bandits, one per agent, over K actions (flat arrays). */
export class GradientBandits {
  readonly h: Float64Array;
  readonly pi: Float64Array;
  rbar = 0;
  private seen = false;

  constructor(
    readonly agents: number,
    readonly actions: number,
    readonly alpha: number,
    readonly baseline: number,
  ) {
    this.h = new Float64Array(agents * actions);
    this.pi = new Float64Array(agents * actions).fill(1 / actions);
  }

  /** Sample every agent's action; returns the mean policy entropy. */
  act(rng: Rng, out: Int32Array): number {
    const K = this.actions;
    let entropy = 0;
    for (let i = 0; i < this.agents; i++) {
      const o = i * K;
      let max = Number.NEGATIVE_INFINITY;
      for (let a = 0; a < K; a++) max = Math.max(max, this.h[o + a]);
      let z = 0;
      for (let a = 0; a < K; a++) {
        const e = Math.exp(this.h[o + a] - max);
        this.pi[o + a] = e;
        z += e;
      }
      for (let a = 0; a < K; a++) {
        const p = this.pi[o + a] / z;
        this.pi[o + a] = p;
        if (p > 0) entropy -= p * Math.log(p);
      }
      out[i] = rng.categorical(this.pi, o, K);
    }
    return entropy / this.agents;
  }

  learn(chosen: Int32Array, reward: number): void {
    if (!this.seen) {
      this.rbar = reward;
      this.seen = true;
    }
    const adv = reward - this.rbar;
    const K = this.actions;
    for (let i = 0; i < this.agents; i++) {
      const o = i * K;
      for (let a = 0; a < K; a++)
        this.h[o + a] += this.alpha * adv * ((a === chosen[i] ? 1 : 0) - this.pi[o + a]);
    }
    this.rbar += this.baseline * (reward - this.rbar);
  }
}

export default defineExperiment({
  name: 'gaussian-squeeze',
  description:
    'Gaussian squeeze: N agents share x exp(-(x-mu)^2/sigma^2) (random or gradient bandits)',
  params: z.object({
    agents: z.number().int().positive().max(1_000_000).default(200),
    actions: z.number().int().min(2).max(100).default(10).describe('amounts 0..actions-1'),
    mu: z.number().default(400),
    sigma: z.number().positive().default(200),
    policy: z.enum(['bandit', 'random']).default('bandit'),
    alpha: z.number().positive().default(0.1).describe('bandit preference step size'),
    baseline: z.number().gt(0).max(1).default(0.1).describe('step size of the reward baseline'),
    maxSteps: z.number().int().positive().default(100).describe('steps per episode'),
  }),
  defaultSteps: 2000,
  create: ({ params: p, seed }) => {
    const env = new GaussianSqueeze({
      agents: p.agents,
      actions: p.actions,
      mu: p.mu,
      sigma: p.sigma,
      maxSteps: p.maxSteps,
    });
    const loop = new EpisodeLoop(env, seed);
    const rng = new Rng(seed ^ 0x6a55);
    const bandits = new GradientBandits(p.agents, p.actions, p.alpha, p.baseline);
    const xStar = squeezeOptimum(p.mu, p.sigma);
    const gStar = squeezeReward(xStar, p.mu, p.sigma);
    let entropy = Math.log(p.actions);
    const policy = (_: StepOutput, a: Int32Array[]) => {
      if (p.policy === 'random') for (let i = 0; i < a[0].length; i++) a[0][i] = rng.int(p.actions);
      else entropy = bandits.act(rng, a[0]);
    };
    return {
      advance() {
        loop.advance(policy);
        if (p.policy === 'bandit') bandits.learn(loop.actions[0], loop.out.info.G);
      },
      metrics(): MetricRecord {
        const { x, G } = loop.out.info;
        return {
          step: loop.step,
          episode: loop.episode,
          values: {
            x,
            G,
            efficiency: G / gStar,
            x_star: xStar,
            mean_amount: x / p.agents,
            policy_entropy: entropy,
          },
          groups: loop.groupStats(),
        };
      },
      drainEpisodes: () => loop.drainEpisodes(),
      frame: () => env.render(),
    };
  },
});
