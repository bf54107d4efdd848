/**
 * `pnpm gibbs run battle [--agents N] [--map W] [--placement block|random] [--threads K]`
 *
 * MAgent2's battle (packages/env/src/battle.ts) played by a uniform random policy on both sides,
 * episode after episode: when one ends (a side wiped out, or `maxSteps`), the next starts at once.
 * Episode e starts from episodeSeed(seed, e) (core's one rule) and the policy draws from a stream
 * seeded by the run's seed, so a run is a pure function of its config and seed.
 *
 * Logged each step: values episode_step; per group alive, reward_mean (over the agents that acted
 * on the step), kills (in the episode so far), kills_step, hits_step and episode_reward_mean (the
 * group's episode return so far, per slot).
 */
import {
  allocActions,
  defineExperiment,
  type EpisodeSummary,
  episodeSeed,
  type MetricRecord,
  Rng,
  type Simulation,
  type StepOutput,
} from '@gibbs/core';
import {
  ACTION_NAMES,
  BATTLE_GROUPS,
  Battle,
  defaultAgents,
  N_ACTIONS,
  N_FEATURES,
  STAY,
  VIEW_CHANNELS,
  VIEW_RADIUS,
  VIEW_SIZE,
} from '@gibbs/env/battle';
import { z } from 'zod';

export const battleParams = z.object({
  agents: z
    .number()
    .int()
    .positive()
    .optional()
    .describe('agents per side (default: as MAgent, floor(0.2 map)^2 in a block)'),
  map: z
    .number()
    .int()
    .min(3)
    .max(8192)
    .default(45)
    .describe('side of the square map, walls included'),
  placement: z.enum(['block', 'random']).default('block').describe('two facing blocks, or uniform'),
  maxSteps: z.number().int().positive().default(1000).describe('steps after which an episode ends'),
  threads: z
    .number()
    .int()
    .min(1)
    .max(64)
    .default(1)
    .describe('threads sharing attacks, moves and observations (identical results)'),
});

export type BattleParams = z.infer<typeof battleParams>;

class BattleSimulation implements Simulation {
  private readonly env: Battle;
  private readonly policy: Rng;
  private readonly actions: Int32Array[];
  private out: StepOutput;
  private step = 0;
  private episode = 0;
  private episodeStep = 0;
  private readonly kills = new Float64Array(2);
  private readonly stepKills = new Float64Array(2);
  private readonly stepHits = new Float64Array(2);
  private readonly rewardMean = new Float64Array(2);
  private readonly episodeReward = new Float64Array(2);
  private readonly finished: EpisodeSummary[] = [];

  constructor(
    params: BattleParams,
    private readonly seed: number,
  ) {
    this.env = new Battle({
      map: params.map,
      agents: params.agents,
      placement: params.placement,
      maxSteps: params.maxSteps,
      threads: params.threads,
    });
    this.policy = new Rng(seed).fork();
    this.actions = allocActions(this.env.spec);
    this.out = this.env.reset(episodeSeed(seed, 0));
  }

  advance(): void {
    if (this.out.done) this.nextEpisode();
    const rng = this.policy;
    for (let g = 0; g < 2; g++) {
      const alive = this.out.groups[g].alive;
      const a = this.actions[g];
      for (let i = 0; i < a.length; i++) a[i] = alive[i] === 1 ? rng.int(N_ACTIONS) : STAY;
    }
    this.out = this.env.step(this.actions);
    this.step++;
    this.episodeStep++;
    const info = this.out.info;
    BATTLE_GROUPS.forEach((name, g) => {
      const other = BATTLE_GROUPS[1 - g];
      const o = this.out.groups[g];
      let sum = 0;
      for (let i = 0; i < o.reward.length; i++) sum += o.reward[i];
      // Agents that acted: alive now, or killed on this step (dead slots earn 0).
      const acting = info[`alive.${name}`] + info[`kills.${other}`];
      this.rewardMean[g] = acting > 0 ? sum / acting : 0;
      this.episodeReward[g] += sum;
      this.stepKills[g] = info[`kills.${name}`];
      this.stepHits[g] = info[`hits.${name}`];
      this.kills[g] += info[`kills.${name}`];
    });
    if (this.out.done) this.finish();
  }

  metrics(): MetricRecord {
    const groups: Record<string, Record<string, number>> = {};
    BATTLE_GROUPS.forEach((name, g) => {
      groups[name] = {
        alive: this.out.info[`alive.${name}`],
        reward_mean: this.rewardMean[g],
        kills: this.kills[g],
        kills_step: this.stepKills[g],
        hits_step: this.stepHits[g],
        episode_reward_mean: this.episodeReward[g] / this.env.spec.groups[g].capacity,
      };
    });
    return {
      step: this.step,
      episode: this.episode,
      values: { episode_step: this.episodeStep },
      groups,
    };
  }

  drainEpisodes(): EpisodeSummary[] {
    return this.finished.splice(0);
  }

  frame() {
    return this.env.render();
  }

  inspect(group: number, slot: number) {
    if (group !== 0 && group !== 1) return null;
    if (!(slot >= 0 && slot < this.env.spec.groups[group].capacity)) return null;
    const a = this.env.agent(group, slot);
    if (!a.alive) return null;
    return {
      group: BATTLE_GROUPS[group],
      slot,
      values: {
        x: a.x,
        y: a.y,
        hp: a.hp,
        action: a.action,
        reward: this.out.groups[group].reward[slot],
      },
      distributions: { policy: new Array(N_ACTIONS).fill(1 / N_ACTIONS) },
      labels: { policy: ACTION_NAMES },
    };
  }

  dispose(): Promise<void> {
    return this.env.dispose();
  }

  private finish(): void {
    const groups: Record<string, Record<string, number>> = {};
    BATTLE_GROUPS.forEach((name, g) => {
      groups[name] = {
        alive: this.out.info[`alive.${name}`],
        kills: this.kills[g],
        reward_sum: this.episodeReward[g],
      };
    });
    const [k0, k1] = this.kills;
    this.finished.push({
      episode: this.episode,
      step: this.step,
      length: this.episodeStep,
      // 0: red won (more kills), 1: blue, -1: a draw
      values: { winner: k0 > k1 ? 0 : k1 > k0 ? 1 : -1 },
      groups,
    });
  }

  private nextEpisode(): void {
    this.episode++;
    this.episodeStep = 0;
    this.kills.fill(0);
    this.episodeReward.fill(0);
    this.out = this.env.reset(episodeSeed(this.seed, this.episode));
  }
}

export default defineExperiment({
  name: 'battle',
  description:
    "MAgent2's battle_v4 (red vs blue, 21 actions, 13x13x5 views) played by uniform random policies",
  params: battleParams,
  defaultSteps: 1000,
  estimateBytes: battleBytes,
  create: ({ params, seed }) => new BattleSimulation(params, seed),
});

/**
 * About what a Battle of this size allocates (battle-kernels.ts's layoutOf): every agent's
 * 13x13x5 view and features plus ~64 bytes of per-agent state, each group's padded map, the
 * occupancy grid and the placement's per-cell scratch.
 */
export function battleBytes(p: { map: number; agents?: number }): number {
  const n = 2 * (p.agents ?? Math.max(1, defaultAgents(p.map)));
  const padded = (p.map + 2 * VIEW_RADIUS) ** 2 * VIEW_CHANNELS * 4;
  return n * (4 * VIEW_SIZE + 4 * N_FEATURES + 64) + 2 * padded + 12 * p.map * p.map;
}
