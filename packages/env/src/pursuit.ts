/**
 * Pursuit, after MAgent2's adversarial_pursuit_v4: predators chase prey on a map with scattered
 * walls. Two groups with different views, action counts and rewards in one environment: the
 * contract carries heterogeneous groups.
 *
 * | spec          | predators                                  | prey                               |
 * |---------------|--------------------------------------------|------------------------------------|
 * | count         | `predators` (default 25)                   | `prey` (default 50)                |
 * | view          | radius 5: 11 x 11 x 3                      | radius 4: 9 x 9 x 3                |
 * | channels      | obstacle (wall or off the map), predator, prey (the same for both)              |
 * | moves         | radius 1: 5 (stay, N, W, E, S)             | radius 1.5: 9 (stay and 8 around)  |
 * | attacks       | radius 1.5: the 8 neighbours               | none                               |
 * | actions       | 13 = 5 moves + 8 attacks                   | 9 moves                            |
 * | features      | last action one-hot, last reward, x/(map-1), y/(map-1): 16        | 12       |
 * | rewards       | +1 per tag of a prey; -0.2 per attack      | -1 per tag it receives             |
 *
 * Map `map` x `map` (default 45) with `walls` x map^2 random wall cells (default 0.03); at most
 * 500 steps. Nobody dies: the episode is always truncated at maxSteps.
 *
 * One step: (1) attacks, all at once (nobody dies, so order does not matter): each attacking
 * predator pays -0.2; if the target cell holds a prey, the predator gets +1 and the prey -1 (a prey
 * tagged by k predators gets -k); (2) moves, one agent at a time in an order drawn from the seeded
 * PRNG over both groups: an agent moves if the target cell is on the map, not a wall and empty.
 *
 * Differences from MAgent2: predators are 1 x 1 (MAgent's are 2 x 2, hence its 10 x 10 predator
 * view and 13 actions over a radius-2 attack range); here a predator's 8 attack targets are its
 * neighbours. Placement is uniform random (MAgent2 also places at random).
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

export const PURSUIT_CHANNELS = ['obstacle', 'predator', 'prey'] as const;
/** Group 0: predators, group 1: prey. */
export const PREDATORS = 0;
export const PREY = 1;
const RADIUS = [5, 4];
/** Moves per group, row-major offsets (dx, dy) with the stay move first. */
export const PURSUIT_MOVES = [
  stayFirst(circleOffsets(1, true)),
  stayFirst(circleOffsets(1.5, true)),
];
/** The predators' 8 attack offsets, row-major. */
export const PURSUIT_ATTACKS = circleOffsets(1.5, false);
const N_MOVES = [5, 9];
const N_ACTIONS = [13, 9];

function stayFirst(offsets: Int32Array): Int32Array {
  const out: number[] = [0, 0];
  for (let k = 0; k < offsets.length; k += 2)
    if (offsets[k] !== 0 || offsets[k + 1] !== 0) out.push(offsets[k], offsets[k + 1]);
  return Int32Array.from(out);
}

const cell = z.tuple([z.number().int(), z.number().int()]);

export const pursuitConfig = z.object({
  map: z.number().int().min(6).max(8192).default(45).describe('map side in cells'),
  predators: z.number().int().positive().default(25),
  prey: z.number().int().positive().default(50),
  walls: z.number().min(0).max(0.5).default(0.03).describe('fraction of cells that are walls'),
  tagReward: z.number().default(1).describe("predator's reward per tag"),
  taggedPenalty: z.number().default(-1).describe("prey's reward per tag received"),
  attackPenalty: z.number().default(-0.2).describe("predator's reward per attack"),
  maxSteps: z.number().int().positive().default(500),
  layout: z
    .object({
      predators: z.array(cell).min(1),
      prey: z.array(cell).min(1),
      walls: z.array(cell).default([]),
    })
    .optional()
    .describe('explicit placement: [x, y] cells'),
});
export type PursuitConfig = z.infer<typeof pursuitConfig>;

export class Pursuit implements Environment {
  readonly spec: EnvSpec;
  readonly config: PursuitConfig;
  private readonly W: number;
  private readonly cap: readonly number[];
  private readonly rng = new Rng(0);
  private readonly grid: TwoGroupGrid;
  private readonly out: GroupStep[];
  /** Per group, per slot. */
  readonly x: Int32Array[];
  readonly y: Int32Array[];
  private readonly lastAction: Int32Array[];
  private readonly heading: Float32Array[];
  /** Per cell: 0 empty, 1 wall, 2 + g occupied by group g (slot in `slotAt`). */
  private readonly cell: Uint8Array;
  private readonly slotAt: Int32Array;
  /** One picture of the map per group (see TwoGroupGrid), both kept in step. */
  private readonly layers: ViewLayer[];
  private readonly info: Record<string, number> = { tags: 0, attacks: 0, walls: 0 };
  private t = 0;
  private episode = -1;
  private done = false;

  constructor(config: z.input<typeof pursuitConfig> = {}) {
    const c = pursuitConfig.parse(config);
    this.config = c;
    const W = c.map;
    this.W = W;
    const l = c.layout;
    this.cap = l ? [l.predators.length, l.prey.length] : [c.predators, c.prey];
    const walls = l ? l.walls.length : Math.floor(c.walls * W * W);
    if (this.cap[0] + this.cap[1] + walls > 0.8 * W * W)
      throw GibbsError.invalid(
        'pursuit predators + prey + walls',
        this.cap[0] + this.cap[1] + walls,
        `at most 80 % of the ${W}x${W} map`,
      );
    this.info.walls = walls;
    if (l)
      checkLayout('pursuit', W, [
        ['predators', l.predators],
        ['prey', l.prey],
        ['walls', l.walls],
      ]);
    const side = RADIUS.map((r) => 2 * r + 1);
    const moveNames = (g: number) =>
      Array.from({ length: N_MOVES[g] }, (_, k) =>
        k === 0 ? 'stay' : `move ${PURSUIT_MOVES[g][2 * k]},${PURSUIT_MOVES[g][2 * k + 1]}`,
      );
    const attackNames = Array.from(
      { length: 8 },
      (_, k) => `attack ${PURSUIT_ATTACKS[2 * k]},${PURSUIT_ATTACKS[2 * k + 1]}`,
    );
    this.spec = {
      name: 'pursuit',
      maxSteps: c.maxSteps,
      grid: { width: W, height: W },
      groups: [0, 1].map((g) => ({
        name: g === PREDATORS ? 'predators' : 'prey',
        capacity: this.cap[g],
        view: { height: side[g], width: side[g], channels: 3, channelNames: PURSUIT_CHANNELS },
        features: N_ACTIONS[g] + 3,
        actions: N_ACTIONS[g],
        actionNames: g === PREDATORS ? [...moveNames(g), ...attackNames] : moveNames(g),
      })),
    };
    const grid = allocTwoGroups(this.spec, W, RADIUS, {
      nActions: N_ACTIONS,
      legend: ['empty', 'wall', 'predator', 'prey'],
      immortal: true,
    });
    this.grid = grid;
    this.out = grid.out;
    this.x = grid.x;
    this.y = grid.y;
    this.lastAction = grid.lastAction;
    this.heading = grid.heading;
    this.cell = grid.cell;
    this.slotAt = grid.slotAt;
    this.layers = grid.layers;
  }

  reset(seed: number): StepOutput {
    this.rng.reseed(seed);
    this.t = 0;
    this.episode++;
    this.done = false;
    const W = this.W;
    const l = this.config.layout;
    resetTwoGroups(this.grid, this.rng, l?.walls, this.info.walls);
    for (let g = 0; g < 2; g++) {
      const cells = l ? (g === PREDATORS ? l.predators : l.prey) : null;
      for (let i = 0; i < this.cap[g]; i++) {
        if (cells) this.place(g, i, cells[i][0], cells[i][1]);
        else {
          const c = emptyCell(this.grid, this.rng);
          this.place(g, i, c % W, Math.floor(c / W));
        }
      }
    }
    this.info.tags = 0;
    this.info.attacks = 0;
    this.observe();
    return this.output();
  }

  step(actions: readonly Int32Array[]): StepOutput {
    this.validate(actions);
    const c = this.config;
    const W = this.W;
    const [pred, prey] = this.out;
    this.t++;
    pred.reward.fill(0);
    prey.reward.fill(0);
    // 1. Attacks (simultaneous: nobody dies).
    let tags = 0;
    let attacks = 0;
    const pa = actions[PREDATORS];
    for (let i = 0; i < this.cap[PREDATORS]; i++) {
      const a = pa[i];
      if (a < N_MOVES[PREDATORS]) continue;
      attacks++;
      pred.reward[i] += c.attackPenalty;
      const k = 2 * (a - N_MOVES[PREDATORS]);
      const tx = this.x[PREDATORS][i] + PURSUIT_ATTACKS[k];
      const ty = this.y[PREDATORS][i] + PURSUIT_ATTACKS[k + 1];
      if (tx < 0 || ty < 0 || tx >= W || ty >= W) continue;
      const tc = ty * W + tx;
      if (this.cell[tc] !== 2 + PREY) continue;
      tags++;
      pred.reward[i] += c.tagReward;
      prey.reward[this.slotAt[tc]] += c.taggedPenalty;
    }
    // 2. Moves, both groups interleaved in a seeded order.
    moveInSeededOrder(this.grid, this.rng, actions, PURSUIT_MOVES, this.relocate);
    if (this.t >= c.maxSteps) {
      this.done = true;
      pred.truncated.fill(1);
      prey.truncated.fill(1);
    }
    this.info.tags = tags;
    this.info.attacks = attacks;
    this.observe();
    return this.output();
  }

  render(): RenderFrame {
    return renderGroups(this.grid, this.t, this.episode, () => 1);
  }

  private validate(actions: readonly Int32Array[]): void {
    if (this.done) throw stepAfterDone(this.spec, this.t);
    validateActions(this.spec, actions, this.grid.alive);
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
    for (const layer of this.layers) layer.set(x, y, 1 + g, 1);
  }

  private unplace(g: number, i: number): void {
    const x = this.x[g][i];
    const y = this.y[g][i];
    this.cell[y * this.W + x] = 0;
    for (const layer of this.layers) layer.set(x, y, 1 + g, 0);
  }

  private observe(): void {
    observeGroups(this.grid);
  }

  private output(): StepOutput {
    return { groups: this.out, step: this.t, done: this.done, info: this.info };
  }
}

export const pursuit = defineEnvironment({
  name: 'pursuit',
  description:
    "MAgent2's adversarial pursuit: predators (11x11 view, 13 actions) tag prey (9x9 view, 9 actions)",
  config: pursuitConfig,
  create: (config) => new Pursuit(config),
});
