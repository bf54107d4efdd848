/**
 * Tribes: a world of several groups, written against Gibbs's environment contract as a user would
 * write one outside the repository (docs/custom-environments.md, "Your own world, the whole way").
 *
 * `tribes` tribes of `walkers` walkers roam a size x size grid and pick up coins. Each step costs
 * a walker 1 energy; a coin gives +1 reward and `coinEnergy` energy, and reappears on a random free
 * cell. A walker whose energy reaches 0 dies (reward -1). The episode ends when every walker is
 * dead or after maxSteps.
 *
 * | group              | capacity  | view                                    | features       | actions        |
 * |--------------------|-----------|-----------------------------------------|----------------|----------------|
 * | one per tribe      | `walkers` | 5 x 5 x 4: wall, coin, own tribe, rival | energy / start | 5: stay, N, E, |
 * | (red, green, ...)  |           |                                         |                | S, W           |
 *
 * Moves are resolved one walker at a time, in an order drawn from the world's Rng each step (no
 * tribe always goes first); a walker moves if the target cell is on the grid and free.
 * Info: `coins.<tribe>` (coins its walkers picked up this step) and `deaths`.
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

const MOVES = [0, 0, 0, -1, 1, 0, 0, 1, -1, 0]; // (dx, dy) of stay, N, E, S, W
const R = 2; // view radius: 5 x 5
const SIDE = 2 * R + 1;
const CHANNELS = 4;
export const TRIBE_NAMES = ['red', 'green', 'blue', 'gold'];

export const tribesConfig = z.object({
  tribes: z.number().int().min(1).max(4).default(3),
  walkers: z.number().int().positive().default(6).describe('walkers per tribe'),
  size: z.number().int().min(3).max(1024).default(12).describe('grid side'),
  coins: z.number().int().nonnegative().default(16),
  energy: z.number().int().positive().default(15).describe('energy at the start'),
  coinEnergy: z.number().int().nonnegative().default(6),
  maxSteps: z.number().int().positive().default(100),
});
export type TribesConfig = z.infer<typeof tribesConfig>;

export class Tribes implements Environment {
  readonly spec: EnvSpec;
  private readonly c: TribesConfig;
  private readonly rng = new Rng(0);
  private readonly out: GroupStep[];
  private readonly alive: Uint8Array[]; // for validateActions, allocated once
  // Struct of arrays over all walkers: walker k is slot k % walkers of tribe floor(k / walkers).
  private readonly x: Int32Array;
  private readonly y: Int32Array;
  private readonly energy: Int32Array;
  private readonly order: Int32Array;
  private readonly walkerAt: Int32Array; // walker + 1 by cell, 0 when free
  private readonly coin: Uint8Array;
  private readonly info: Record<string, number> = {};
  private t = 0;
  private episode = -1;
  private done = false;

  constructor(config: Partial<TribesConfig> = {}) {
    const c = tribesConfig.parse(config);
    const n = c.tribes * c.walkers;
    if (n + c.coins > c.size * c.size)
      throw GibbsError.invalid('tribes: walkers + coins', n + c.coins, `at most ${c.size ** 2}`);
    this.c = c;
    this.spec = {
      name: 'tribes',
      maxSteps: c.maxSteps,
      grid: { width: c.size, height: c.size },
      groups: TRIBE_NAMES.slice(0, c.tribes).map((name) => ({
        name,
        capacity: c.walkers,
        view: {
          height: SIDE,
          width: SIDE,
          channels: CHANNELS,
          channelNames: ['wall', 'coin', 'own', 'rival'],
        },
        features: 1,
        actions: 5,
        actionNames: ['stay', 'N', 'E', 'S', 'W'],
      })),
    };
    this.out = this.spec.groups.map((g) => allocGroupStep(g));
    this.alive = this.out.map((o) => o.alive);
    this.x = new Int32Array(n);
    this.y = new Int32Array(n);
    this.energy = new Int32Array(n);
    this.order = Int32Array.from({ length: n }, (_, k) => k);
    this.walkerAt = new Int32Array(c.size * c.size);
    this.coin = new Uint8Array(c.size * c.size);
  }

  reset(seed: number): StepOutput {
    this.rng.reseed(seed); // one seed, one episode
    this.t = 0;
    this.episode++;
    this.done = false;
    this.walkerAt.fill(0);
    this.coin.fill(0);
    for (const o of this.out) {
      o.alive.fill(1);
      o.reward.fill(0);
      o.terminated.fill(0);
      o.truncated.fill(0);
    }
    for (let k = 0; k < this.x.length; k++) {
      const cell = this.freeCell();
      this.x[k] = cell % this.c.size;
      this.y[k] = Math.floor(cell / this.c.size);
      this.walkerAt[cell] = k + 1;
      this.energy[k] = this.c.energy;
    }
    for (let j = 0; j < this.c.coins; j++) this.coin[this.freeCell()] = 1;
    for (let k = 0; k < this.order.length; k++) this.order[k] = k; // shuffled from here each step
    this.clearInfo();
    this.observe();
    return this.output();
  }

  step(actions: readonly Int32Array[]): StepOutput {
    const { size: W, walkers: N } = this.c;
    // The contract: no step after done until reset; wrong shapes and out-of-range actions of live
    // agents are GibbsErrors, not no-ops (core's validateActions names group, slot and value).
    if (this.done) throw stepAfterDone(this.spec, this.t);
    validateActions(this.spec, actions, this.alive);
    this.t++;
    this.clearInfo();
    for (const o of this.out) {
      o.terminated.fill(0);
      o.reward.fill(0); // dead walkers get 0, live ones start from 0
    }
    this.rng.shuffle(this.order);
    for (const k of this.order) {
      const g = Math.floor(k / N);
      const i = k % N;
      const o = this.out[g];
      if (!o.alive[i]) continue;
      const a = actions[g][i];
      const tx = this.x[k] + MOVES[2 * a];
      const ty = this.y[k] + MOVES[2 * a + 1];
      if (tx >= 0 && ty >= 0 && tx < W && ty < W && this.walkerAt[ty * W + tx] === 0) {
        this.walkerAt[this.y[k] * W + this.x[k]] = 0;
        this.walkerAt[ty * W + tx] = k + 1;
        this.x[k] = tx;
        this.y[k] = ty;
      }
      const cell = this.y[k] * W + this.x[k];
      if (this.coin[cell]) {
        this.coin[cell] = 0;
        this.coin[this.freeCell()] = 1; // a new coin elsewhere
        o.reward[i] += 1;
        this.energy[k] += this.c.coinEnergy;
        this.info[`coins.${this.spec.groups[g].name}`]++;
      }
      if (--this.energy[k] <= 0) {
        o.alive[i] = 0;
        o.terminated[i] = 1;
        o.reward[i] -= 1;
        this.walkerAt[cell] = 0;
        this.info.deaths++;
      }
    }
    const live = this.out.some((o) => o.alive.includes(1));
    if (!live) this.done = true;
    else if (this.t >= this.c.maxSteps) {
      this.done = true;
      for (const o of this.out) o.truncated.set(o.alive);
    }
    this.observe();
    return this.output();
  }

  render(): RenderFrame {
    const { size: W, walkers: N } = this.c;
    let n = 0;
    for (const o of this.out) for (let i = 0; i < N; i++) n += o.alive[i];
    const cells = Uint8Array.from(this.coin); // 0 empty, 1 coin, 2 + tribe: a walker
    const agents = {
      count: n,
      group: new Uint8Array(n),
      slot: new Int32Array(n),
      x: new Float32Array(n),
      y: new Float32Array(n),
      hp: new Float32Array(n),
      heading: new Float32Array(n).fill(Number.NaN),
      action: new Int16Array(n).fill(-1),
      reward: new Float32Array(n),
    };
    let j = 0;
    this.out.forEach((o, g) => {
      for (let i = 0; i < N; i++) {
        if (!o.alive[i]) continue;
        const k = g * N + i;
        cells[this.y[k] * W + this.x[k]] = 2 + g;
        agents.group[j] = g;
        agents.slot[j] = i;
        agents.x[j] = this.x[k];
        agents.y[j] = this.y[k];
        agents.hp[j] = Math.min(1, this.energy[k] / this.c.energy);
        agents.reward[j] = o.reward[i];
        j++;
      }
    });
    return {
      step: this.t,
      episode: Math.max(0, this.episode),
      width: W,
      height: W,
      cells,
      legend: ['empty', 'coin', ...this.spec.groups.map((g) => g.name)],
      groups: this.spec.groups.map((g) => g.name),
      agents,
    };
  }

  private clearInfo(): void {
    for (const g of this.spec.groups) this.info[`coins.${g.name}`] = 0;
    this.info.deaths = 0;
  }

  /** A uniformly random cell with no walker and no coin (the config guarantees one exists). */
  private freeCell(): number {
    const n = this.c.size * this.c.size;
    for (;;) {
      const cell = this.rng.int(n);
      if (this.walkerAt[cell] === 0 && this.coin[cell] === 0) return cell;
    }
  }

  /** Views (5 x 5 x 4 around each live walker) and features (energy), written in place. */
  private observe(): void {
    const { size: W, walkers: N } = this.c;
    const size = SIDE * SIDE * CHANNELS;
    this.out.forEach((o, g) => {
      for (let i = 0; i < N; i++) {
        const k = g * N + i;
        o.view.fill(0, i * size, (i + 1) * size);
        o.features[i] = o.alive[i] ? this.energy[k] / this.c.energy : 0;
        if (!o.alive[i]) continue;
        for (let dy = -R; dy <= R; dy++)
          for (let dx = -R; dx <= R; dx++) {
            const px = this.x[k] + dx;
            const py = this.y[k] + dy;
            const at = i * size + ((dy + R) * SIDE + dx + R) * CHANNELS;
            if (px < 0 || py < 0 || px >= W || py >= W) o.view[at] = 1;
            else {
              const cell = py * W + px;
              o.view[at + 1] = this.coin[cell];
              const w = this.walkerAt[cell] - 1;
              if (w >= 0 && w !== k) o.view[at + (Math.floor(w / N) === g ? 2 : 3)] = 1;
            }
          }
      }
    });
  }

  private output(): StepOutput {
    return { groups: this.out, step: this.t, done: this.done, info: this.info };
  }
}

/** What `gibbs check ./tribes.ts` finds: an EnvironmentEntry. */
export default defineEnvironment({
  name: 'tribes',
  description: 'tribes of walkers compete for coins to keep their energy up',
  config: tribesConfig,
  create: (config) => new Tribes(config),
});
