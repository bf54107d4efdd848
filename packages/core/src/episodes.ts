/**
 * The episode loop: play an environment episode after episode with a policy that fills the
 * action arrays, and keep per-group statistics of the last step and of the episode. Episode e of a
 * run with seed S starts from `env.reset(episodeSeed(S, e))`: the one seeding rule of Gibbs's
 * loops, so a run is a pure function of its config and seed, and a run resumed at episode e needs
 * no random state to get episode e's start.
 */
import { allocActions, type Environment, type StepOutput } from './env.ts';
import type { EpisodeSummary, MetricRecord, Simulation } from './experiment.ts';
import type { Rng } from './rng.ts';

/**
 * The seed of episode `episode` of a run with seed `seed`: MurmurHash3's 32-bit finaliser (fmix32)
 * of the seed mixed with the episode times the golden-ratio constant. For one seed it is a
 * bijection of the episode number (no two episodes share a start), and neighbouring seeds or
 * episodes give unrelated streams.
 */
export function episodeSeed(seed: number, episode: number): number {
  let h = (seed ^ Math.imul(episode + 1, 0x9e3779b9)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Fill `actions[g]` for every slot of every group from the current output. */
export type Policy = (out: StepOutput, actions: Int32Array[]) => void;

/** Uniform random actions in [0, nActions[g]) for every slot of every group, drawn from `rng`. */
export function randomPolicy(rng: Rng, nActions: readonly number[]): Policy {
  return (_out, actions) => {
    for (let g = 0; g < actions.length; g++)
      for (let i = 0; i < actions[g].length; i++) actions[g][i] = rng.int(nActions[g]);
  };
}

/**
 * The simulation of an experiment that plays `loop` under `policy`: its metrics are `values()` and
 * the loop's per-group statistics, its frames the environment's.
 */
export function loopSimulation(
  loop: EpisodeLoop,
  policy: Policy,
  values: () => Record<string, number>,
): Simulation {
  return {
    advance: () => loop.advance(policy),
    metrics(): MetricRecord {
      return {
        step: loop.step,
        episode: loop.episode,
        values: values(),
        groups: loop.groupStats(),
      };
    },
    drainEpisodes: () => loop.drainEpisodes(),
    frame: () => loop.env.render(),
  };
}

export class EpisodeLoop {
  out: StepOutput;
  step = 0;
  episode = 0;
  episodeStep = 0;
  readonly actions: Int32Array[];
  /** Per group: slots alive before the last step, reward sum of the step and of the episode. */
  private readonly wasAlive: Uint8Array[];
  private readonly stepReward: Float64Array;
  private readonly stepActing: Float64Array;
  private readonly episodeReward: Float64Array;
  private readonly finished: EpisodeSummary[] = [];
  /** Info counters summed over the episode. */
  private readonly episodeInfo: Record<string, number> = {};

  constructor(
    readonly env: Environment,
    readonly seed: number,
  ) {
    const groups = env.spec.groups;
    this.actions = allocActions(env.spec);
    this.wasAlive = groups.map((g) => new Uint8Array(g.capacity));
    this.stepReward = new Float64Array(groups.length);
    this.stepActing = new Float64Array(groups.length);
    this.episodeReward = new Float64Array(groups.length);
    this.out = env.reset(episodeSeed(seed, 0));
  }

  /** One environment step under `policy`; starts the next episode after a finished one. */
  advance(policy: Policy): void {
    if (this.out.done) this.nextEpisode();
    const groups = this.env.spec.groups;
    for (let g = 0; g < groups.length; g++) this.wasAlive[g].set(this.out.groups[g].alive);
    policy(this.out, this.actions);
    this.out = this.env.step(this.actions);
    this.step++;
    this.episodeStep++;
    for (let g = 0; g < groups.length; g++) {
      const o = this.out.groups[g];
      const was = this.wasAlive[g];
      let sum = 0;
      let n = 0;
      for (let i = 0; i < was.length; i++)
        if (was[i]) {
          sum += o.reward[i];
          n++;
        }
      this.stepReward[g] = sum;
      this.stepActing[g] = n;
      this.episodeReward[g] += sum;
    }
    for (const [k, v] of Object.entries(this.out.info))
      this.episodeInfo[k] = (this.episodeInfo[k] ?? 0) + v;
    if (this.out.done) this.finish();
  }

  /** alive, reward_mean (over agents that acted) and reward_sum of the last step, per group. */
  groupStats(): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {};
    this.env.spec.groups.forEach((g, gi) => {
      let alive = 0;
      const a = this.out.groups[gi].alive;
      for (let i = 0; i < a.length; i++) alive += a[i];
      out[g.name] = {
        alive,
        reward_mean: this.stepActing[gi] > 0 ? this.stepReward[gi] / this.stepActing[gi] : 0,
        reward_sum: this.stepReward[gi],
        episode_reward: this.episodeReward[gi],
      };
    });
    return out;
  }

  /** Sum of an info counter over the episode so far. */
  episodeTotal(key: string): number {
    return this.episodeInfo[key] ?? 0;
  }

  drainEpisodes(): EpisodeSummary[] {
    return this.finished.splice(0);
  }

  private finish(): void {
    const groups: Record<string, Record<string, number>> = {};
    this.env.spec.groups.forEach((g, gi) => {
      groups[g.name] = { reward_sum: this.episodeReward[gi] };
    });
    this.finished.push({
      episode: this.episode,
      step: this.step,
      length: this.episodeStep,
      values: { ...this.episodeInfo },
      groups,
    });
  }

  private nextEpisode(): void {
    this.episode++;
    this.episodeStep = 0;
    this.episodeReward.fill(0);
    for (const k of Object.keys(this.episodeInfo)) this.episodeInfo[k] = 0;
    this.out = this.env.reset(episodeSeed(this.seed, this.episode));
  }
}
