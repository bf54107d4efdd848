/**
 * Gather, after MAgent2's gather_v5 (PettingZoo's magent/gather): one group of foragers on a
 * square map dotted with food. Food is not an agent here but a cell with hit points: five attacks
 * of damage 6 break a food cell of hp 25 and the fifth attacker eats it (+5). Foragers can also
 * attack each other, and one attack (damage 6 > hp 3) kills.
 *
 * | spec                 | value                                                                  |
 * |----------------------|------------------------------------------------------------------------|
 * | groups               | `foragers` (capacity: the layout's agent count)                        |
 * | map                  | `map` x `map` (default 200, as MAgent2); off the map reads as obstacle |
 * | forager              | hp 3, damage 6, speed 3, view radius 7, attack radius 1                |
 * | food                 | hp 25 (5 attacks), does not move, does not regrow                      |
 * | actions (33)         | 0..28 move to a cell within radius 3 (row-major: dy = -3..3, then dx   |
 * |                      | ascending; 14 is stay), 29..32 attack N, W, E, S                       |
 * | view (15 x 15 x 5)   | obstacle, forager, forager hp / 3, food, food hp / 25; circle r = 7    |
 * | features (36)        | last action one-hot (33), last reward, x / (map-1), y / (map-1)        |
 * | rewards              | step -0.01; any attack -0.1; attacking food +0.5; eating it +5;        |
 * |                      | death -1 (attacking a forager earns nothing but the attack penalty)    |
 * | hp over time         | `stepRecover` hp a step, default 0 as in MAgent2's gather config (its  |
 * |                      | foragers do not starve); a negative value makes them starve: a forager |
 * |                      | whose hp falls to 0 dies (-1). Eating does not restore hp (MAgent's   |
 * |                      | food has no kill_supply), so with stepRecover < 0 every forager dies   |
 * |                      | after 3 / -stepRecover steps: a deadline to eat within, not a diet.    |
 * | episode              | ends when every forager is dead, or is truncated after 500 steps       |
 *
 * One step, in order (all orders drawn from the environment's seeded PRNG, so one seed gives one
 * trajectory):
 *  1. every live forager is charged the step reward;
 *  2. attacks, one forager at a time in a random order: the attacker pays -0.1; food in the target
 *     cell loses 6 hp (+0.5 to the attacker) and, at hp <= 0, is eaten (+5, the cell empties); a
 *     forager there loses 6 hp and, at hp <= 0, dies at once (-1 to it). A forager killed earlier
 *     in the order does not attack; attacking an empty or off-map cell only costs the penalty;
 *  3. recovery: hp += stepRecover, capped at 3; at hp <= 0 the forager dies (-1);
 *  4. moves, one forager at a time in the same random order: it moves if the target cell is on the
 *     map and empty (no forager, no food) at its turn; otherwise it stays.
 *
 * Layouts: `magent` reconstructs MAgent2's gather map (foragers on three square rings near the
 * border, food on nested squares and a 2-in-4 checker pattern in the centre; not guaranteed
 * cell-exact), `random` scatters `agents` foragers and `food` food cells uniformly, and `layout`
 * places everything explicitly (for tests and hand-made maps).
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
import { circleOffsets, circleSpans, rowOrder, ViewLayer } from './view-layer.ts';

export const GATHER_HP = 3;
export const GATHER_DAMAGE = 6;
export const FOOD_HP = 25;
export const GATHER_VIEW_RADIUS = 7;
/** 29 move offsets (dx, dy) within radius 3, row-major; index 14 is (0, 0). */
export const GATHER_MOVES = circleOffsets(3, true);
/** 4 attack offsets within radius 1: N, W, E, S. */
export const GATHER_ATTACKS = circleOffsets(1, false);
export const GATHER_STAY = 14;
const N_MOVES = GATHER_MOVES.length / 2;
const N_ACTIONS = N_MOVES + GATHER_ATTACKS.length / 2;
const FEATURES = N_ACTIONS + 3;

/** View channels, in storage order. */
export const GATHER_CHANNELS = ['obstacle', 'forager', 'forager_hp', 'food', 'food_hp'] as const;
const C_OBSTACLE = 0;
const C_AGENT = 1;
const C_AGENT_HP = 2;
const C_FOOD = 3;
const C_FOOD_HP = 4;

const cell = z.tuple([z.number().int(), z.number().int()]);

export const gatherConfig = z.object({
  map: z.number().int().min(8).max(8192).default(200).describe('map side in cells'),
  placement: z
    .enum(['magent', 'random'])
    .default('magent')
    .describe("MAgent2's ring layout, or uniform random"),
  agents: z
    .number()
    .int()
    .positive()
    .optional()
    .describe('foragers (random placement; magent: at most the ring count, which is the default)'),
  food: z
    .number()
    .int()
    .nonnegative()
    .optional()
    .describe('food cells for random placement (default: as many as the magent layout has)'),
  stepRecover: z.number().default(0).describe('hp gained per step (negative: starvation)'),
  stepReward: z.number().default(-0.01),
  attackPenalty: z.number().default(-0.1),
  deadPenalty: z.number().default(-1),
  attackFoodReward: z.number().default(0.5),
  eatReward: z.number().default(5).describe('reward for the attack that breaks a food cell'),
  maxSteps: z.number().int().positive().default(500),
  layout: z
    .object({
      agents: z.array(cell).min(1),
      food: z.array(cell).default([]),
      /** Hit points of each food cell (default 25). */
      foodHp: z.array(z.number().positive()).optional(),
      /** Hit points of each forager (default 3). */
      agentHp: z.array(z.number().positive()).optional(),
    })
    .optional()
    .describe('explicit placement: [x, y] cells of foragers and food'),
});
export type GatherConfig = z.infer<typeof gatherConfig>;

/**
 * MAgent2's add_square: cells every `gap` along the border of a square of side `side` centred on
 * the map (corners once).
 */
function addSquare(out: Set<number>, map: number, side: number, gap: number): void {
  const c = map >> 1;
  const h = Math.floor(side) >> 1;
  if (h <= 0) return;
  for (let x = c - h; x <= c + h; x += gap) {
    out.add((c - h) * map + x);
    out.add((c + h) * map + x);
  }
  for (let y = c - h; y <= c + h; y += gap) {
    out.add(y * map + c - h);
    out.add(y * map + c + h);
  }
}

/** The magent layout: forager cells and food cells (as y * map + x), in a fixed order. */
export function gatherMagentLayout(map: number): { agents: number[]; food: number[] } {
  const agents = new Set<number>();
  addSquare(agents, map, map * 0.9, 3);
  addSquare(agents, map, map * 0.8, 4);
  addSquare(agents, map, map * 0.7, 6);
  const food = new Set<number>();
  for (const [f, gap] of [
    [0.65, 10],
    [0.6, 10],
    [0.55, 10],
    [0.5, 4],
    [0.45, 3],
    [0.4, 1],
  ] as const)
    addSquare(food, map, map * f, gap);
  for (const d of [0, 2, 4, 6]) addSquare(food, map, map * 0.3 - d, 1);
  // The centre: 2 x 2 blocks of food every 4 cells inside the innermost square.
  const c = map >> 1;
  const h = (Math.floor(map * 0.3 - 8) >> 1) - 1;
  for (let y = c - h; y <= c + h; y++)
    for (let x = c - h; x <= c + h; x++)
      if ((x - c + h) % 4 >= 2 && (y - c + h) % 4 >= 2) food.add(y * map + x);
  for (const a of agents) food.delete(a);
  return { agents: [...agents], food: [...food] };
}

export class Gather implements Environment {
  readonly spec: EnvSpec;
  readonly config: GatherConfig;
  private readonly W: number;
  private readonly cap: number;
  private readonly rng = new Rng(0);
  private readonly out: GroupStep;
  /** The out's alive mask, as validateActions takes it. */
  private readonly alive: readonly Uint8Array[];
  private readonly groups: GroupStep[];
  /** The views of every slot, then the layer: one buffer, so views are copied with copyWithin. */
  private readonly obs: Float32Array;
  /** Per slot: position, hp, last action, heading of the last move. */
  readonly x: Int32Array;
  readonly y: Int32Array;
  readonly hp: Float32Array;
  private readonly lastAction: Int32Array;
  private readonly heading: Float32Array;
  /** Per cell: forager slot + 1 (0 empty), food hp (0 no food). */
  private readonly agentAt: Int32Array;
  readonly foodHp: Float32Array;
  private readonly layer: ViewLayer;
  private readonly spans = circleSpans(GATHER_VIEW_RADIUS);
  private readonly order: Int32Array;
  /** Observation order (live slots by row) and the counting sort's row counts. */
  private readonly obsOrder: Int32Array;
  private readonly rowCounts: Int32Array;
  private readonly viewSize: number;
  /** Fixed placements (magent or explicit layout), or null for random. */
  private readonly fixed: { agents: Int32Array; food: Int32Array; foodHp: Float32Array } | null;
  private readonly foodCount: number;
  private readonly info: Record<string, number> = {
    alive: 0,
    'food.left': 0,
    'food.eaten': 0,
    'food.attacks': 0,
    attacks: 0,
    kills: 0,
    starved: 0,
  };
  private t = 0;
  private episode = -1;
  private live = 0;
  private foodLeft = 0;
  private done = false;

  constructor(config: z.input<typeof gatherConfig> = {}) {
    const c = gatherConfig.parse(config);
    this.config = c;
    const W = c.map;
    this.W = W;
    let fixed: Gather['fixed'] = null;
    let cap: number;
    if (c.layout) {
      const agents = Int32Array.from(
        c.layout.agents.map(([x, y], i) => toCell(x, y, W, `layout.agents[${i}]`)),
      );
      const food = Int32Array.from(
        c.layout.food.map(([x, y], i) => toCell(x, y, W, `layout.food[${i}]`)),
      );
      const seen = new Set<number>();
      for (const [i, v] of [...agents, ...food].entries()) {
        if (seen.has(v))
          throw GibbsError.invalid(
            `gather layout cell ${i}`,
            [v % W, Math.floor(v / W)],
            'distinct cells',
          );
        seen.add(v);
      }
      const foodHp = Float32Array.from(
        c.layout.food.map((_, i) => c.layout?.foodHp?.[i] ?? FOOD_HP),
      );
      fixed = { agents, food, foodHp };
      cap = agents.length;
    } else if (c.placement === 'magent') {
      const l = gatherMagentLayout(W);
      const n = Math.min(c.agents ?? l.agents.length, l.agents.length);
      fixed = {
        agents: Int32Array.from(l.agents.slice(0, n)),
        food: Int32Array.from(l.food),
        foodHp: new Float32Array(l.food.length).fill(FOOD_HP),
      };
      cap = n;
    } else {
      cap = c.agents ?? Math.max(1, Math.round((495 * W * W) / (200 * 200)));
    }
    const foodCount = fixed ? fixed.food.length : (c.food ?? gatherMagentLayout(W).food.length);
    if (!fixed && cap + foodCount > 0.8 * W * W)
      throw GibbsError.invalid(
        'gather agents + food',
        cap + foodCount,
        `at most 80 % of the ${W}x${W} map (${Math.floor(0.8 * W * W)} cells)`,
      );
    this.fixed = fixed;
    this.foodCount = foodCount;
    this.cap = cap;
    const side = 2 * GATHER_VIEW_RADIUS + 1;
    this.spec = {
      name: 'gather',
      maxSteps: c.maxSteps,
      grid: { width: W, height: W },
      groups: [
        {
          name: 'foragers',
          capacity: cap,
          view: { height: side, width: side, channels: 5, channelNames: GATHER_CHANNELS },
          features: FEATURES,
          actions: N_ACTIONS,
          actionNames: [
            ...Array.from({ length: N_MOVES }, (_, k) =>
              k === GATHER_STAY ? 'stay' : `move ${GATHER_MOVES[2 * k]},${GATHER_MOVES[2 * k + 1]}`,
            ),
            'attack N',
            'attack W',
            'attack E',
            'attack S',
          ],
        },
      ],
    };
    this.viewSize = side * side * 5;
    const views = cap * this.viewSize;
    this.obs = new Float32Array(views + ViewLayer.size(W, W, 5, GATHER_VIEW_RADIUS));
    this.out = {
      ...allocGroupStep({ ...this.spec.groups[0], view: null }),
      view: this.obs.subarray(0, views),
    };
    this.groups = [this.out];
    this.alive = [this.out.alive];
    this.x = new Int32Array(cap);
    this.y = new Int32Array(cap);
    this.hp = new Float32Array(cap);
    this.lastAction = new Int32Array(cap);
    this.heading = new Float32Array(cap);
    this.order = new Int32Array(cap);
    this.obsOrder = new Int32Array(cap);
    this.rowCounts = new Int32Array(W + 1);
    this.agentAt = new Int32Array(W * W);
    this.foodHp = new Float32Array(W * W);
    this.layer = new ViewLayer(W, W, 5, GATHER_VIEW_RADIUS, C_OBSTACLE, {
      buffer: this.obs,
      offset: views,
    });
  }

  reset(seed: number): StepOutput {
    this.rng.reseed(seed);
    this.t = 0;
    this.episode++;
    this.done = false;
    this.agentAt.fill(0);
    this.foodHp.fill(0);
    this.layer.clear();
    const o = this.out;
    o.view.fill(0);
    o.features.fill(0);
    o.reward.fill(0);
    o.terminated.fill(0);
    o.truncated.fill(0);
    o.alive.fill(1);
    this.lastAction.fill(-1);
    this.heading.fill(Number.NaN);
    const W = this.W;
    const fixed = this.fixed;
    for (let f = 0; f < this.foodCount; f++) {
      const c = fixed ? fixed.food[f] : this.emptyCell();
      this.putFood(c % W, Math.floor(c / W), fixed ? fixed.foodHp[f] : FOOD_HP);
    }
    this.foodLeft = this.foodCount;
    const hp0 = this.config.layout?.agentHp;
    for (let i = 0; i < this.cap; i++) {
      const c = fixed ? fixed.agents[i] : this.emptyCell();
      this.hp[i] = hp0?.[i] ?? GATHER_HP;
      this.place(i, c % W, Math.floor(c / W));
    }
    this.live = this.cap;
    for (const k in this.info) this.info[k] = 0;
    this.observe();
    return this.output();
  }

  step(actions: readonly Int32Array[]): StepOutput {
    if (this.done) throw stepAfterDone(this.spec, this.t);
    validateActions(this.spec, actions, this.alive);
    const act = actions[0];
    const o = this.out;
    const c = this.config;
    const W = this.W;
    this.t++;
    let eaten = 0;
    let foodAttacks = 0;
    let attacks = 0;
    let kills = 0;
    let starved = 0;
    // 1. Step reward; the order of this step.
    let n = 0;
    for (let i = 0; i < this.cap; i++) {
      o.terminated[i] = 0;
      o.truncated[i] = 0;
      if (o.alive[i]) {
        o.reward[i] = c.stepReward;
        this.order[n++] = i;
      } else o.reward[i] = 0;
    }
    this.rng.shuffle(this.order, n);
    // 2. Attacks.
    for (let k = 0; k < n; k++) {
      const i = this.order[k];
      const a = act[i];
      if (!o.alive[i] || a < N_MOVES) continue;
      attacks++;
      o.reward[i] += c.attackPenalty;
      const tx = this.x[i] + GATHER_ATTACKS[2 * (a - N_MOVES)];
      const ty = this.y[i] + GATHER_ATTACKS[2 * (a - N_MOVES) + 1];
      if (tx < 0 || ty < 0 || tx >= W || ty >= W) continue;
      const tc = ty * W + tx;
      if (this.foodHp[tc] > 0) {
        foodAttacks++;
        o.reward[i] += c.attackFoodReward;
        const left = this.foodHp[tc] - GATHER_DAMAGE;
        if (left <= 0) {
          o.reward[i] += c.eatReward;
          eaten++;
          this.putFood(tx, ty, 0);
        } else this.putFood(tx, ty, left);
      } else if (this.agentAt[tc] > 0) {
        const j = this.agentAt[tc] - 1;
        this.hp[j] -= GATHER_DAMAGE;
        if (this.hp[j] <= 0) {
          kills++;
          this.kill(j);
        } else this.layer.set(tx, ty, C_AGENT_HP, this.hp[j] / GATHER_HP);
      }
    }
    // 3. Recovery (or starvation).
    if (c.stepRecover !== 0)
      for (let k = 0; k < n; k++) {
        const i = this.order[k];
        if (!o.alive[i]) continue;
        this.hp[i] = Math.min(GATHER_HP, this.hp[i] + c.stepRecover);
        if (this.hp[i] <= 0) {
          starved++;
          this.kill(i);
        } else this.layer.set(this.x[i], this.y[i], C_AGENT_HP, this.hp[i] / GATHER_HP);
      }
    // 4. Moves.
    for (let k = 0; k < n; k++) {
      const i = this.order[k];
      const a = act[i];
      this.lastAction[i] = a;
      if (!o.alive[i] || a >= N_MOVES || a === GATHER_STAY) continue;
      const dx = GATHER_MOVES[2 * a];
      const dy = GATHER_MOVES[2 * a + 1];
      const tx = this.x[i] + dx;
      const ty = this.y[i] + dy;
      if (tx < 0 || ty < 0 || tx >= W || ty >= W) continue;
      const tc = ty * W + tx;
      if (this.agentAt[tc] !== 0 || this.foodHp[tc] > 0) continue;
      this.unplace(i);
      this.place(i, tx, ty);
      this.heading[i] = Math.atan2(dy, dx);
    }
    this.foodLeft -= eaten;
    if (this.live === 0) this.done = true;
    else if (this.t >= c.maxSteps) {
      this.done = true;
      for (let i = 0; i < this.cap; i++) o.truncated[i] = o.alive[i];
    }
    const info = this.info;
    info['food.eaten'] = eaten;
    info['food.attacks'] = foodAttacks;
    info.attacks = attacks;
    info.kills = kills;
    info.starved = starved;
    this.observe();
    return this.output();
  }

  render(): RenderFrame {
    const W = this.W;
    const cells = new Uint8Array(W * W);
    for (let c = 0; c < W * W; c++) if (this.foodHp[c] > 0) cells[c] = 1;
    const o = this.out;
    const agents = {
      count: this.live,
      group: new Uint8Array(this.live),
      slot: new Int32Array(this.live),
      x: new Float32Array(this.live),
      y: new Float32Array(this.live),
      hp: new Float32Array(this.live),
      heading: new Float32Array(this.live),
      action: new Int16Array(this.live),
      reward: new Float32Array(this.live),
    };
    let k = 0;
    for (let i = 0; i < this.cap; i++) {
      if (!o.alive[i]) continue;
      cells[this.y[i] * W + this.x[i]] = 2;
      agents.slot[k] = i;
      agents.x[k] = this.x[i];
      agents.y[k] = this.y[i];
      agents.hp[k] = this.hp[i] / GATHER_HP;
      agents.heading[k] = this.heading[i];
      agents.action[k] = this.lastAction[i];
      agents.reward[k] = o.reward[i];
      k++;
    }
    return {
      step: this.t,
      episode: Math.max(0, this.episode),
      width: W,
      height: W,
      cells,
      legend: ['empty', 'food', 'forager'],
      groups: ['foragers'],
      agents,
    };
  }

  /** Food cells left. */
  get food(): number {
    return this.foodLeft;
  }

  private emptyCell(): number {
    const W = this.W;
    for (;;) {
      const c = this.rng.int(W * W);
      if (this.agentAt[c] === 0 && this.foodHp[c] === 0) return c;
    }
  }

  private putFood(x: number, y: number, hp: number): void {
    this.foodHp[y * this.W + x] = hp;
    this.layer.set(x, y, C_FOOD, hp > 0 ? 1 : 0);
    this.layer.set(x, y, C_FOOD_HP, hp / FOOD_HP);
  }

  private place(i: number, x: number, y: number): void {
    this.x[i] = x;
    this.y[i] = y;
    this.agentAt[y * this.W + x] = i + 1;
    this.layer.set(x, y, C_AGENT, 1);
    this.layer.set(x, y, C_AGENT_HP, this.hp[i] / GATHER_HP);
  }

  private unplace(i: number): void {
    const x = this.x[i];
    const y = this.y[i];
    this.agentAt[y * this.W + x] = 0;
    this.layer.set(x, y, C_AGENT, 0);
    this.layer.set(x, y, C_AGENT_HP, 0);
  }

  private kill(i: number): void {
    const o = this.out;
    this.hp[i] = 0;
    this.unplace(i);
    o.alive[i] = 0;
    o.terminated[i] = 1;
    o.reward[i] += this.config.deadPenalty;
    o.view.fill(0, i * this.viewSize, (i + 1) * this.viewSize);
    o.features.fill(0, i * FEATURES, (i + 1) * FEATURES);
    this.live--;
  }

  private observe(): void {
    const o = this.out;
    const W1 = Math.max(1, this.W - 1);
    const n = rowOrder(this.y, o.alive, this.W, this.rowCounts, this.obsOrder);
    for (let k = 0; k < n; k++) {
      const i = this.obsOrder[k];
      this.layer.window(this.obs, i * this.viewSize, this.x[i], this.y[i], this.spans);
      const f = i * FEATURES;
      o.features.fill(0, f, f + N_ACTIONS);
      if (this.lastAction[i] >= 0) o.features[f + this.lastAction[i]] = 1;
      o.features[f + N_ACTIONS] = o.reward[i];
      o.features[f + N_ACTIONS + 1] = this.x[i] / W1;
      o.features[f + N_ACTIONS + 2] = this.y[i] / W1;
    }
    this.info.alive = this.live;
    this.info['food.left'] = this.foodLeft;
  }

  private output(): StepOutput {
    return { groups: this.groups, step: this.t, done: this.done, info: this.info };
  }
}

function toCell(x: number, y: number, W: number, field: string): number {
  if (!(x >= 0 && y >= 0 && x < W && y < W))
    throw GibbsError.invalid(`gather ${field}`, [x, y], `a cell inside the ${W}x${W} map`);
  return y * W + x;
}

export const gather = defineEnvironment({
  name: 'gather',
  description:
    "MAgent2's gather: foragers break food cells (hp 25, 5 attacks) to eat them; 33 actions, 15x15x5 views",
  config: gatherConfig,
  create: (config) => new Gather(config),
});
