/**
 * Self-play training on a two-group environment, as mlii/mfrl trains Battle: the learner plays
 * one group, an opponent of the same algorithm the other. SelfPlay is PopulationTrainer
 * (trainer.ts, where the loop is: act, store, step, and the learner's training at the end of a
 * round) with two roles, learner and opponent, plus what is its own:
 * - the win rule: more kills, a group's kills being the world's `kills.<group>` counter summed
 *   over the round where it reports one, else the other group's deaths;
 * - after a round the learner won, the opponent follows it by a soft update
 *   theta_opp <- tau theta_learner + (1 - tau) theta_opp;
 * - evaluation (train: false): both play, Q-learners at evalTemperature, actor-critics at 1;
 * - its metrics, round summaries and checkpoint state, whose names and format predate the trainer.
 *
 * It wraps the trainer rather than extending it: its constructor, options, summaries and state
 * are another API over the same loop, and a subclass would inherit the trainer's in conflict.
 * Round r starts from episodeSeed(seed, r) and everything else random comes from one seeded Rng,
 * so a run is a pure function of its seed.
 */
import {
  type Environment,
  type EpisodeSummary,
  GibbsError,
  type MetricRecord,
  type Rng,
} from '@gibbs/core';
import { z } from 'zod';
import { describeShape, groupShape, sameShape } from './learners.ts';
import type { Learner, TrainStats } from './policy.ts';
import type { PoolOptions } from './pool/index.ts';
import { trainStatsValues } from './rollout.ts';
import {
  type EpisodeStats,
  type GroupRole,
  type GroupStepStats,
  PopulationTrainer,
  type TrainerState,
} from './trainer.ts';

export {
  ALGO_CONFIGS,
  createLearner,
  createPlayer,
  describeShape,
  groupShape,
  sameShape,
} from './learners.ts';
export { WIN_WINDOW } from './trainer.ts';

export const SelfPlayConfig = z.object({
  /** Rounds (episodes) to train; the simulation idles once they are done. */
  rounds: z.number().int().positive(),
  /** Soft-update rate of the opponent towards the learner after a round the learner won. */
  opponentTau: z.number().min(0).max(1).default(0.01),
  /** Index of the learner's group. */
  learnerGroup: z.number().int().min(0).max(1).default(0),
  /** false: evaluation: no experience kept, no training, no opponent update. */
  train: z.boolean().default(true),
  /** Boltzmann temperature of Q-learners when not training (actor-critics sample at 1). */
  evalTemperature: z.number().positive().default(0.1),
  /**
   * Threads for forward passes and gradients (pool/index.ts): this one and threads - 1 workers.
   * One seed and one thread count give one run, byte for byte.
   */
  threads: z.number().int().min(1).max(64).default(1),
});
export type SelfPlayConfig = z.infer<typeof SelfPlayConfig>;

export interface SelfPlayOptions {
  /** Called after a round is trained (for checkpoints); may be async. */
  onRoundEnd?: (sp: SelfPlay) => void | Promise<void>;
  /** How the thread pool splits work (threads > 1). */
  pool?: PoolOptions;
}

/** A group's kills: the world's `kills.<name>` counter if it has one, else the other's deaths. */
function kills(info: Readonly<Record<string, number>>, name: string, otherDeaths: number): number {
  const k = info[`kills.${name}`];
  return typeof k === 'number' ? k : otherDeaths;
}

/** The round's kills of both groups. */
function roundKills(e: EpisodeStats): [number, number] {
  const [a, b] = e.groups;
  return [kills(e.info, a.name, b.deaths), kills(e.info, b.name, a.deaths)];
}

/** A group's last step and round, as checkpoints from before the trainer saved them. */
interface SavedStep {
  alive: number;
  reward: number;
  kills: number;
  entropy: number;
  meanPolicyEntropy: number;
}
interface SavedRound {
  kills: number;
  rewardSum: number;
  agentSteps: number;
  entropySum: number;
}

export class SelfPlay {
  readonly cfg: SelfPlayConfig;
  /** The networks by group: the learner's and the opponent's. */
  readonly agents: Learner[];
  /** The loop SelfPlay plays. */
  readonly trainer: PopulationTrainer;

  constructor(
    readonly env: Environment,
    readonly learner: Learner,
    readonly opponent: Learner,
    config: z.input<typeof SelfPlayConfig>,
    seed: number,
    readonly options: SelfPlayOptions = {},
  ) {
    this.cfg = SelfPlayConfig.parse(config);
    const cfg = this.cfg;
    const groups = env.spec.groups;
    if (groups.length !== 2) {
      throw GibbsError.invalid(
        'environment.groups',
        groups.length,
        'exactly 2 groups for self-play',
      );
    }
    const L = cfg.learnerGroup;
    this.agents = L === 0 ? [learner, opponent] : [opponent, learner];
    for (let g = 0; g < 2; g++) {
      const s = this.agents[g].shape;
      const e = groupShape(env, g);
      if (!sameShape(s, e)) {
        throw new GibbsError(
          `self-play: the ${g === L ? 'learner' : 'opponent'} network takes ${describeShape(s)}, group "${groups[g].name}" observes ${describeShape(e)}`,
          'shape',
          describeShape(s),
          describeShape(e),
        );
      }
    }
    // Training: the learner learns, the opponent plays at the learner's temperature of the round.
    // Evaluation: both play, Q-learners at evalTemperature, actor-critics sample their policy.
    const evalAt = (a: Learner) => (a.algo === 'mfq' || a.algo === 'il' ? cfg.evalTemperature : 1);
    const roles: GroupRole[] = this.agents.map((a, g) =>
      !cfg.train ? { play: a, temperature: evalAt(a) } : g === L ? { learn: a } : { play: a },
    );
    this.trainer = new PopulationTrainer(
      env,
      {
        groups: roles,
        episodes: cfg.rounds,
        winner: (e) => {
          const [a, b] = roundKills(e);
          return a > b ? 0 : b > a ? 1 : null;
        },
        summary: (e, w) => this.summary(e, w),
        threads: cfg.threads,
        pool: options.pool,
        onEpisodeEnd: () => this.roundEnd(),
      },
      seed,
    );
  }

  get rng(): Rng {
    return this.trainer.rng;
  }

  /** Rounds (= episodes) finished, environment steps taken. */
  get round(): number {
    return this.trainer.episode;
  }

  get step(): number {
    return this.trainer.step;
  }

  get finished(): boolean {
    return this.trainer.finished;
  }

  /** Extend the number of rounds (a resumed run that trains further). */
  setRounds(rounds: number): void {
    (this.cfg as { rounds: number }).rounds = rounds;
    this.trainer.setEpisodes(rounds);
  }

  /** Summary of the last finished round. */
  get lastSummary(): EpisodeSummary | null {
    return this.trainer.lastSummary;
  }

  /** Wall-clock milliseconds of the last training round (benchmarks). */
  get lastTrainMs(): number {
    return this.trainer.lastTrainMs;
  }

  /**
   * Start the thread pool (threads > 1) and the environment's own workers; `advance` calls it
   * on first use.
   */
  ready(): Promise<void> {
    return this.trainer.ready();
  }

  /** Live agents of both groups now (what the next step will act for). */
  liveAgents(): number {
    return this.trainer.liveAgents();
  }

  /** One environment step; at the end of a round, the learner trains. */
  advance(): Promise<void> {
    return this.trainer.advance();
  }

  /** After a round, its learner trained: the opponent follows a winning learner. */
  private async roundEnd(): Promise<void> {
    if (this.cfg.train && this.learnerWon())
      this.opponent.policyParams.softUpdate(this.learner.policyParams, this.cfg.opponentTau);
    if (this.options.onRoundEnd) await this.options.onRoundEnd(this);
  }

  private learnerWon(): number {
    return this.trainer.lastWinner === this.cfg.learnerGroup ? 1 : 0;
  }

  private trainValues(): Record<string, number> {
    return trainStatsValues(this.trainer.trainStatsOf(this.cfg.learnerGroup));
  }

  private summary(e: EpisodeStats, winner: number | null): EpisodeSummary {
    const t = this.trainer;
    const k = roundKills(e);
    const groups: Record<string, Record<string, number>> = {};
    e.groups.forEach((s, g) => {
      groups[s.name] = {
        kills: k[g],
        reward_mean: s.rewardMean,
        reward_total: s.reward,
        alive: s.alive,
        policy_entropy: s.policyEntropy,
      };
    });
    return {
      episode: e.episode,
      step: t.step,
      length: e.length,
      values: {
        ...this.trainValues(),
        // The logged temperature is the first group's (both play at it while training).
        temperature: t.temperatureOf(0),
        learner_won: winner === this.cfg.learnerGroup ? 1 : 0,
        win_rate: t.winRate(this.cfg.learnerGroup),
      },
      groups,
    };
  }

  metrics(): MetricRecord {
    const t = this.trainer;
    const step = t.lastStep;
    const round = t.episodeStats();
    const k = roundKills(round);
    const g: Record<string, Record<string, number>> = {};
    let entSum = 0;
    let aliveSum = 0;
    for (let i = 0; i < 2; i++) {
      const st = step[i];
      const name = round.groups[i].name;
      g[name] = {
        alive: st.alive,
        reward_mean: st.reward,
        kills: kills(t.lastStepInfo, name, step[1 - i].deaths),
        kills_round: k[i],
        policy_entropy: st.entropy,
        mean_policy_entropy: st.meanPolicyEntropy,
      };
      entSum += st.entropy * st.alive;
      aliveSum += st.alive;
    }
    return {
      step: t.step,
      episode: t.episode,
      values: {
        ...this.trainValues(),
        temperature: t.temperatureOf(0),
        policy_entropy: aliveSum > 0 ? entSum / aliveSum : 0,
        round: t.episode,
        learner_won: this.learnerWon(),
        win_rate: t.winRate(this.cfg.learnerGroup),
      },
      groups: g,
    };
  }

  drainEpisodes(): EpisodeSummary[] {
    return this.trainer.drainEpisodes();
  }

  /**
   * What a checkpoint restores besides networks and memory (taken between rounds): the trainer's
   * state in SelfPlay's own format (round, kills per group, the learner's wins), which
   * checkpoints have always had.
   */
  state(): Record<string, unknown> {
    const s = this.trainer.state();
    const L = this.cfg.learnerGroup;
    const names = this.env.spec.groups.map((g) => g.name);
    const stepStats: SavedStep[] = s.lastStep.map((st, g) => ({
      alive: st.alive,
      reward: st.reward,
      kills: kills(s.stepInfo, names[g], s.lastStep[1 - g].deaths),
      entropy: st.entropy,
      meanPolicyEntropy: st.meanPolicyEntropy,
    }));
    const roundStats: SavedRound[] = s.counts.map((c, g) => ({
      kills: kills(s.info, names[g], s.counts[1 - g].deaths),
      rewardSum: c.reward,
      agentSteps: c.agentSteps,
      entropySum: c.entropySum,
    }));
    return {
      round: s.episode,
      step: s.step,
      rng: s.rng,
      lastTrain: s.learners[0]?.lastTrain ?? null,
      lastWin: s.lastWinner === L ? 1 : 0,
      recentWins: s.recentWinners.map((w) => (w === L ? 1 : 0)),
      stepStats,
      roundStats,
      temperature: s.temperatures[0],
      learnerCounters: this.learner.counters(),
    };
  }

  setState(s: Record<string, unknown>): void {
    const L = this.cfg.learnerGroup;
    const steps = (s.stepStats ?? []) as Partial<SavedStep>[];
    const rounds = (s.roundStats ?? []) as Partial<SavedRound>[];
    // Kills were saved, not deaths: group g's deaths are the other group's kills (what the
    // metrics show until the world's next counters).
    const lastStep: GroupStepStats[] = [0, 1].map((g) => ({
      alive: steps[g]?.alive ?? 0,
      reward: steps[g]?.reward ?? 0,
      deaths: steps[1 - g]?.kills ?? 0,
      entropy: steps[g]?.entropy ?? 0,
      meanPolicyEntropy: steps[g]?.meanPolicyEntropy ?? 0,
    }));
    const counts = [0, 1].map((g) => ({
      reward: rounds[g]?.rewardSum ?? 0,
      agentSteps: rounds[g]?.agentSteps ?? 0,
      deaths: rounds[1 - g]?.kills ?? 0,
      entropySum: rounds[g]?.entropySum ?? 0,
    }));
    const counters = s.learnerCounters as Record<string, number>;
    // Checkpoints from before the win rate: it starts again from that round.
    const wins = Array.isArray(s.recentWins) ? (s.recentWins as number[]) : [];
    const temperature = s.temperature as number;
    const state: TrainerState = {
      episode: s.round as number,
      step: s.step as number,
      rng: s.rng as number[],
      temperatures: [temperature, temperature],
      // Evaluation trains nothing: no network of the trainer's learns.
      learners: this.cfg.train
        ? [{ counters, lastTrain: (s.lastTrain as TrainStats | null) ?? null }]
        : [],
      lastWinner: s.lastWin ? L : null,
      recentWinners: wins.map((w) => (w ? L : null)),
      lastStep,
      stepInfo: {},
      counts,
      info: {},
    };
    this.trainer.setState(state);
    if (!this.cfg.train) this.learner.setCounters(counters);
  }

  /** Dispose both agents now; the promise settles when the pool's workers have stopped. */
  dispose(): Promise<void> {
    return this.trainer.dispose();
  }
}
