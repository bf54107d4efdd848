/**
 * Grid foraging with categorical observations, for active-inference agents: a population moves on
 * a periodic W x H grid scattered with food; nobody sees the food, each agent only senses
 *
 *   cell   0 empty, 1 food: whether it found (and ate) food in its cell on arrival;
 *   smell  0 none, 1 faint, 2 strong: a noisy smell of the nearest food, from the toroidal
 *          Manhattan distance d to it: strong if d <= 1, faint if d <= 3, none otherwise; with
 *          probability `smellNoise` the reading is replaced by a uniformly random level.
 *
 * Actions: 0 stay, 1 up (y - 1), 2 right (x + 1), 3 down (y + 1), 4 left (x - 1). All agents move
 * at once; then, in slot order, an agent standing on food eats it (reward +1) and the food grows
 * back at a random empty cell, so the amount of food stays constant. Several agents may share a
 * cell. Features of agent i: [cell, smell].
 *
 * With `rivals` > 0 a second group, "rivals", shares the grid and its food under the same rules
 * (for mixed populations: active-inference foragers against another kind of agent). Slots are
 * numbered foragers first, then rivals, in the arrays x, y and eaten.
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

export const aifForageConfig = z.object({
  width: z.number().int().min(4).max(4096).default(32).describe('grid width'),
  height: z.number().int().min(4).max(4096).default(32).describe('grid height'),
  agents: z.number().int().min(1).max(1_000_000).default(256).describe('foragers'),
  rivals: z
    .number()
    .int()
    .min(0)
    .max(1_000_000)
    .default(0)
    .describe('agents of a second group "rivals"'),
  food: z
    .number()
    .int()
    .min(1)
    .default(64)
    .describe('food items (constant: eaten food grows back elsewhere)'),
  smellNoise: z
    .number()
    .min(0)
    .max(1)
    .default(0.1)
    .describe('probability that a smell reading is random'),
  maxSteps: z.number().int().min(1).default(200).describe('steps per episode'),
});
export type AifForageConfig = z.infer<typeof aifForageConfig>;
/** The config with `rivals` optional (0). */
export type AifForageOptions = Omit<AifForageConfig, 'rivals'> & { rivals?: number };

export const FORAGE_MOVES: readonly (readonly [number, number])[] = [
  [0, 0],
  [0, -1],
  [1, 0],
  [0, 1],
  [-1, 0],
];
export const FORAGE_ACTIONS = ['stay', 'up', 'right', 'down', 'left'] as const;
export const SMELL_NONE = 0;
export const SMELL_FAINT = 1;
export const SMELL_STRONG = 2;

/** The noiseless smell level at Manhattan distance d. */
export function smellLevel(d: number): number {
  return d <= 1 ? SMELL_STRONG : d <= 3 ? SMELL_FAINT : SMELL_NONE;
}

export class AifForageEnv implements Environment {
  readonly spec: EnvSpec;
  readonly x: Int32Array;
  readonly y: Int32Array;
  /** 1 where a cell holds food (index y * width + x). */
  readonly foodMap: Uint8Array;
  /** Toroidal Manhattan distance of every cell to the nearest food (after the last step). */
  readonly distance: Int32Array;
  /** Food eaten by each agent this episode. */
  readonly eaten: Int32Array;
  /** Agents in all groups (foragers, then rivals). */
  readonly total: number;
  private readonly outs: GroupStep[];
  /** The outs' alive masks, as validateActions takes them. */
  private readonly alive: readonly Uint8Array[];
  private readonly lastAction: Int16Array;
  private readonly queue: Int32Array;
  private readonly rng = new Rng(0);
  private steps = 0;
  private ateRivals = 0;
  private episode = -1;
  private info: Record<string, number> = {};

  constructor(readonly config: AifForageOptions) {
    const { width, height, agents, food } = config;
    const rivals = config.rivals ?? 0;
    const total = agents + rivals;
    if (food >= width * height) {
      throw GibbsError.invalid('food', food, `fewer than the ${width * height} cells of the grid`);
    }
    this.spec = {
      name: 'aif-forage',
      groups: [
        {
          name: 'foragers',
          capacity: agents,
          view: null,
          features: 2,
          actions: 5,
          actionNames: [...FORAGE_ACTIONS],
        },
        ...(rivals > 0
          ? [
              {
                name: 'rivals',
                capacity: rivals,
                view: null,
                features: 2,
                actions: 5,
                actionNames: [...FORAGE_ACTIONS],
              },
            ]
          : []),
      ],
      maxSteps: config.maxSteps,
      grid: { width, height },
    };
    this.total = total;
    this.x = new Int32Array(total);
    this.y = new Int32Array(total);
    this.foodMap = new Uint8Array(width * height);
    this.distance = new Int32Array(width * height);
    this.eaten = new Int32Array(total);
    this.outs = this.spec.groups.map(allocGroupStep);
    this.alive = this.outs.map((o) => o.alive);
    this.lastAction = new Int16Array(total);
    this.queue = new Int32Array(width * height);
  }

  reset(seed: number): StepOutput {
    this.rng.reseed(seed);
    const { width, height, food } = this.config;
    this.foodMap.fill(0);
    for (let k = 0; k < food; k++) this.growFood();
    for (let i = 0; i < this.total; i++) {
      this.x[i] = this.rng.int(width);
      this.y[i] = this.rng.int(height);
    }
    this.eaten.fill(0);
    this.lastAction.fill(-1);
    this.steps = 0;
    this.episode++;
    for (const out of this.outs) {
      out.alive.fill(1);
      out.terminated.fill(0);
      out.truncated.fill(0);
      out.reward.fill(0);
    }
    this.eat(false);
    this.observe(0);
    return this.output();
  }

  step(actions: readonly Int32Array[]): StepOutput {
    if (this.episode < 0)
      throw GibbsError.invalid('aif-forage.step', 'before reset', 'reset() first');
    if (this.steps >= this.config.maxSteps) throw stepAfterDone(this.spec, this.steps);
    validateActions(this.spec, actions, this.alive);
    const { width, height } = this.config;
    for (let i = 0; i < this.total; i++) {
      const gi = i < this.config.agents ? 0 : 1;
      const act = actions[gi][gi === 0 ? i : i - this.config.agents];
      const [mx, my] = FORAGE_MOVES[act];
      this.x[i] = (this.x[i] + mx + width) % width;
      this.y[i] = (this.y[i] + my + height) % height;
      this.lastAction[i] = act;
    }
    this.steps++;
    const ate = this.eat(true);
    for (const out of this.outs) out.truncated.fill(this.steps >= this.config.maxSteps ? 1 : 0);
    this.observe(ate);
    return this.output();
  }

  /** Agents on food eat it (in slot order); returns how many ate. Sets cell features and rewards. */
  private eat(withReward: boolean): number {
    const { width, agents } = this.config;
    let ate = 0;
    this.ateRivals = 0;
    for (let i = 0; i < this.total; i++) {
      const out = i < agents ? this.outs[0] : this.outs[1];
      const slot = i < agents ? i : i - agents;
      const c = this.y[i] * width + this.x[i];
      const found = this.foodMap[c] === 1 && withReward;
      if (found) {
        this.foodMap[c] = 0;
        this.growFood();
        this.eaten[i]++;
        if (i < agents) ate++;
        else this.ateRivals++;
      }
      out.features[2 * slot] = found ? 1 : 0;
      out.reward[slot] = found ? 1 : 0;
    }
    return ate;
  }

  /** Put one food item on a uniformly random empty cell. */
  private growFood(): void {
    const n = this.foodMap.length;
    for (;;) {
      const c = this.rng.int(n);
      if (this.foodMap[c] === 0) {
        this.foodMap[c] = 1;
        return;
      }
    }
  }

  /** Multi-source BFS from every food cell (periodic grid), then noisy smell readings. */
  private observe(ate: number): void {
    const { width, height, agents, smellNoise } = this.config;
    const dist = this.distance;
    const q = this.queue;
    dist.fill(-1);
    let head = 0;
    let tail = 0;
    for (let c = 0; c < this.foodMap.length; c++) {
      if (this.foodMap[c]) {
        dist[c] = 0;
        q[tail++] = c;
      }
    }
    while (head < tail) {
      const c = q[head++];
      const cx = c % width;
      const cy = (c - cx) / width;
      const d = dist[c] + 1;
      for (let k = 0; k < 4; k++) {
        const n =
          k === 0
            ? cy * width + ((cx + 1) % width)
            : k === 1
              ? cy * width + ((cx + width - 1) % width)
              : k === 2
                ? ((cy + 1) % height) * width + cx
                : ((cy + height - 1) % height) * width + cx;
        if (dist[n] < 0) {
          dist[n] = d;
          q[tail++] = n;
        }
      }
    }
    let strong = 0;
    for (let i = 0; i < this.total; i++) {
      const out = i < agents ? this.outs[0] : this.outs[1];
      const slot = i < agents ? i : i - agents;
      let level = smellLevel(dist[this.y[i] * width + this.x[i]]);
      if (smellNoise > 0 && this.rng.float() < smellNoise) level = this.rng.int(3);
      out.features[2 * slot + 1] = level;
      if (level === SMELL_STRONG) strong++;
    }
    this.info = { food_eaten: ate, smell_strong: strong };
    if (this.outs.length > 1) this.info.food_eaten_rivals = this.ateRivals;
  }

  private output(): StepOutput {
    return {
      groups: this.outs,
      step: this.steps,
      done: this.steps >= this.config.maxSteps,
      info: this.info,
    };
  }

  render(): RenderFrame {
    const { width, height, agents } = this.config;
    const total = this.total;
    const cells = Uint8Array.from(this.foodMap);
    const frame = {
      count: total,
      group: Uint8Array.from({ length: total }, (_, i) => (i < agents ? 0 : 1)),
      slot: Int32Array.from({ length: total }, (_, i) => (i < agents ? i : i - agents)),
      x: Float32Array.from(this.x),
      y: Float32Array.from(this.y),
      hp: new Float32Array(total).fill(1),
      heading: new Float32Array(total),
      action: Int16Array.from(this.lastAction),
      reward: new Float32Array(total),
    };
    for (let i = 0; i < total; i++) {
      const a = this.lastAction[i];
      frame.heading[i] = a > 0 ? Math.atan2(FORAGE_MOVES[a][1], FORAGE_MOVES[a][0]) : Number.NaN;
      frame.reward[i] = i < agents ? this.outs[0].reward[i] : this.outs[1].reward[i - agents];
    }
    return {
      step: this.steps,
      episode: Math.max(0, this.episode),
      width,
      height,
      cells,
      legend: ['empty', 'food', ...this.spec.groups.map((g) => g.name)],
      groups: this.spec.groups.map((g) => g.name),
      agents: frame,
    };
  }
}

export const aifForage = defineEnvironment({
  name: 'aif-forage',
  description:
    'grid foraging with categorical observations (cell content + noisy smell of the nearest food), for active inference',
  config: aifForageConfig,
  create: (config) => new AifForageEnv(config),
});
