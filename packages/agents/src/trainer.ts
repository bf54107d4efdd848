/**
 * PopulationTrainer: the built-in learners on any world of core's contract, with any number of
 * groups. Each group either learns, with an algorithm of `createLearner` (mfq, mfac, il, ac; groups
 * may share one network or have one each), or plays a fixed policy: a network (`createPlayer`,
 * `loadPlayer`) or a plain function that fills the group's actions. Who won an episode is the
 * experiment's rule, a function of the episode's per-group statistics. SelfPlay (selfplay.ts) is
 * this trainer on two groups, a learner against an opponent that follows it.
 *
 * One step of `advance`, top to bottom:
 *   1. act    every group at once: its live agents' observations (and its mean action of the
 *             previous step, mfrl's `former_act_prob`) in one batch, one forward pass, one action
 *             per agent drawn from the Boltzmann policy; or the group's function;
 *   2. store  each learning group writes (s, abar, a) into its network's memory; after the
 *             environment's step, each row gets its reward and its successor (or its end);
 * and at the end of an episode, each learning network trains once on its memory (its `train`):
 *   3. sample a batch of transitions (replay, prioritised or not; on-policy: the episode's rows),
 *   4. target r + gamma v(s') from the target network, off the gradient tape,
 *   5. loss   the algorithm's loss on the batch,
 *   6. step   one clipped Adam step, then the target network follows by a soft update.
 * (mfq.ts, mfac.ts and ac.ts read the same way; the loop's pieces are rollout.ts.)
 *
 * Episode e starts from env.reset(episodeSeed(seed, e)) and everything else random comes from one
 * Rng seeded with `seed`, drawn in a fixed order (groups in spec order, then the networks'
 * training in the order of their first group): one seed gives one trajectory, on any number of
 * threads. Between episodes, `state()` is all a checkpoint needs besides the networks and their
 * memories.
 */
import {
  type AgentInspection,
  allocActions,
  type Environment,
  type EpisodeSummary,
  episodeSeed,
  GibbsError,
  type GroupSpec,
  type GroupStep,
  groupMeanAction,
  type MetricRecord,
  Rng,
  type Simulation,
  type StepOutput,
} from '@gibbs/core';
import { createLearner, describeShape, groupShape, sameShape } from './learners.ts';
import type { ObsBatch } from './nets.ts';
import {
  ALGOS,
  type Algo,
  entropy,
  type GroupAgent,
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

/** Episodes a win rate (`win_rate`) averages over. */
export const WIN_WINDOW = 10;

/** What a fixed function sees besides its group's output. */
export interface PolicyContext {
  /** Index of the group in the spec, and its spec. */
  group: number;
  spec: GroupSpec;
  /** The whole step output (every group's observations). */
  out: StepOutput;
  /** The trainer's one seeded stream: draw from it, never from Math.random. */
  rng: Rng;
  /** The episode being played. */
  episode: number;
}

/**
 * A fixed policy as a function: fill `actions` (one entry per slot of the group, all 0 on entry)
 * from the group's output `obs`. Entries of dead slots are ignored.
 */
export type GroupPolicy = (obs: GroupStep, actions: Int32Array, ctx: PolicyContext) => void;

/** What one group does. */
export type GroupRole =
  /**
   * Learn with an algorithm of createLearner (its config overrides the algorithm's defaults);
   * groups naming the same `network` share one network (and its memory), the others have their
   * own.
   */
  | { learn: Algo; config?: Record<string, unknown>; network?: string }
  /** Learn with this learner; the same instance in several groups is one shared network. */
  | { learn: Learner }
  /**
   * Play a fixed network at a Boltzmann temperature (default: the temperature of the first
   * learning group in this episode, as SelfPlay's opponent; 1 when no group learns).
   */
  | { play: GroupAgent; temperature?: number }
  /** Play a plain function. */
  | { play: GroupPolicy };

/** One group's statistics of an episode (what a win rule looks at). */
export interface GroupEpisodeStats {
  name: string;
  /** Sum of the rewards its agents got. */
  reward: number;
  /** reward / agentSteps: the mean reward of an agent in a step. */
  rewardMean: number;
  /** Agents alive at the end. */
  alive: number;
  /** Agents that died during the episode. */
  deaths: number;
  /** Agent-steps played (agents alive before a step, summed over the steps). */
  agentSteps: number;
  /** Mean entropy of an acting agent's policy per agent-step (0 for a function's group). */
  policyEntropy: number;
}

export interface EpisodeStats {
  episode: number;
  /** Steps the episode lasted. */
  length: number;
  /** One entry per group, in spec order. */
  groups: GroupEpisodeStats[];
  /** The world's info counters summed over the episode ("kills.red", "coins", ...). */
  info: Record<string, number>;
}

/** The index of the group that won the episode, or null for none (a draw). */
export type WinRule = (episode: EpisodeStats) => number | null;

/** The default win rule: the group with the largest total reward; null on a tie. */
export const mostReward: WinRule = (e) => {
  let best = 0;
  let tie = false;
  for (let g = 1; g < e.groups.length; g++) {
    const r = e.groups[g].reward;
    if (r > e.groups[best].reward) {
      best = g;
      tie = false;
    } else if (r === e.groups[best].reward) tie = true;
  }
  return tie ? null : best;
};

export interface PopulationTrainerOptions {
  /** One role per group of the environment, in spec order. */
  groups: readonly GroupRole[];
  /** Episodes to play; the trainer idles once they are done. */
  episodes: number;
  /** Who won an episode (default: mostReward). */
  winner?: WinRule;
  /**
   * An episode's summary (drainEpisodes, lastSummary), once its networks trained (default: per
   * group reward, alive, deaths, policy entropy, won, win rate and its network's training).
   */
  summary?: (episode: EpisodeStats, winner: number | null) => EpisodeSummary;
  /**
   * Threads for forward passes and gradients (pool/index.ts): this one and threads - 1 workers.
   * One seed and one thread count give one run, byte for byte. Default 1.
   */
  threads?: number;
  /** How the thread pool splits work (threads > 1). */
  pool?: PoolOptions;
  /** Called after an episode is trained (for checkpoints, logs); may be async. */
  onEpisodeEnd?: (trainer: PopulationTrainer) => void | Promise<void>;
}

/** What one group's last step did. */
export interface GroupStepStats {
  /** Agents alive after the step. */
  alive: number;
  /** Mean reward of the agents that acted. */
  reward: number;
  /** Agents that died in the step. */
  deaths: number;
  /** Mean entropy of the acting agents' policies, and that of the group's mean policy. */
  entropy: number;
  meanPolicyEntropy: number;
}

/** One group's accumulators of an episode. */
export interface GroupEpisodeCount {
  reward: number;
  agentSteps: number;
  deaths: number;
  entropySum: number;
}

/**
 * What `state()` saves between episodes, as plain JSON (a TrainStats' NaN reads back as null):
 * with the networks and their memories, all a run needs to go on as if it had not stopped.
 */
export interface TrainerState {
  episode: number;
  step: number;
  rng: number[];
  /** Per group, its Boltzmann temperature in the last episode. */
  temperatures: number[];
  /** Per learning network: its counters (learner.counters()) and its last training. */
  learners: { counters: Record<string, number>; lastTrain: TrainStats | null }[];
  lastWinner: number | null;
  /** Winners of the last WIN_WINDOW episodes, oldest first. */
  recentWinners: (number | null)[];
  /** Per group, its last step; the world's info of that step. */
  lastStep: GroupStepStats[];
  stepInfo: Record<string, number>;
  /** Per group, the last episode's accumulators; the world's info summed over it. */
  counts: GroupEpisodeCount[];
  info: Record<string, number>;
}

/** How a group acts, resolved. */
type Player =
  | { kind: 'learn'; agent: Learner; net: number }
  | { kind: 'network'; agent: GroupAgent; temperature: number | null }
  | { kind: 'function'; policy: GroupPolicy };

export class PopulationTrainer {
  readonly rng: Rng;
  /** The learning networks, in the order of the first group that uses each. */
  readonly learners: Learner[] = [];
  /** Episodes finished, environment steps taken. */
  episode = 0;
  step = 0;
  /** Statistics and winner of the last finished episode. */
  lastStats: EpisodeStats | null = null;
  lastWinner: number | null = null;
  lastSummary: EpisodeSummary | null = null;
  /** Wall-clock milliseconds the networks trained at the end of the last episode (benchmarks). */
  lastTrainMs = 0;
  private readonly players: Player[];
  private readonly winRule: WinRule;
  private episodes: number;
  private out: StepOutput | null = null;
  private inEpisode = false;
  private stepsInEpisode = 0;
  private readonly temps: Float64Array;
  private readonly actions: Int32Array[];
  private readonly aliveBefore: Uint8Array[];
  private readonly groupMean: Float32Array[];
  private readonly batch: ObsBatch[];
  private readonly slots: Int32Array[];
  /** The row of each slot in the last batch (-1: it did not act), for the inspector. */
  private readonly rowOf: Int32Array[];
  private readonly liveActions: Int32Array[];
  private readonly probs: Float32Array[];
  private readonly meanPolicy: Float64Array[];
  private readonly writers: (ExperienceWriter | null)[];
  private readonly lastTrain: (TrainStats | null)[];
  private readonly stepStats: GroupStepStats[];
  private stepInfo: Readonly<Record<string, number>> = {};
  private readonly count: GroupEpisodeCount[];
  private readonly info: Record<string, number> = {};
  /** Winners of the last WIN_WINDOW episodes (null: none), oldest first. */
  private recentWinners: (number | null)[] = [];
  private finishedEpisodes: EpisodeSummary[] = [];
  private pool: ThreadPool | null = null;
  private starting: Promise<void> | null = null;
  private readonly threads: number;

  constructor(
    readonly env: Environment,
    readonly options: PopulationTrainerOptions,
    private readonly seed: number,
  ) {
    const groups = env.spec.groups;
    this.episodes = checkEpisodes(options.episodes);
    this.threads = options.threads ?? 1;
    if (!(Number.isInteger(this.threads) && this.threads >= 1 && this.threads <= 64))
      throw GibbsError.invalid('threads', options.threads, 'an integer from 1 to 64');
    if (options.groups.length !== groups.length) {
      throw GibbsError.invalid(
        'groups',
        options.groups.length,
        `one role per group of ${env.spec.name} (${groups.length}: ${groups.map((g) => g.name).join(', ')})`,
      );
    }
    this.winRule = options.winner ?? mostReward;
    this.rng = new Rng(seed);
    const named = new Map<string, Learner>();
    this.players = options.groups.map((role, g) => this.resolve(role, g, named));
    this.temps = new Float64Array(groups.length).fill(1);
    this.actions = allocActions(env.spec);
    this.aliveBefore = groups.map((g) => new Uint8Array(g.capacity));
    this.groupMean = groups.map((g) => new Float32Array(g.actions));
    this.batch = groups.map(allocGroupBatch);
    this.slots = groups.map((g) => new Int32Array(g.capacity));
    this.rowOf = groups.map((g) => new Int32Array(g.capacity).fill(-1));
    this.liveActions = groups.map((g) => new Int32Array(g.capacity));
    this.probs = groups.map((g) => sharedFloat32(g.capacity * g.actions));
    this.meanPolicy = groups.map((g) => new Float64Array(g.actions));
    this.writers = this.players.map((p, g) =>
      p.kind === 'learn' ? new ExperienceWriter(groups[g].capacity) : null,
    );
    this.lastTrain = this.learners.map(() => null);
    this.stepStats = groups.map(() => ({
      alive: 0,
      reward: 0,
      deaths: 0,
      entropy: 0,
      meanPolicyEntropy: 0,
    }));
    this.count = groups.map(() => ({ reward: 0, agentSteps: 0, deaths: 0, entropySum: 0 }));
  }

  /** A role as a player; learners named by `network` are created once and shared. */
  private resolve(role: GroupRole, g: number, named: Map<string, Learner>): Player {
    const spec = this.env.spec.groups[g];
    const shape = groupShape(this.env, g);
    const check = (agent: GroupAgent, what: string) => {
      if (sameShape(agent.shape, shape)) return;
      throw new GibbsError(
        `population trainer: the ${what} of group "${spec.name}" takes ${describeShape(agent.shape)}, the group observes ${describeShape(shape)}`,
        `groups[${g}]`,
        describeShape(agent.shape),
        describeShape(shape),
      );
    };
    const learning = (agent: Learner): Player => {
      let net = this.learners.indexOf(agent);
      if (net < 0) net = this.learners.push(agent) - 1;
      return { kind: 'learn', agent, net };
    };
    if ('learn' in role) {
      if (typeof role.learn !== 'string') {
        check(role.learn, 'learner');
        return learning(role.learn);
      }
      if (!(ALGOS as readonly string[]).includes(role.learn))
        throw GibbsError.invalid(`groups[${g}].learn`, role.learn, `one of ${ALGOS.join(', ')}`);
      const key = role.network;
      const shared = key === undefined ? undefined : named.get(key);
      if (shared) {
        if (shared.algo !== role.learn) {
          throw GibbsError.invalid(
            `groups[${g}].learn`,
            role.learn,
            `${shared.algo}, the algorithm of network "${key}" it shares`,
          );
        }
        check(shared, `shared network "${key}"`);
        return learning(shared);
      }
      const agent = createLearner(role.learn, shape, role.config ?? {}, this.rng.fork());
      if (key !== undefined) named.set(key, agent);
      return learning(agent);
    }
    if (typeof role.play === 'function') return { kind: 'function', policy: role.play };
    check(role.play, 'network');
    const t = 'temperature' in role ? role.temperature : undefined;
    if (t !== undefined && !(t > 0)) throw GibbsError.invalid(`groups[${g}].temperature`, t, '> 0');
    return { kind: 'network', agent: role.play, temperature: t ?? null };
  }

  get finished(): boolean {
    return this.episode >= this.episodes;
  }

  /** Play up to `episodes` episodes in all (a resumed run that trains further). */
  setEpisodes(episodes: number): void {
    this.episodes = checkEpisodes(episodes);
  }

  /** The world's output of the last step (or reset): what an experiment reads besides metrics. */
  get output(): StepOutput | null {
    return this.out;
  }

  /** The learning network of group g, or null for a group that plays a fixed policy. */
  learnerOf(g: number): Learner | null {
    const p = this.players[g];
    return p.kind === 'learn' ? p.agent : null;
  }

  /** Live agents of every group now (what the next step acts for; all of them between episodes). */
  liveAgents(): number {
    const out = this.out;
    if (!out || !this.inEpisode) return this.env.spec.groups.reduce((s, g) => s + g.capacity, 0);
    let n = 0;
    for (const g of out.groups) for (let i = 0; i < g.alive.length; i++) n += g.alive[i];
    return n;
  }

  /** Start the environment's workers and the thread pool (threads > 1); `advance` calls it. */
  ready(): Promise<void> {
    this.starting ??= (async () => {
      await this.env.ready?.();
      if (this.threads > 1) {
        this.pool = await ThreadPool.create(this.threads, this.options.pool);
        for (const p of this.players) if (p.kind !== 'function') await this.pool.register(p.agent);
      }
    })();
    return this.starting;
  }

  /** One environment step; at the end of an episode, every learning network trains. */
  async advance(): Promise<void> {
    if (this.finished) return;
    await this.ready();
    if (!this.inEpisode) this.beginEpisode();
    const out = this.out as StepOutput;
    const groups = this.env.spec.groups;

    // 1. Act, and 2. store (s, abar, a) for the learning groups.
    for (let g = 0; g < groups.length; g++) {
      const p = this.players[g];
      const gs = out.groups[g];
      this.aliveBefore[g].set(gs.alive);
      const st = this.stepStats[g];
      if (p.kind === 'function') {
        this.actions[g].fill(0);
        p.policy(gs, this.actions[g], {
          group: g,
          spec: groups[g],
          out,
          rng: this.rng,
          episode: this.episode,
        });
        continue;
      }
      const n = gatherLive(groups[g], gs, this.groupMean[g], this.batch[g], this.slots[g]);
      this.rowOf[g].fill(-1);
      for (let k = 0; k < n; k++) this.rowOf[g][this.slots[g][k]] = k;
      const ent = await actGroup(
        p.agent,
        this.batch[g],
        this.slots[g],
        this.temps[g],
        this.rng,
        this.liveActions[g],
        this.probs[g],
        this.actions[g],
        this.meanPolicy[g],
      );
      st.entropy = n > 0 ? ent / n : 0;
      st.meanPolicyEntropy = n > 0 ? entropy(this.meanPolicy[g]) : 0;
      this.count[g].entropySum += ent;
      if (p.kind === 'learn') {
        const mean = p.agent.meanField ? this.groupMean[g] : null;
        (this.writers[g] as ExperienceWriter).store(
          p.agent.memory,
          gs,
          this.slots[g],
          n,
          mean,
          this.actions[g],
        );
      }
    }

    const next = this.env.step(this.actions);
    this.out = next;
    this.step++;
    this.stepsInEpisode++;

    for (let g = 0; g < groups.length; g++) {
      // Each group's mean one-hot action of this step: what its agents see at the next.
      groupMeanAction(this.actions[g], this.aliveBefore[g], groups[g].actions, this.groupMean[g]);
      const gs = next.groups[g];
      const { alive, reward, acted } = countStep(gs, this.aliveBefore[g]);
      let deaths = 0;
      for (let i = 0; i < gs.alive.length; i++)
        if (this.aliveBefore[g][i] && !gs.alive[i]) deaths++;
      const st = this.stepStats[g];
      st.alive = alive;
      st.reward = acted > 0 ? reward / acted : 0;
      st.deaths = deaths;
      const c = this.count[g];
      c.reward += reward;
      c.agentSteps += acted;
      c.deaths += deaths;
      // 2. (continued) Each row of a learning group gets its reward and its successor or end.
      const p = this.players[g];
      if (p.kind === 'learn') {
        const mean = p.agent.meanField ? this.groupMean[g] : null;
        (this.writers[g] as ExperienceWriter).close(p.agent.memory, gs, next.done, mean);
      }
    }
    this.stepInfo = next.info;
    for (const [k, v] of Object.entries(next.info)) this.info[k] = (this.info[k] ?? 0) + v;

    if (next.done) {
      await this.endEpisode();
      if (this.options.onEpisodeEnd) await this.options.onEpisodeEnd(this);
    }
  }

  private beginEpisode(): void {
    this.out = this.env.reset(episodeSeed(this.seed, this.episode));
    // Learning groups at their network's temperature of this episode; fixed networks at theirs,
    // or the first learning group's (1 when none learns).
    const first = this.learners[0];
    const shared = first ? first.temperatureAt(this.episode) : 1;
    this.players.forEach((p, g) => {
      if (p.kind === 'learn') this.temps[g] = p.agent.temperatureAt(this.episode);
      else if (p.kind === 'network') this.temps[g] = p.temperature ?? shared;
    });
    for (const m of this.groupMean) m.fill(0);
    for (const w of this.writers) w?.begin();
    for (const c of this.count) {
      c.reward = 0;
      c.agentSteps = 0;
      c.deaths = 0;
      c.entropySum = 0;
    }
    for (const k of Object.keys(this.info)) this.info[k] = 0;
    this.stepsInEpisode = 0;
    this.inEpisode = true;
  }

  /** The winner, then 3-6 (sample, target, loss, step): each learning network trains once. */
  private async endEpisode(): Promise<void> {
    const groups = this.env.spec.groups;
    const stats = this.episodeStats();
    const w = this.winRule(stats);
    if (w !== null && !(Number.isInteger(w) && w >= 0 && w < groups.length)) {
      throw GibbsError.invalid(
        'winner',
        w,
        `a group index in [0, ${groups.length - 1}] or null (the win rule's answer)`,
      );
    }
    this.lastStats = stats;
    this.lastWinner = w;
    this.recentWinners.push(w);
    if (this.recentWinners.length > WIN_WINDOW) this.recentWinners.shift();

    const t0 = performance.now();
    for (let k = 0; k < this.learners.length; k++) {
      const l = this.learners[k];
      this.lastTrain[k] = await l.train(this.episode, l.temperatureAt(this.episode), this.rng);
    }
    this.lastTrainMs = performance.now() - t0;

    this.lastSummary = this.options.summary ? this.options.summary(stats, w) : this.summary(stats);
    this.finishedEpisodes.push(this.lastSummary);
    this.episode++;
    this.inEpisode = false;
  }

  /** The statistics of the episode so far (of the last one, between episodes). */
  episodeStats(): EpisodeStats {
    return {
      episode: this.inEpisode ? this.episode : Math.max(0, this.episode - 1),
      length: this.stepsInEpisode,
      groups: this.env.spec.groups.map((spec, g) => {
        const c = this.count[g];
        return {
          name: spec.name,
          reward: c.reward,
          rewardMean: c.agentSteps > 0 ? c.reward / c.agentSteps : 0,
          alive: this.stepStats[g].alive,
          deaths: c.deaths,
          agentSteps: c.agentSteps,
          policyEntropy: c.agentSteps > 0 ? c.entropySum / c.agentSteps : 0,
        };
      }),
      info: { ...this.info },
    };
  }

  /** The default summary of a finished episode. */
  private summary(stats: EpisodeStats): EpisodeSummary {
    const w = this.lastWinner;
    const groups: Record<string, Record<string, number>> = {};
    stats.groups.forEach((s, g) => {
      groups[s.name] = {
        reward_total: s.reward,
        reward_mean: s.rewardMean,
        alive: s.alive,
        deaths: s.deaths,
        policy_entropy: s.policyEntropy,
        won: w === g ? 1 : 0,
        win_rate: this.winRate(g),
        ...this.learnerValues(g),
      };
    });
    return {
      episode: stats.episode,
      step: this.step,
      length: stats.length,
      values: { winner: w ?? -1 },
      groups,
    };
  }

  /** What group g's last step did (the last episode's last step, between episodes). */
  get lastStep(): readonly Readonly<GroupStepStats>[] {
    return this.stepStats;
  }

  /** The world's info of the last step. */
  get lastStepInfo(): Readonly<Record<string, number>> {
    return this.stepInfo;
  }

  /** Group g's Boltzmann temperature in this (or the last) episode. */
  temperatureOf(g: number): number {
    return this.temps[g];
  }

  /** The last training of group g's network; null for a fixed group or before any training. */
  trainStatsOf(g: number): TrainStats | null {
    const p = this.players[g];
    return p.kind === 'learn' ? this.lastTrain[p.net] : null;
  }

  /** A learning group's loss, mean_q, ess, updates (its network's last training) and temperature. */
  private learnerValues(g: number): Record<string, number> {
    const p = this.players[g];
    if (p.kind === 'function') return {};
    if (p.kind === 'network') return { temperature: this.temps[g] };
    return { ...trainStatsValues(this.lastTrain[p.net]), temperature: this.temps[g] };
  }

  /** Share of the last WIN_WINDOW episodes (fewer at the start) group g won; 0 before any. */
  winRate(g: number): number {
    const n = this.recentWinners.length;
    let won = 0;
    for (const w of this.recentWinners) if (w === g) won++;
    return n === 0 ? 0 : won / n;
  }

  metrics(): MetricRecord {
    const groups = this.env.spec.groups;
    const out: Record<string, Record<string, number>> = {};
    let entSum = 0;
    let acting = 0;
    groups.forEach((spec, g) => {
      const st = this.stepStats[g];
      const p = this.players[g];
      const v: Record<string, number> = {
        alive: st.alive,
        reward_mean: st.reward,
        reward_episode: this.count[g].reward,
        win_rate: this.winRate(g),
      };
      if (p.kind !== 'function') {
        v.policy_entropy = st.entropy;
        v.mean_policy_entropy = st.meanPolicyEntropy;
        entSum += st.entropy * st.alive;
        acting += st.alive;
      }
      out[spec.name] = { ...v, ...this.learnerValues(g) };
    });
    return {
      step: this.step,
      episode: this.episode,
      values: {
        episodes: this.episode,
        winner: this.lastWinner ?? -1,
        policy_entropy: acting > 0 ? entSum / acting : 0,
      },
      groups: out,
    };
  }

  drainEpisodes(): EpisodeSummary[] {
    return this.finishedEpisodes.splice(0);
  }

  /** The run between episodes, as plain JSON (see TrainerState). */
  state(): TrainerState {
    if (this.inEpisode) throw new Error('PopulationTrainer.state: only between episodes');
    return {
      episode: this.episode,
      step: this.step,
      rng: this.rng.getState(),
      temperatures: Array.from(this.temps),
      learners: this.learners.map((l, k) => ({
        counters: l.counters(),
        lastTrain: this.lastTrain[k],
      })),
      lastWinner: this.lastWinner,
      recentWinners: [...this.recentWinners],
      lastStep: this.stepStats.map((s) => ({ ...s })),
      stepInfo: { ...this.stepInfo },
      counts: this.count.map((c) => ({ ...c })),
      info: { ...this.info },
    };
  }

  /**
   * Go on from `state()` of a trainer built the same way (world, roles, seed), its networks and
   * memories restored apart; the next `advance` starts episode `s.episode`.
   */
  setState(s: TrainerState): void {
    const G = this.env.spec.groups.length;
    const per = [s.temperatures, s.lastStep, s.counts].every((a) => a.length === G);
    if (!per || s.learners.length !== this.learners.length) {
      throw GibbsError.invalid(
        'state',
        `${s.temperatures.length} groups, ${s.learners.length} networks`,
        `${G} groups, ${this.learners.length} networks (a trainer built the same way)`,
      );
    }
    this.episode = s.episode;
    this.step = s.step;
    this.rng.setState(s.rng);
    this.temps.set(s.temperatures);
    s.learners.forEach((l, k) => {
      this.learners[k].setCounters(l.counters);
      this.lastTrain[k] = l.lastTrain && withNaN(l.lastTrain);
    });
    this.lastWinner = s.lastWinner;
    this.recentWinners = [...s.recentWinners];
    for (let g = 0; g < G; g++) {
      Object.assign(this.stepStats[g], s.lastStep[g]);
      Object.assign(this.count[g], s.counts[g]);
    }
    this.stepInfo = { ...s.stepInfo };
    for (const k of Object.keys(this.info)) delete this.info[k];
    Object.assign(this.info, s.info);
    this.inEpisode = false;
  }

  /**
   * What the inspector shows of one agent of a group that plays a network: its reward and last
   * action, the policy it acted from and the mean action it saw. Null for an empty slot.
   */
  inspect(group: number, slot: number): AgentInspection | null {
    const spec = this.env.spec.groups[group];
    const out = this.out;
    if (!spec || !out || !(slot >= 0 && slot < spec.capacity) || !out.groups[group].alive[slot])
      return null;
    const values: Record<string, number> = {
      reward: out.groups[group].reward[slot],
      action: this.actions[group][slot],
    };
    const distributions: Record<string, number[]> = {};
    const row = this.rowOf[group][slot];
    const A = spec.actions;
    if (this.players[group].kind !== 'function' && row >= 0) {
      const p = this.probs[group].subarray(row * A, (row + 1) * A);
      distributions.policy = Array.from(p);
      values.policy_entropy = entropy(p);
      values.temperature = this.temps[group];
    }
    distributions.mean_action = Array.from(this.groupMean[group]);
    const names = spec.actionNames ? [...spec.actionNames] : undefined;
    return {
      group: spec.name,
      slot,
      values,
      distributions,
      ...(names ? { labels: { policy: names, mean_action: names } } : {}),
    };
  }

  /**
   * The trainer as an experiment's simulation: advance, metrics, episodes, the world's frames and
   * the inspector; dispose releases the networks, the pool and the world.
   */
  simulation(): Simulation {
    return {
      advance: () => this.advance(),
      metrics: () => this.metrics(),
      drainEpisodes: () => this.drainEpisodes(),
      frame: () => this.env.render(),
      inspect: (g, s) => this.inspect(g, s),
      dispose: async () => {
        await this.dispose();
        await this.env.dispose?.();
      },
    };
  }

  /** Dispose every network (learning or fixed); settles when the pool's workers have stopped. */
  dispose(): Promise<void> {
    const agents = new Set<GroupAgent>();
    for (const p of this.players) if (p.kind !== 'function') agents.add(p.agent);
    for (const a of agents) a.dispose();
    return this.pool ? this.pool.dispose() : Promise.resolve();
  }
}

function checkEpisodes(episodes: number): number {
  if (!(Number.isInteger(episodes) && episodes >= 1))
    throw GibbsError.invalid('episodes', episodes, 'an integer >= 1');
  return episodes;
}

/** A TrainStats read back from JSON, where NaN became null. */
function withNaN(t: TrainStats): TrainStats {
  const out = { ...t };
  for (const k of ['loss', 'meanQ', 'ess'] as const) if (out[k] === null) out[k] = Number.NaN;
  return out;
}
