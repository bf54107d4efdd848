/**
 * Gaussian squeeze (Yang et al. 2018, "Mean Field Multi-Agent Reinforcement Learning", section 5.1;
 * after Holmes Parker et al. 2016): N agents each choose an amount, and all share the reward
 *
 *   G(x) = x * exp(-(x - mu)^2 / sigma^2),      x = Σ_i a_i      (mu 400, sigma 200 by default)
 *
 * which peaks at x* = (mu + sqrt(mu^2 + 2 sigma^2)) / 2 (set dG/dx = 0: 2x^2 - 2 mu x - sigma^2 = 0):
 * too little and the resource is wasted, too much and it is squeezed out. There is no grid and no
 * view: the contract's non-spatial case (spec.grid null, features only).
 *
 * | spec       | value                                                                            |
 * |------------|----------------------------------------------------------------------------------|
 * | groups     | `agents`, capacity `agents` (default 100, as in Yang et al.'s smallest setting)   |
 * | actions    | `actions` (default 10): action k puts k * `unit` (default 1) units, so 0..9      |
 * | features   | 2: last total x / (N (actions-1) unit), own last amount / ((actions-1) unit)     |
 * | reward     | G(x) to every agent, every step                                                  |
 * | episode    | `maxSteps` steps of the repeated game (default 100), always truncated; nobody dies |
 * | randomness | none: the world is deterministic and the seed has no effect                      |
 */
import {
  allocAgentsFrame,
  allocGroupStep,
  defineEnvironment,
  type Environment,
  type EnvSpec,
  type GroupStep,
  type RenderFrame,
  type StepOutput,
  stepAfterDone,
  validateActions,
} from '@gibbs/core';
import { z } from 'zod';

export const gaussianSqueezeConfig = z.object({
  agents: z.number().int().positive().max(10_000_000).default(100),
  actions: z
    .number()
    .int()
    .min(2)
    .max(1000)
    .default(10)
    .describe('amounts 0 .. actions-1 (times unit)'),
  unit: z.number().positive().default(1).describe('units per action step'),
  mu: z.number().default(400),
  sigma: z.number().positive().default(200),
  maxSteps: z.number().int().positive().default(100),
});
export type GaussianSqueezeConfig = z.infer<typeof gaussianSqueezeConfig>;

/** G(x) = x exp(-(x - mu)^2 / sigma^2). */
export function squeezeReward(x: number, mu: number, sigma: number): number {
  const d = (x - mu) / sigma;
  return x * Math.exp(-d * d);
}

/** The total that maximises G: x* = (mu + sqrt(mu^2 + 2 sigma^2)) / 2. */
export function squeezeOptimum(mu: number, sigma: number): number {
  return (mu + Math.sqrt(mu * mu + 2 * sigma * sigma)) / 2;
}

export class GaussianSqueeze implements Environment {
  readonly spec: EnvSpec;
  readonly config: GaussianSqueezeConfig;
  private readonly out: GroupStep;
  private readonly groups: GroupStep[];
  private readonly last: Int32Array;
  private readonly info: Record<string, number> = { x: 0, G: 0 };
  private t = 0;
  private episode = -1;
  private done = false;

  constructor(config: z.input<typeof gaussianSqueezeConfig> = {}) {
    this.config = gaussianSqueezeConfig.parse(config);
    const c = this.config;
    this.spec = {
      name: 'gaussian-squeeze',
      maxSteps: c.maxSteps,
      grid: null,
      groups: [
        {
          name: 'agents',
          capacity: c.agents,
          view: null,
          features: 2,
          actions: c.actions,
          actionNames: Array.from({ length: c.actions }, (_, k) => `put ${k * c.unit}`),
        },
      ],
    };
    this.out = allocGroupStep(this.spec.groups[0]);
    this.groups = [this.out];
    this.last = new Int32Array(c.agents);
  }

  /** The seed is accepted for the contract; this world has no randomness. */
  reset(_seed: number): StepOutput {
    const o = this.out;
    this.t = 0;
    this.episode++;
    this.done = false;
    o.features.fill(0);
    o.reward.fill(0);
    o.alive.fill(1);
    o.terminated.fill(0);
    o.truncated.fill(0);
    this.last.fill(-1);
    this.info.x = 0;
    this.info.G = 0;
    return this.output();
  }

  step(actions: readonly Int32Array[]): StepOutput {
    const c = this.config;
    const N = c.agents;
    const K = c.actions;
    if (this.done) throw stepAfterDone(this.spec, this.t);
    // Every agent lives the whole episode: no alive mask.
    validateActions(this.spec, actions, null);
    const a = actions[0];
    let sum = 0;
    for (let i = 0; i < N; i++) sum += a[i];
    const x = sum * c.unit;
    const G = squeezeReward(x, c.mu, c.sigma);
    const o = this.out;
    o.reward.fill(G);
    const fx = sum / (N * (K - 1));
    for (let i = 0; i < N; i++) {
      this.last[i] = a[i];
      o.features[2 * i] = fx;
      o.features[2 * i + 1] = a[i] / (K - 1);
    }
    this.t++;
    if (this.t >= c.maxSteps) {
      this.done = true;
      o.truncated.fill(1);
    }
    this.info.x = x;
    this.info.G = G;
    return this.output();
  }

  /** No grid: agents listed with x = slot and y = last amount (for a strip chart). */
  render(): RenderFrame {
    const N = this.config.agents;
    const agents = allocAgentsFrame(N);
    for (let i = 0; i < N; i++) {
      agents.slot[i] = i;
      agents.x[i] = i;
      agents.y[i] = Math.max(0, this.last[i]) * this.config.unit;
      agents.hp[i] = 1;
      agents.heading[i] = Number.NaN;
      agents.action[i] = this.last[i];
      agents.reward[i] = this.out.reward[i];
    }
    return {
      step: this.t,
      episode: Math.max(0, this.episode),
      width: 0,
      height: 0,
      cells: new Uint8Array(0),
      legend: ['empty'],
      groups: ['agents'],
      agents,
    };
  }

  private output(): StepOutput {
    return { groups: this.groups, step: this.t, done: this.done, info: this.info };
  }
}

export const gaussianSqueeze = defineEnvironment({
  name: 'gaussian-squeeze',
  description:
    'Gaussian squeeze (Yang et al. 2018): N agents choose amounts, shared reward x exp(-(x-mu)^2/sigma^2); no grid',
  config: gaussianSqueezeConfig,
  create: (config) => new GaussianSqueeze(config),
});
