/**
 * The T-maze of active inference (Friston et al. 2015, "Active inference and epistemic value";
 * pymdp's TMazeEnv), one independent maze per agent slot, all stepped at once.
 *
 * Locations: 0 centre, 1 right arm, 2 left arm, 3 cue (at the foot of the T). Each maze has a
 * hidden context drawn at reset: 0 = the reward is in the right arm, 1 = in the left arm. An action
 * names the location to move to (any location is reachable in one step, as in pymdp).
 *
 * Observation of agent i: three categorical outcomes, as features [location, reward, cue]:
 *   location  0..3, the agent's location;
 *   reward    0 none (centre, cue), 1 reward, 2 loss: in the arm of the context, reward with
 *             probability p (`rewardProb`) and loss otherwise; in the other arm the reverse;
 *   cue       0 or 1: at the cue location it shows the context; elsewhere a fair coin.
 * The reward signal is +1 for a reward outcome, -1 for a loss, 0 otherwise.
 *
 * Per slot the environment keeps the order of visits, so that an experiment can count the trials
 * that went to the cue first and then to the rewarded arm (`cueThenReward`).
 */
import {
  allocGroupStep,
  defineEnvironment,
  type Environment,
  type EnvSpec,
  GibbsError,
  type GroupStep,
  type RenderFrame,
  Rng,
  type StepOutput,
  stepAfterDone,
  validateActions,
} from '@gibbs/core';
import { z } from 'zod';

export const tmazeConfig = z.object({
  agents: z
    .number()
    .int()
    .min(1)
    .max(1_000_000)
    .default(1000)
    .describe('independent mazes (one agent each)'),
  rewardProb: z
    .number()
    .min(0)
    .max(1)
    .default(0.98)
    .describe('probability of reward in the arm of the context'),
  maxSteps: z.number().int().min(1).max(1000).default(3).describe('moves per trial'),
});
export type TmazeConfig = z.infer<typeof tmazeConfig>;

export const TMAZE_CENTRE = 0;
export const TMAZE_RIGHT = 1;
export const TMAZE_LEFT = 2;
export const TMAZE_CUE = 3;
export const TMAZE_LOCATIONS = ['centre', 'right arm', 'left arm', 'cue'] as const;
/** Reward outcomes. */
export const TMAZE_NONE = 0;
export const TMAZE_REWARD = 1;
export const TMAZE_LOSS = 2;

export class TmazeEnv implements Environment {
  readonly spec: EnvSpec;
  /** Location of each agent (0..3). */
  readonly location: Int32Array;
  /** Hidden context of each maze: 0 reward right, 1 reward left. */
  readonly context: Int32Array;
  /** First location other than the centre the agent visited this trial (-1 if none yet). */
  readonly firstVisit: Int32Array;
  /** First arm entered after the cue was visited (-1 if none yet). */
  readonly armAfterCue: Int32Array;
  /** 1 once the agent has stood at the cue this trial. */
  private readonly cueSeen: Uint8Array;
  private readonly out: GroupStep;
  /** The out's alive mask, as validateActions takes it. */
  private readonly alive: readonly Uint8Array[];
  private readonly lastAction: Int16Array;
  private readonly rng = new Rng(0);
  private steps = 0;
  private episode = -1;
  private info: Record<string, number> = {};

  constructor(readonly config: TmazeConfig) {
    const N = config.agents;
    this.spec = {
      name: 'tmaze',
      groups: [
        {
          name: 'agents',
          capacity: N,
          view: null,
          features: 3,
          actions: 4,
          actionNames: ['go centre', 'go right arm', 'go left arm', 'go cue'],
        },
      ],
      maxSteps: config.maxSteps,
      grid: tmazeGrid(N),
    };
    this.location = new Int32Array(N);
    this.context = new Int32Array(N);
    this.firstVisit = new Int32Array(N);
    this.armAfterCue = new Int32Array(N);
    this.cueSeen = new Uint8Array(N);
    this.out = allocGroupStep(this.spec.groups[0]);
    this.alive = [this.out.alive];
    this.lastAction = new Int16Array(N);
  }

  reset(seed: number): StepOutput {
    this.rng.reseed(seed);
    const N = this.config.agents;
    for (let i = 0; i < N; i++) this.context[i] = this.rng.u32() & 1;
    this.location.fill(TMAZE_CENTRE);
    this.firstVisit.fill(-1);
    this.armAfterCue.fill(-1);
    this.cueSeen.fill(0);
    this.lastAction.fill(-1);
    this.steps = 0;
    this.episode++;
    this.out.alive.fill(1);
    this.out.reward.fill(0);
    this.out.terminated.fill(0);
    this.out.truncated.fill(0);
    this.observe();
    return this.output();
  }

  step(actions: readonly Int32Array[]): StepOutput {
    if (this.episode < 0) throw GibbsError.invalid('tmaze.step', 'before reset', 'reset() first');
    if (this.steps >= this.config.maxSteps) throw stepAfterDone(this.spec, this.steps);
    validateActions(this.spec, actions, this.alive);
    const N = this.config.agents;
    const a = actions[0];
    for (let i = 0; i < N; i++) {
      const loc = a[i];
      this.location[i] = loc;
      this.lastAction[i] = loc;
      if (loc !== TMAZE_CENTRE && this.firstVisit[i] < 0) this.firstVisit[i] = loc;
      if (
        (loc === TMAZE_LEFT || loc === TMAZE_RIGHT) &&
        this.armAfterCue[i] < 0 &&
        this.cueSeen[i]
      ) {
        this.armAfterCue[i] = loc;
      }
      if (loc === TMAZE_CUE) this.cueSeen[i] = 1;
    }
    this.steps++;
    this.out.truncated.fill(this.steps >= this.config.maxSteps ? 1 : 0);
    this.observe();
    return this.output();
  }

  /** The arm that holds the reward in maze i. */
  rewardedArm(i: number): number {
    return this.context[i] === 0 ? TMAZE_RIGHT : TMAZE_LEFT;
  }

  /** Did agent i visit the cue before any arm, and then enter the rewarded arm? */
  cueThenReward(i: number): boolean {
    return this.firstVisit[i] === TMAZE_CUE && this.armAfterCue[i] === this.rewardedArm(i);
  }

  private observe(): void {
    const N = this.config.agents;
    const p = this.config.rewardProb;
    const f = this.out.features;
    let rewards = 0;
    let losses = 0;
    let atCue = 0;
    for (let i = 0; i < N; i++) {
      const loc = this.location[i];
      let rew = TMAZE_NONE;
      if (loc === TMAZE_RIGHT || loc === TMAZE_LEFT) {
        const good = loc === this.rewardedArm(i);
        const hit = this.rng.float() < p;
        rew = good === hit ? TMAZE_REWARD : TMAZE_LOSS;
      }
      let cue: number;
      if (loc === TMAZE_CUE) {
        cue = this.context[i];
        atCue++;
      } else cue = this.rng.u32() & 1;
      f[3 * i] = loc;
      f[3 * i + 1] = rew;
      f[3 * i + 2] = cue;
      const r = rew === TMAZE_REWARD ? 1 : rew === TMAZE_LOSS ? -1 : 0;
      this.out.reward[i] = r;
      if (r > 0) rewards++;
      else if (r < 0) losses++;
    }
    this.info = { rewards, losses, at_cue: atCue };
  }

  private output(): StepOutput {
    return {
      groups: [this.out],
      step: this.steps,
      done: this.steps >= this.config.maxSteps,
      info: this.info,
    };
  }

  /**
   * Mazes tiled on a grid, one 3 x 3 block each: left arm top-left, right arm top-right, centre in
   * the middle, cue at the bottom; the rewarded arm is drawn as "reward", the other as "arm".
   */
  render(): RenderFrame {
    const N = this.config.agents;
    const { width } = tmazeGrid(N);
    const height = tmazeGrid(N).height;
    const cols = width / 3;
    const cells = new Uint8Array(width * height);
    const pos: readonly [number, number][] = [
      [1, 1],
      [2, 0],
      [0, 0],
      [1, 2],
    ];
    const agents = {
      count: N,
      group: new Uint8Array(N),
      slot: new Int32Array(N),
      x: new Float32Array(N),
      y: new Float32Array(N),
      hp: new Float32Array(N).fill(1),
      heading: new Float32Array(N).fill(Number.NaN),
      action: Int16Array.from(this.lastAction),
      reward: Float32Array.from(this.out.reward),
    };
    for (let i = 0; i < N; i++) {
      const bx = (i % cols) * 3;
      const by = Math.floor(i / cols) * 3;
      for (let loc = 0; loc < 4; loc++) {
        const [x, y] = pos[loc];
        let code = loc === TMAZE_CENTRE ? 1 : loc === TMAZE_CUE ? 2 : 3;
        if (loc === this.rewardedArm(i)) code = 4;
        cells[(by + y) * width + bx + x] = code;
      }
      const [x, y] = pos[this.location[i]];
      agents.slot[i] = i;
      agents.x[i] = bx + x;
      agents.y[i] = by + y;
    }
    return {
      step: this.steps,
      episode: Math.max(0, this.episode),
      width,
      height,
      cells,
      legend: ['empty', 'centre', 'cue', 'arm', 'reward', 'agents'],
      groups: ['agents'],
      agents,
    };
  }
}

/** The render grid: mazes tiled in 3 x 3 blocks, ceil(sqrt(N)) per row. */
export function tmazeGrid(agents: number): { width: number; height: number } {
  const cols = Math.ceil(Math.sqrt(agents));
  return { width: cols * 3, height: Math.ceil(agents / cols) * 3 };
}

export const tmaze = defineEnvironment({
  name: 'tmaze',
  description:
    'T-maze of active inference, one maze per agent: a cue location reveals which of two arms holds the reward',
  config: tmazeConfig,
  create: (config) => new TmazeEnv(config),
});
