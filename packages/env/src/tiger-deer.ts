/**
 * Tiger-deer, after MAgent's tiger_deer (PettingZoo's magent/tiger_deer): tigers must hunt deer
 * together or starve. Two groups with different views, actions, hit points and rewards, and deaths
 * on both sides.
 *
 * | spec          | deer                                       | tigers                             |
 * |---------------|--------------------------------------------|------------------------------------|
 * | count         | `deer` (default 101 = 0.05 map^2)          | `tigers` (default 20 = 0.01 map^2) |
 * | hp            | 5, recovers 0.2 a step (up to 5)           | 10, loses 0.1 a step (starvation)  |
 * | view          | radius 1: 3 x 3 x 5                        | radius 4: 9 x 9 x 5                |
 * | channels      | obstacle (wall or off the map), deer, deer hp / 5, tiger, tiger hp / 10         |
 * | actions       | 5 moves (stay, N, W, E, S)                 | 9 = 5 moves + 4 attacks (N W E S)  |
 * | features      | last action one-hot, last reward, x/(map-1), y/(map-1): 8         | 12       |
 * | rewards       | -0.1 per attack received                   | +1 per attack on a deer that at    |
 * |               |                                            | least one other tiger attacks too  |
 *
 * Map `map` x `map` (default 45) with `walls` x map^2 random wall cells (default 0.04); at most
 * 500 steps; the episode also ends when either group is wiped out.
 *
 * One step: (1) attacks, all at once: each attack on a deer deals 3 damage; every tiger attacking
 * a deer that two or more tigers attack this step gets +1 (MAgent's reward rule on two
 * simultaneous attacks); the deer gets -0.1 per attack; a deer at hp <= 0 dies and each tiger that
 * attacked it gains 8 hp (MAgent's kill_supply, capped at 10). (2) recovery: tigers lose 0.1 hp and
 * die at hp <= 0; deer gain 0.2. (3) moves, one agent at a time in an order drawn from the seeded
 * PRNG over both groups: into a free cell on the map, else stay. Hit points are float64 and an
 * agent dies when hp < 1e-9, so 100 steps of -0.1 starve a tiger of hp 10 exactly at step 100.
 *
 * From MAgent's tiger_deer config as remembered (deer hp 5, speed 1, view 1, recover 0.2,
 * kill_supply 8; tiger hp 10, view 4, attack range 1, damage 3) with PettingZoo's defaults
 * (tiger_step_recover -0.1, deer_attacked -0.1); attacks on other tigers are allowed and do nothing
 * but the attack penalty (0 by default).
 */
import {
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
import {
  allocTwoGroups,
  checkLayout,
  emptyCell,
  moveInSeededOrder,
  observeGroups,
  renderGroups,
  resetTwoGroups,
  type TwoGroupGrid,
} from './two-groups.ts';
import { circleOffsets, type ViewLayer } from './view-layer.ts';

export const DEER = 0;
export const TIGERS = 1;
export const TIGER_DEER_CHANNELS = ['obstacle', 'deer', 'deer_hp', 'tiger', 'tiger_hp'] as const;
const RADIUS = [1, 4];
const MAX_HP = [5, 10];
const DAMAGE = 3;
const KILL_SUPPLY = 8;
/** Stay first, then N, W, E, S (row-major), for both groups. */
export const TIGER_DEER_MOVES = Int32Array.of(0, 0, 0, -1, -1, 0, 1, 0, 0, 1);
/** Tigers' attacks N, W, E, S. */
export const TIGER_DEER_ATTACKS = circleOffsets(1, false);
const N_MOVES = 5;
const MOVES = [TIGER_DEER_MOVES, TIGER_DEER_MOVES];
const N_ACTIONS = [5, 9];
const EPS = 1e-9;

const cell = z.tuple([z.number().int(), z.number().int()]);

export const tigerDeerConfig = z.object({
  map: z.number().int().min(6).max(8192).default(45),
  deer: z.number().int().positive().optional().describe('deer (default 0.05 map^2)'),
  tigers: z.number().int().positive().optional().describe('tigers (default 0.01 map^2)'),
  walls: z.number().min(0).max(0.5).default(0.04).describe('fraction of cells that are walls'),
  tigerStepRecover: z.number().default(-0.1).describe('tiger hp per step (negative: starvation)'),
  deerStepRecover: z.number().default(0.2),
  deerAttacked: z.number().default(-0.1).describe("deer's reward per attack received"),
  huntReward: z.number().default(1).describe("tiger's reward for a joint attack"),
  attackPenalty: z.number().default(0).describe("tiger's reward per attack"),
  maxSteps: z.number().int().positive().default(500),
  layout: z
    .object({
      deer: z.array(cell).min(1),
      tigers: z.array(cell).min(1),
      walls: z.array(cell).default([]),
      deerHp: z.array(z.number().positive()).optional(),
      tigerHp: z.array(z.number().positive()).optional(),
    })
    .optional()
    .describe('explicit placement: [x, y] cells'),
});
export type TigerDeerConfig = z.infer<typeof tigerDeerConfig>;

export class TigerDeer implements Environment {
  readonly spec: EnvSpec;
  readonly config: TigerDeerConfig;
  private readonly W: number;
  private readonly cap: readonly number[];
  private readonly wallCount: number;
  private readonly rng = new Rng(0);
  private readonly grid: TwoGroupGrid;
  private readonly out: GroupStep[];
  private readonly layers: ViewLayer[];
  private readonly viewSizes: number[];
  private readonly features: number[];
  /** Per group, per slot. */
  readonly x: Int32Array[];
  readonly y: Int32Array[];
  readonly hp: Float64Array[];
  private readonly lastAction: Int32Array[];
  private readonly heading: Float32Array[];
  /** Per cell: 0 empty, 1 wall, 2 + g occupied by group g (slot in slotAt). */
  private readonly cell: Uint8Array;
  private readonly slotAt: Int32Array;
  /** Per deer: attacks received this step. */
  private readonly attacks: Int32Array;
  /** Per tiger: the deer slot it attacked this step, or -1. */
  private readonly target: Int32Array;
  private readonly live = [0, 0];
  private readonly info: Record<string, number> = {
    'alive.deer': 0,
    'alive.tigers': 0,
    hunts: 0,
    'deer.killed': 0,
    'tigers.starved': 0,
  };
  private t = 0;
  private episode = -1;
  private done = false;

  constructor(config: z.input<typeof tigerDeerConfig> = {}) {
    const c = tigerDeerConfig.parse(config);
    this.config = c;
    const W = c.map;
    this.W = W;
    const l = c.layout;
    this.cap = l
      ? [l.deer.length, l.tigers.length]
      : [
          c.deer ?? Math.max(1, Math.floor(0.05 * W * W)),
          c.tigers ?? Math.max(1, Math.floor(0.01 * W * W)),
        ];
    this.wallCount = l ? l.walls.length : Math.floor(c.walls * W * W);
    const used = this.cap[0] + this.cap[1] + this.wallCount;
    if (used > 0.8 * W * W)
      throw GibbsError.invalid(
        'tiger-deer deer + tigers + walls',
        used,
        `at most 80 % of the ${W}x${W} map`,
      );
    if (l)
      checkLayout('tiger-deer', W, [
        ['deer', l.deer],
        ['tigers', l.tigers],
        ['walls', l.walls],
      ]);
    const moveNames = ['stay', 'move N', 'move W', 'move E', 'move S'];
    this.spec = {
      name: 'tiger-deer',
      maxSteps: c.maxSteps,
      grid: { width: W, height: W },
      groups: [DEER, TIGERS].map((g) => ({
        name: g === DEER ? 'deer' : 'tigers',
        capacity: this.cap[g],
        view: {
          height: 2 * RADIUS[g] + 1,
          width: 2 * RADIUS[g] + 1,
          channels: 5,
          channelNames: TIGER_DEER_CHANNELS,
        },
        features: N_ACTIONS[g] + 3,
        actions: N_ACTIONS[g],
        actionNames:
          g === DEER ? moveNames : [...moveNames, 'attack N', 'attack W', 'attack E', 'attack S'],
      })),
    };
    const grid = allocTwoGroups(this.spec, W, RADIUS, {
      nActions: N_ACTIONS,
      legend: ['empty', 'wall', 'deer', 'tiger'],
      immortal: false,
    });
    this.grid = grid;
    this.out = grid.out;
    this.layers = grid.layers;
    this.viewSizes = grid.viewSizes;
    this.features = grid.features;
    this.x = grid.x;
    this.y = grid.y;
    this.hp = this.cap.map((n) => new Float64Array(n));
    this.lastAction = grid.lastAction;
    this.heading = grid.heading;
    this.cell = grid.cell;
    this.slotAt = grid.slotAt;
    this.attacks = new Int32Array(this.cap[DEER]);
    this.target = new Int32Array(this.cap[TIGERS]);
  }

  reset(seed: number): StepOutput {
    this.rng.reseed(seed);
    this.t = 0;
    this.episode++;
    this.done = false;
    const W = this.W;
    const l = this.config.layout;
    resetTwoGroups(this.grid, this.rng, l?.walls, this.wallCount);
    for (let g = 0; g < 2; g++) {
      const cells = l ? (g === DEER ? l.deer : l.tigers) : null;
      const hp0 = l ? (g === DEER ? l.deerHp : l.tigerHp) : undefined;
      for (let i = 0; i < this.cap[g]; i++) {
        this.hp[g][i] = hp0?.[i] ?? MAX_HP[g];
        if (cells) this.place(g, i, cells[i][0], cells[i][1]);
        else {
          const c = emptyCell(this.grid, this.rng);
          this.place(g, i, c % W, Math.floor(c / W));
        }
      }
      this.live[g] = this.cap[g];
    }
    this.info.hunts = 0;
    this.info['deer.killed'] = 0;
    this.info['tigers.starved'] = 0;
    this.observe();
    return this.output();
  }

  step(actions: readonly Int32Array[]): StepOutput {
    this.validate(actions);
    const c = this.config;
    const W = this.W;
    const [deer, tigers] = this.out;
    this.t++;
    for (let g = 0; g < 2; g++) {
      const o = this.out[g];
      o.reward.fill(0);
      o.terminated.fill(0);
    }
    // 1. Attacks, simultaneous: count the attacks on each deer first.
    this.attacks.fill(0);
    const ta = actions[TIGERS];
    for (let i = 0; i < this.cap[TIGERS]; i++) {
      this.target[i] = -1;
      if (!tigers.alive[i] || ta[i] < N_MOVES) continue;
      tigers.reward[i] += c.attackPenalty;
      const k = 2 * (ta[i] - N_MOVES);
      const tx = this.x[TIGERS][i] + TIGER_DEER_ATTACKS[k];
      const ty = this.y[TIGERS][i] + TIGER_DEER_ATTACKS[k + 1];
      if (tx < 0 || ty < 0 || tx >= W || ty >= W || this.cell[ty * W + tx] !== 2 + DEER) continue;
      const d = this.slotAt[ty * W + tx];
      this.target[i] = d;
      this.attacks[d]++;
    }
    let hunts = 0;
    let killed = 0;
    for (let i = 0; i < this.cap[TIGERS]; i++) {
      const d = this.target[i];
      if (d >= 0 && this.attacks[d] >= 2) {
        tigers.reward[i] += c.huntReward;
        hunts++;
      }
    }
    for (let d = 0; d < this.cap[DEER]; d++) {
      const n = this.attacks[d];
      if (n === 0) continue;
      deer.reward[d] += n * c.deerAttacked;
      this.hp[DEER][d] -= n * DAMAGE;
      if (this.hp[DEER][d] < EPS) {
        killed++;
        this.kill(DEER, d);
      } else this.setHp(DEER, d);
    }
    if (killed > 0)
      for (let i = 0; i < this.cap[TIGERS]; i++) {
        const d = this.target[i];
        if (d < 0 || deer.alive[d]) continue;
        this.hp[TIGERS][i] = Math.min(MAX_HP[TIGERS], this.hp[TIGERS][i] + KILL_SUPPLY);
        this.setHp(TIGERS, i);
      }
    // 2. Recovery: tigers starve, deer heal.
    let starved = 0;
    for (let g = 0; g < 2; g++) {
      const rec = g === DEER ? c.deerStepRecover : c.tigerStepRecover;
      if (rec === 0) continue;
      const o = this.out[g];
      for (let i = 0; i < this.cap[g]; i++) {
        if (!o.alive[i]) continue;
        this.hp[g][i] = Math.min(MAX_HP[g], this.hp[g][i] + rec);
        if (this.hp[g][i] < EPS) {
          if (g === TIGERS) starved++;
          this.kill(g, i);
        } else this.setHp(g, i);
      }
    }
    // 3. Moves in a seeded order over both groups.
    moveInSeededOrder(this.grid, this.rng, actions, MOVES, this.relocate);
    if (this.live[DEER] === 0 || this.live[TIGERS] === 0) {
      // The game is over for the survivors too: they terminate.
      this.done = true;
      for (const o of this.out)
        for (let i = 0; i < o.alive.length; i++) if (o.alive[i]) o.terminated[i] = 1;
    } else if (this.t >= c.maxSteps) {
      this.done = true;
      for (const o of this.out) o.truncated.set(o.alive);
    }
    this.info.hunts = hunts;
    this.info['deer.killed'] = killed;
    this.info['tigers.starved'] = starved;
    this.observe();
    return this.output();
  }

  render(): RenderFrame {
    return renderGroups(this.grid, this.t, this.episode, (g, i) => this.hp[g][i] / MAX_HP[g]);
  }

  private validate(actions: readonly Int32Array[]): void {
    if (this.done) throw stepAfterDone(this.spec, this.t);
    validateActions(this.spec, actions, this.grid.alive);
  }

  private setHp(g: number, i: number): void {
    const v = this.hp[g][i] / MAX_HP[g];
    for (const layer of this.layers) layer.set(this.x[g][i], this.y[g][i], 2 + 2 * g, v);
  }

  private readonly relocate = (g: number, i: number, x: number, y: number): void => {
    this.unplace(g, i);
    this.place(g, i, x, y);
  };

  private place(g: number, i: number, x: number, y: number): void {
    this.x[g][i] = x;
    this.y[g][i] = y;
    this.cell[y * this.W + x] = 2 + g;
    this.slotAt[y * this.W + x] = i;
    for (const layer of this.layers) layer.set(x, y, 1 + 2 * g, 1);
    this.setHp(g, i);
  }

  private unplace(g: number, i: number): void {
    const x = this.x[g][i];
    const y = this.y[g][i];
    this.cell[y * this.W + x] = 0;
    for (const layer of this.layers) {
      layer.set(x, y, 1 + 2 * g, 0);
      layer.set(x, y, 2 + 2 * g, 0);
    }
  }

  private kill(g: number, i: number): void {
    const o = this.out[g];
    this.hp[g][i] = 0;
    this.unplace(g, i);
    o.alive[i] = 0;
    o.terminated[i] = 1;
    o.view.fill(0, i * this.viewSizes[g], (i + 1) * this.viewSizes[g]);
    o.features.fill(0, i * this.features[g], (i + 1) * this.features[g]);
    this.live[g]--;
  }

  private observe(): void {
    observeGroups(this.grid);
    this.info['alive.deer'] = this.live[DEER];
    this.info['alive.tigers'] = this.live[TIGERS];
  }

  private output(): StepOutput {
    return { groups: this.out, step: this.t, done: this.done, info: this.info };
  }
}

export const tigerDeer = defineEnvironment({
  name: 'tiger-deer',
  description:
    "MAgent's tiger-deer: tigers (9x9 view, 9 actions) must attack deer (3x3 view, 5 actions) in pairs or starve",
  config: tigerDeerConfig,
  create: (config) => new TigerDeer(config),
});
