/**
 * Self-play training on a two-group environment, as mlii/mfrl trains Battle: the learner plays
 * one group, an opponent of the same algorithm the other. Every step both groups act (one forward
 * pass per group), the learner's experience goes into its memory; at the end of a round the
 * learner trains, and if it won the round (more kills) the opponent follows it by a soft update
 * theta_opp <- tau theta_learner + (1 - tau) theta_opp.
 *
 * The mean action an agent sees is its own group's mean one-hot action of the previous step
 * (mfrl's `former_act_prob`; zero at the first step of a round), from core's `groupMeanAction`.
 * Round r starts from episodeSeed(seed, r) and everything else random comes from one seeded Rng,
 * so a run is a pure function of its seed.
 */
import {
  allocActions,
  type Environment,
  type EpisodeSummary,
  episodeSeed,
  GibbsError,
  groupMeanAction,
  type MetricRecord,
  Rng,
  type StepOutput,
} from '@gibbs/core';
import { z } from 'zod';
import { AC, ACConfig } from './ac.ts';
import { IL } from './il.ts';
import { MFAC, MFACConfig } from './mfac.ts';
import { MFQ, MFQConfig } from './mfq.ts';
import type { NetShape, ObsBatch } from './nets.ts';
import {
  ALGOS,
  type Algo,
  entropy,
  type Learner,
  sharedFloat32,
  type TrainStats,
} from './policy.ts';
import { type PoolOptions, ThreadPool } from './pool/index.ts';
import {
  actGroup,
  allocGroupBatch,
  countStep,
  ExperienceWriter,
  gatherLive,
  trainStatsValues,
} from './rollout.ts';

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

/** The hyperparameter schema of each algorithm. */
export const ALGO_CONFIGS = {
  mfq: MFQConfig,
  il: MFQConfig,
  mfac: MFACConfig,
  ac: ACConfig,
} as const;

/** A learner of `algo` for observations of `shape`; `config` overrides its defaults. */
export function createLearner(
  algo: Algo,
  shape: Omit<NetShape, 'meanAction'>,
  config: Record<string, unknown>,
  rng: Rng,
): Learner {
  if (!(ALGOS as readonly string[]).includes(algo)) {
    throw GibbsError.invalid('algo', algo, `one of ${ALGOS.join(', ')}`);
  }
  const schema = ALGO_CONFIGS[algo];
  const parsed = schema.strict().safeParse(config);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = issue.path.join('.') || String((issue as { keys?: string[] }).keys?.[0] ?? '');
    throw new GibbsError(
      `${algo} config: ${key}: ${issue.message}; valid keys: ${Object.keys(schema.shape).join(', ')}`,
      `config.${key}`,
      (config as Record<string, unknown>)[key],
      issue.message,
    );
  }
  switch (algo) {
    case 'mfq':
      return new MFQ(shape, parsed.data as MFQConfig, rng);
    case 'il':
      return new IL(shape, parsed.data as MFQConfig, rng);
    case 'mfac':
      return new MFAC(shape, parsed.data as MFACConfig, rng);
    case 'ac':
      return new AC(shape, parsed.data as ACConfig, rng);
  }
}

/** An acting-only copy of an algorithm (an opponent or an evaluated checkpoint): no big memory. */
export function createPlayer(
  algo: Algo,
  shape: Omit<NetShape, 'meanAction'>,
  config: Record<string, unknown>,
  rng: Rng,
): Learner {
  const small = algo === 'mfq' || algo === 'il' ? { replayCapacity: 2 } : { memoryCapacity: 2 };
  return createLearner(algo, shape, { ...config, ...small }, rng);
}

/** The network input shape of one group of an environment. */
export function groupShape(env: Environment, g: number): Omit<NetShape, 'meanAction'> {
  const s = env.spec.groups[g];
  return {
    view: s.view ? { height: s.view.height, width: s.view.width, channels: s.view.channels } : null,
    features: s.features,
    actions: s.actions,
  };
}

/** Per-group accumulators of one round. */
interface RoundStats {
  kills: number;
  rewardSum: number;
  agentSteps: number;
  entropySum: number;
}

/** Policy statistics of the last step of one group. */
interface StepStats {
  alive: number;
  reward: number;
  kills: number;
  entropy: number;
  meanPolicyEntropy: number;
}

export interface SelfPlayOptions {
  /** Called after a round is trained (for checkpoints); may be async. */
  onRoundEnd?: (sp: SelfPlay) => void | Promise<void>;
  /** How the thread pool splits work (threads > 1). */
  pool?: PoolOptions;
}

/** Rounds the learner's win rate (`win_rate`) averages over. */
export const WIN_WINDOW = 10;
export class SelfPlay {
  readonly rng: Rng;
  readonly agents: Learner[];
  /** Rounds finished, steps taken, episodes (= rounds) finished. */
  round = 0;
  step = 0;
  private inRound = false;
  private out: StepOutput | null = null;
  private temperature = 1;
  private readonly temps = [1, 1];
  private readonly actions: Int32Array[];
  private readonly aliveBefore: Uint8Array[];
  private readonly groupMean: Float32Array[];
  private readonly staging: ObsBatch[];
  private readonly slots: Int32Array[];
  private readonly liveActions: Int32Array[];
  private readonly probs: Float32Array[];
  private readonly meanPolicy: Float64Array[];
  /** The learner's experience, written into its memory step by step. */
  private readonly writer: ExperienceWriter;
  private readonly roundStats: RoundStats[];
  private readonly stepStats: StepStats[];
  private lastTrain: TrainStats | null = null;
  private lastWin = 0;
  /** 1/0 for the learner's last WIN_WINDOW rounds, oldest first (the win rate). */
  private recentWins: number[] = [];
  private episodes: EpisodeSummary[] = [];
  /** Summary of the last finished round. */
  lastSummary: EpisodeSummary | null = null;
  private stepsInRound = 0;
  private pool: ThreadPool | null = null;
  /** Wall-clock milliseconds of the last training round (benchmarks). */
  lastTrainMs = 0;
  readonly cfg: SelfPlayConfig;
  private starting: Promise<void> | null = null;

  constructor(
    readonly env: Environment,
    readonly learner: Learner,
    readonly opponent: Learner,
    config: z.input<typeof SelfPlayConfig>,
    private readonly seed: number,
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
    this.rng = new Rng(seed);
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
    this.actions = allocActions(env.spec);
    this.aliveBefore = groups.map((g) => new Uint8Array(g.capacity));
    this.groupMean = groups.map((g) => new Float32Array(g.actions));
    // On shared memory: the pool's workers read the rows and write the policies in place.
    this.staging = groups.map(allocGroupBatch);
    this.slots = groups.map((g) => new Int32Array(g.capacity));
    this.liveActions = groups.map((g) => new Int32Array(g.capacity));
    this.probs = groups.map((g) => sharedFloat32(g.capacity * g.actions));
    this.meanPolicy = groups.map((g) => new Float64Array(g.actions));
    this.writer = new ExperienceWriter(groups[L].capacity);
    this.roundStats = groups.map(() => ({ kills: 0, rewardSum: 0, agentSteps: 0, entropySum: 0 }));
    this.stepStats = groups.map(() => ({
      alive: 0,
      reward: 0,
      kills: 0,
      entropy: 0,
      meanPolicyEntropy: 0,
    }));
  }

  get finished(): boolean {
    return this.round >= this.cfg.rounds;
  }

  /** Extend the number of rounds (a resumed run that trains further). */
  setRounds(rounds: number): void {
    (this.cfg as { rounds: number }).rounds = rounds;
  }

  /**
   * Start the thread pool (threads > 1) and the environment's own workers; `advance` calls it
   * on first use.
   */
  ready(): Promise<void> {
    this.starting ??= (async () => {
      await this.env.ready?.();
      if (this.cfg.threads > 1) {
        this.pool = await ThreadPool.create(this.cfg.threads, this.options.pool);
        await this.pool.register(this.learner);
        await this.pool.register(this.opponent);
      }
    })();
    return this.starting;
  }

  /** Live agents of both groups now (what the next step will act for). */
  liveAgents(): number {
    let n = 0;
    const out = this.out;
    if (!out || !this.inRound) return this.env.spec.groups.reduce((s, g) => s + g.capacity, 0);
    for (const g of out.groups) for (let i = 0; i < g.alive.length; i++) n += g.alive[i];
    return n;
  }

  /** One environment step; at the end of a round, the learner trains. */
  async advance(): Promise<void> {
    if (this.finished) return;
    await this.ready();
    if (!this.inRound) this.beginRound();
    await this.actAndStep();
    if (this.out?.done) {
      await this.endRound();
      if (this.options.onRoundEnd) await this.options.onRoundEnd(this);
    }
  }

  private beginRound(): void {
    // Round r starts from episodeSeed(seed, r): a resumed run needs no random state for it.
    this.out = this.env.reset(episodeSeed(this.seed, this.round));
    // Training: both groups at the learner's temperature of this round. Evaluation: Q-learners
    // at evalTemperature, actor-critics sample their policy (1); the logged value is red's.
    const t = this.learner.temperatureAt(this.round);
    for (let g = 0; g < 2; g++) {
      const a = this.agents[g].algo;
      const q = a === 'mfq' || a === 'il';
      this.temps[g] = this.cfg.train ? t : q ? this.cfg.evalTemperature : 1;
    }
    this.temperature = this.cfg.train ? t : this.temps[0];
    for (const m of this.groupMean) m.fill(0);
    this.writer.begin();
    for (const r of this.roundStats) {
      r.kills = 0;
      r.rewardSum = 0;
      r.agentSteps = 0;
      r.entropySum = 0;
    }
    this.stepsInRound = 0;
    this.inRound = true;
  }

  private async actAndStep(): Promise<void> {
    const out = this.out as StepOutput;
    const groups = this.env.spec.groups;
    const L = this.cfg.learnerGroup;
    for (let g = 0; g < 2; g++) {
      const gs = out.groups[g];
      // Gather the live agents' observations: one forward pass for the whole group.
      const n = gatherLive(groups[g], gs, this.groupMean[g], this.staging[g], this.slots[g]);
      const acts = this.actions[g];
      const mp = this.meanPolicy[g];
      const ent = await actGroup(
        this.agents[g],
        this.staging[g],
        this.slots[g],
        this.temps[g],
        this.rng,
        this.liveActions[g],
        this.probs[g],
        acts,
        mp,
      );
      this.aliveBefore[g].set(gs.alive);
      const st = this.stepStats[g];
      st.entropy = n > 0 ? ent / n : 0;
      st.meanPolicyEntropy = n > 0 ? entropy(mp) : 0;
      this.roundStats[g].entropySum += ent;
      // The learner's experience: (s, abar, a) now; r and the successor after the step.
      if (g === L && this.cfg.train) {
        const mean = this.learner.meanField ? this.groupMean[g] : null;
        this.writer.store(this.learner.memory, gs, this.slots[g], n, mean, acts);
      }
    }

    const next = this.env.step(this.actions);
    this.out = next;
    this.step++;
    this.stepsInRound++;

    for (let g = 0; g < 2; g++) {
      // mfrl's former_act_prob: the mean one-hot action of the agents that just acted.
      groupMeanAction(this.actions[g], this.aliveBefore[g], groups[g].actions, this.groupMean[g]);
    }
    for (let g = 0; g < 2; g++) {
      const o = 1 - g;
      const { alive, reward, acted } = countStep(next.groups[g], this.aliveBefore[g]);
      let deaths = 0;
      const go = next.groups[o];
      for (let i = 0; i < groups[o].capacity; i++)
        if (this.aliveBefore[o][i] && !go.alive[i]) deaths++;
      const infoKills = next.info[`kills.${groups[g].name}`];
      const kills = typeof infoKills === 'number' ? infoKills : deaths;
      const st = this.stepStats[g];
      st.alive = alive;
      st.reward = acted > 0 ? reward / acted : 0;
      st.kills = kills;
      const rs = this.roundStats[g];
      rs.kills += kills;
      rs.rewardSum += reward;
      rs.agentSteps += acted;
    }

    // Close the learner's rows: terminal, cut by the time limit, or waiting for the next step.
    if (!this.cfg.train) return;
    const mean = this.learner.meanField ? this.groupMean[L] : null;
    this.writer.close(this.learner.memory, next.groups[L], next.done, mean);
  }

  private async endRound(): Promise<void> {
    const L = this.cfg.learnerGroup;
    const O = 1 - L;
    const won = this.roundStats[L].kills > this.roundStats[O].kills;
    this.lastWin = won ? 1 : 0;
    this.recentWins.push(this.lastWin);
    if (this.recentWins.length > WIN_WINDOW) this.recentWins.shift();
    if (this.cfg.train) {
      const t0 = performance.now();
      this.lastTrain = await this.learner.train(this.round, this.temperature, this.rng);
      this.lastTrainMs = performance.now() - t0;
    }
    if (won && this.cfg.train)
      this.opponent.policyParams.softUpdate(this.learner.policyParams, this.cfg.opponentTau);
    const groups = this.env.spec.groups;
    const summaryGroups: Record<string, Record<string, number>> = {};
    for (let g = 0; g < 2; g++) {
      const rs = this.roundStats[g];
      summaryGroups[groups[g].name] = {
        kills: rs.kills,
        reward_mean: rs.agentSteps > 0 ? rs.rewardSum / rs.agentSteps : 0,
        reward_total: rs.rewardSum,
        alive: this.stepStats[g].alive,
        policy_entropy: rs.agentSteps > 0 ? rs.entropySum / rs.agentSteps : 0,
      };
    }
    this.lastSummary = {
      episode: this.round,
      step: this.step,
      length: this.stepsInRound,
      values: {
        ...this.trainValues(),
        temperature: this.temperature,
        learner_won: this.lastWin,
        win_rate: this.winRate(),
      },
      groups: summaryGroups,
    };
    this.episodes.push(this.lastSummary);
    this.round++;
    this.inRound = false;
  }

  private trainValues(): Record<string, number> {
    return trainStatsValues(this.lastTrain);
  }

  metrics(): MetricRecord {
    const groups = this.env.spec.groups;
    const g: Record<string, Record<string, number>> = {};
    let entSum = 0;
    let aliveSum = 0;
    for (let k = 0; k < 2; k++) {
      const st = this.stepStats[k];
      const rs = this.roundStats[k];
      g[groups[k].name] = {
        alive: st.alive,
        reward_mean: st.reward,
        kills: st.kills,
        kills_round: rs.kills,
        policy_entropy: st.entropy,
        mean_policy_entropy: st.meanPolicyEntropy,
      };
      entSum += st.entropy * st.alive;
      aliveSum += st.alive;
    }
    return {
      step: this.step,
      episode: this.round,
      values: {
        ...this.trainValues(),
        temperature: this.temperature,
        policy_entropy: aliveSum > 0 ? entSum / aliveSum : 0,
        round: this.round,
        learner_won: this.lastWin,
        win_rate: this.winRate(),
      },
      groups: g,
    };
  }

  drainEpisodes(): EpisodeSummary[] {
    const e = this.episodes;
    this.episodes = [];
    return e;
  }

  /** Share of the last WIN_WINDOW rounds (fewer at the start) the learner won; 0 before any. */
  private winRate(): number {
    const n = this.recentWins.length;
    return n === 0 ? 0 : this.recentWins.reduce((a, b) => a + b, 0) / n;
  }

  /** What a checkpoint restores besides networks and memory (taken between rounds). */
  state(): Record<string, unknown> {
    if (this.inRound) throw new Error('SelfPlay.state: only between rounds');
    return {
      round: this.round,
      step: this.step,
      rng: this.rng.getState(),
      lastTrain: this.lastTrain,
      lastWin: this.lastWin,
      recentWins: this.recentWins,
      stepStats: this.stepStats,
      roundStats: this.roundStats,
      temperature: this.temperature,
      learnerCounters: this.learner.counters(),
    };
  }

  setState(s: Record<string, unknown>): void {
    this.round = s.round as number;
    this.step = s.step as number;
    this.rng.setState(s.rng as number[]);
    this.lastTrain = (s.lastTrain as TrainStats | null) ?? null;
    if (this.lastTrain) {
      // JSON turns NaN into null.
      for (const k of ['loss', 'meanQ', 'ess'] as const)
        if (this.lastTrain[k] === null) this.lastTrain[k] = Number.NaN;
    }
    this.lastWin = s.lastWin as number;
    // Checkpoints from before the win rate: it starts again from that round.
    this.recentWins = Array.isArray(s.recentWins) ? [...(s.recentWins as number[])] : [];
    Object.assign(this.stepStats, s.stepStats as StepStats[]);
    Object.assign(this.roundStats, s.roundStats as RoundStats[]);
    this.temperature = s.temperature as number;
    this.learner.setCounters(s.learnerCounters as Record<string, number>);
    this.inRound = false;
  }

  /** Dispose both agents now; the promise settles when the pool's workers have stopped. */
  dispose(): Promise<void> {
    this.learner.dispose();
    this.opponent.dispose();
    return this.pool ? this.pool.dispose() : Promise.resolve();
  }
}

export function sameShape(
  a: Omit<NetShape, 'meanAction'>,
  b: Omit<NetShape, 'meanAction'>,
): boolean {
  const va = a.view;
  const vb = b.view;
  const views =
    va === null || vb === null
      ? va === vb
      : va.height === vb.height && va.width === vb.width && va.channels === vb.channels;
  return views && a.features === b.features && a.actions === b.actions;
}

export function describeShape(s: Omit<NetShape, 'meanAction'>): string {
  const v = s.view ? `view ${s.view.height}x${s.view.width}x${s.view.channels}` : 'no view';
  return `${v}, ${s.features} features, ${s.actions} actions`;
}
