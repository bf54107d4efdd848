/**
 * `pnpm gibbs run aif-forage --agents 256 --steps 400`
 *
 * A population of active-inference agents foraging on the aif-forage grid
 * (packages/env/src/aif-forage.ts): no agent sees food, each senses whether it found food in its
 * cell and a noisy smell of the nearest food. Every agent runs the same egocentric generative
 * model (below) with its own beliefs, in one batch (packages/agents/src/aif); with policy length 3
 * and 5 moves it weighs 125 policies per step, trading the utility of finding food against the
 * information a move brings about where the food is.
 *
 * Logged: free_energy (mean F of the state inference), efe (mean q(pi)-expected G) and its parts
 * efe_utility, efe_state_info_gain, efe_param_info_gain (parts of -G), belief_entropy (nats),
 * food_rate (food per agent-step, last step), food_gathered (total this run).
 */
import { AifAgents } from '@gibbs/agents/aif/agent';
import { type Tensor, tensor } from '@gibbs/agents/aif/maths';
import type { AgentConfig, GenerativeModel } from '@gibbs/agents/aif/model';
import { defineExperiment, EpisodeLoop, type EpisodeSummary, type MetricRecord } from '@gibbs/core';
import { AifForageEnv, FORAGE_MOVES, smellLevel } from '@gibbs/env/aif-forage';
import { z } from 'zod';
import {
  AifPlayer,
  aifAgentConfig,
  aifSimulation,
  forageFoodParams,
  forageMapParams,
  inspectForager,
} from './_aif.ts';

export interface ForageModelOptions {
  /** Half-width of the egocentric window of food offsets. */
  radius: number;
  /** Probability that a smell reading is random (as in the world). */
  smellNoise: number;
  /** Per-step probability that the tracked food vanishes (eaten by another agent). */
  volatility: number;
  /** Per-step probability that food appears in the window when none is tracked. */
  appear: number;
  /** Preference for finding food (C of the cell modality). */
  foodPref: number;
  /** Dirichlet concentration of pA (0: no pA). */
  concentration: number;
}

/**
 * The foragers' generative model. One hidden factor: where the nearest food lies relative to the
 * agent, an offset (dx, dy) in [-R, R]^2 (state (dy + R)(2R + 1) + dx + R) or "far" (last state).
 * Moves shift the offset by minus the move; leaving the window means far; food at offset (0, 0)
 * is eaten, so the next state is far. Modalities: cell (food iff offset (0, 0)) and smell (level
 * of the Manhattan distance |dx| + |dy| as the world computes it, none when far, with the same
 * noise).
 */
export function forageModel(o: ForageModelOptions): GenerativeModel {
  const R = o.radius;
  const side = 2 * R + 1;
  const K2 = side * side;
  const ns = K2 + 1;
  const far = K2;
  const centre = R * side + R;
  const nu = FORAGE_MOVES.length;
  const B = tensor([ns, ns, nu]);
  const set = (next: number, prev: number, a: number, v: number) => {
    B.data[(next * ns + prev) * nu + a] += v;
  };
  for (let a = 0; a < nu; a++) {
    const [mx, my] = FORAGE_MOVES[a];
    for (let s = 0; s < K2; s++) {
      const dx = (s % side) - R;
      const dy = Math.floor(s / side) - R;
      if (s === centre) {
        set(far, s, a, 1);
        continue;
      }
      const nx = dx - mx;
      const ny = dy - my;
      if (Math.abs(nx) > R || Math.abs(ny) > R) set(far, s, a, 1);
      else {
        set((ny + R) * side + nx + R, s, a, 1 - o.volatility);
        set(far, s, a, o.volatility);
      }
    }
    set(far, far, a, 1 - o.appear);
    for (let s = 0; s < K2; s++) if (s !== centre) set(s, far, a, o.appear / (K2 - 1));
  }
  const Acell = tensor([2, ns]);
  const Asmell = tensor([3, ns]);
  for (let s = 0; s < ns; s++) {
    Acell.data[(s === centre ? 1 : 0) * ns + s] = 1;
    const level =
      s === far ? 0 : smellLevel(Math.abs((s % side) - R) + Math.abs(Math.floor(s / side) - R));
    for (let l = 0; l < 3; l++)
      Asmell.data[l * ns + s] = (l === level ? 1 - o.smellNoise : 0) + o.smellNoise / 3;
  }
  const D = new Float64Array(ns);
  for (let s = 0; s < K2; s++) if (s !== centre) D[s] = 0.5 / (K2 - 1);
  D[far] = 0.5;
  const counts = (A: Tensor): Tensor => {
    // Dirichlet counts proportional to A; structural zeros stay zero (never learned).
    const t = tensor(A.shape, A.data);
    for (let i = 0; i < t.data.length; i++) t.data[i] *= o.concentration;
    return t;
  };
  return {
    A: [Acell, Asmell],
    B: [B],
    C: [Float64Array.from([0, o.foodPref]), new Float64Array(3)],
    D: [D],
    pA: o.concentration > 0 ? [counts(Acell), counts(Asmell)] : null,
  };
}

export const aifForageParams = z.object({
  ...forageMapParams,
  agents: z.number().int().min(1).max(1_000_000).default(256).describe('foragers'),
  ...forageFoodParams,
  episodeLength: z.number().int().min(1).default(200).describe('steps per episode'),
  radius: z.number().int().min(1).max(4).default(2).describe('half-width of the modelled window'),
  policyLen: z
    .number()
    .int()
    .min(1)
    .max(4)
    .default(3)
    .describe('planning horizon (5^policyLen policies)'),
  gamma: z.number().positive().default(16).describe('policy precision'),
  alpha: z.number().positive().default(16).describe('action precision'),
  foodPref: z.number().default(4).describe('preference for finding food'),
  volatility: z
    .number()
    .min(0)
    .max(1)
    .default(0.05)
    .describe('modelled chance that tracked food vanishes'),
  appear: z
    .number()
    .min(0)
    .max(1)
    .default(0.2)
    .describe('modelled chance that food enters the window'),
  utility: z.boolean().default(true).describe('expected utility in the EFE'),
  stateInfoGain: z.boolean().default(true).describe('state information gain in the EFE'),
  learnA: z.number().min(0).default(0).describe('learning rate of pA (0: the likelihood is fixed)'),
  forget: z.number().min(0).max(1).default(0).describe('forgetting rate of the Dirichlet counts'),
  selection: z
    .enum(['deterministic', 'stochastic'])
    .default('stochastic')
    .describe('action selection'),
});
export type AifForageParams = z.infer<typeof aifForageParams>;

export function forageAgentConfig(p: AifForageParams): AgentConfig {
  return {
    ...aifAgentConfig(p, p.learnA > 0),
    learning: p.learnA > 0 ? { lrA: p.learnA, forget: p.forget } : undefined,
  };
}

export class AifForageSimulation {
  readonly env: AifForageEnv;
  readonly agents: AifAgents;
  /** Core's episode loop: episode e starts from episodeSeed(seed, e). */
  readonly loop: EpisodeLoop;
  foodGathered = 0;
  /** The agents as the foragers' policy: observations [cell, smell]. */
  private readonly player: AifPlayer;
  private lastFood = 0;

  constructor(
    readonly params: AifForageParams,
    seed: number,
  ) {
    const p = params;
    this.env = new AifForageEnv({
      width: p.width,
      height: p.height,
      agents: p.agents,
      food: p.food,
      smellNoise: p.smellNoise,
      maxSteps: p.episodeLength,
    });
    this.agents = new AifAgents({
      model: forageModel({
        radius: p.radius,
        smellNoise: p.smellNoise,
        volatility: p.volatility,
        appear: p.appear,
        foodPref: p.foodPref,
        concentration: p.learnA > 0 ? 2 : 0,
      }),
      config: forageAgentConfig(p),
      count: p.agents,
      seed: seed + 1,
    });
    this.player = new AifPlayer(this.agents, 2);
    this.loop = new EpisodeLoop(this.env, seed);
  }

  advance(): void {
    this.loop.advance((out, actions) => {
      actions[0].set(this.player.act(out.groups[0].features, this.loop.episode));
    });
    this.lastFood = this.loop.out.info.food_eaten;
    this.foodGathered += this.lastFood;
  }

  metrics(): MetricRecord {
    const N = this.params.agents;
    return {
      step: this.loop.step,
      episode: this.loop.episode,
      values: {
        ...this.player.budget,
        food_rate: this.lastFood / N,
        food_gathered: this.foodGathered,
      },
      groups: { foragers: { reward_mean: this.lastFood / N, food_gathered: this.foodGathered } },
    };
  }

  drainEpisodes(): EpisodeSummary[] {
    const N = this.params.agents;
    return this.loop.drainEpisodes().map((e) => ({
      ...e,
      values: { ...e.values, food_per_agent: (e.values.food_eaten ?? 0) / N },
    }));
  }

  inspect(group: number, slot: number) {
    if (group !== 0 || !(slot >= 0 && slot < this.params.agents)) return null;
    return inspectForager(this.agents, this.env, slot, this.params.radius);
  }
}

export default defineExperiment({
  name: 'aif-forage',
  description:
    'A population of active-inference foragers: noisy smell, 125 policies, epistemic and pragmatic value',
  params: aifForageParams,
  defaultSteps: 400,
  create: ({ params, seed }) => aifSimulation(new AifForageSimulation(params, seed)),
});
