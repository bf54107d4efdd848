/**
 * Coins: a small custom world written against Gibbs's environment contract, as a user would write
 * one (docs/custom-environments.md walks through it).
 *
 * Walkers roam a width x height grid picking up coins. Each step costs a walker 1 energy; a coin
 * gives +1 reward and `coinEnergy` energy, and reappears on a random free cell. A walker whose
 * energy reaches 0 dies (reward -1). The episode ends when every walker is dead or after maxSteps.
 *
 * | group   | capacity  | view                                | features            | actions     |
 * |---------|-----------|-------------------------------------|---------------------|-------------|
 * | walkers | `walkers` | 5 x 5 x 3: wall (off grid), coin,  | energy / start       | 5: stay, N, |
 * |         |           | walker                              | energy              | E, S, W     |
 *
 * Moves are resolved one walker at a time in slot order (a walker moves if the target cell is on
 * the grid and free), so two walkers never share a cell and the result does not depend on luck.
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
const CHANNELS = 3;

export const coinsConfig = z.object({
  width: z.number().int().min(3).max(1024).default(16),
  height: z.number().int().min(3).max(1024).default(16),
  walkers: z.number().int().positive().default(8),
  coins: z.number().int().nonnegative().default(12),
  energy: z.number().int().positive().default(20).describe('energy at the start'),
  coinEnergy: z.number().int().nonnegative().default(5),
  maxSteps: z.number().int().positive().default(200),
});
export type CoinsConfig = z.infer<typeof coinsConfig>;

export class Coins implements Environment {
  readonly spec: EnvSpec;
  private readonly c: CoinsConfig;
  private readonly rng = new Rng(0);
  private readonly out: GroupStep;
  private readonly groups: GroupStep[];
  private readonly alive: Uint8Array[]; // for validateActions, allocated once
  // Struct of arrays: one typed array per attribute, indexed by slot or by cell (y * width + x).
  private readonly x: Int32Array;
  private readonly y: Int32Array;
  private readonly energy: Int32Array;
  private readonly walkerAt: Int32Array; // slot + 1, 0 when free
  private readonly coin: Uint8Array;
  private readonly info = { coins: 0, deaths: 0 };
  private t = 0;
  private episode = -1;
  private done = false;

  constructor(config: Partial<CoinsConfig> = {}) {
    const c = coinsConfig.parse(config);
    if (c.walkers + c.coins > c.width * c.height)
      throw GibbsError.invalid(
        'coins: walkers + coins',
        c.walkers + c.coins,
        `at most ${c.width * c.height} (the cells)`,
      );
    this.c = c;
    this.spec = {
      name: 'coins',
      maxSteps: c.maxSteps,
      grid: { width: c.width, height: c.height },
      groups: [
        {
          name: 'walkers',
          capacity: c.walkers,
          view: {
            height: SIDE,
            width: SIDE,
            channels: CHANNELS,
            channelNames: ['wall', 'coin', 'walker'],
          },
          features: 1,
          actions: 5,
          actionNames: ['stay', 'N', 'E', 'S', 'W'],
        },
      ],
    };
    this.out = allocGroupStep(this.spec.groups[0]);
    this.groups = [this.out];
    this.alive = [this.out.alive];
    this.x = new Int32Array(c.walkers);
    this.y = new Int32Array(c.walkers);
    this.energy = new Int32Array(c.walkers);
    this.walkerAt = new Int32Array(c.width * c.height);
    this.coin = new Uint8Array(c.width * c.height);
  }

  reset(seed: number): StepOutput {
    this.rng.reseed(seed); // one seed, one episode
    this.t = 0;
    this.episode++;
    this.done = false;
    this.walkerAt.fill(0);
    this.coin.fill(0);
    const o = this.out;
    o.alive.fill(1);
    o.reward.fill(0);
    o.terminated.fill(0);
    o.truncated.fill(0);
    for (let i = 0; i < this.c.walkers; i++) {
      const cell = this.freeCell();
      this.x[i] = cell % this.c.width;
      this.y[i] = Math.floor(cell / this.c.width);
      this.walkerAt[cell] = i + 1;
      this.energy[i] = this.c.energy;
    }
    for (let k = 0; k < this.c.coins; k++) this.coin[this.freeCell()] = 1;
    this.info.coins = 0;
    this.info.deaths = 0;
    this.observe();
    return this.output();
  }

  step(actions: readonly Int32Array[]): StepOutput {
    const { width: W, height: H } = this.c;
    const o = this.out;
    // The contract: no step after done until reset; wrong shapes and out-of-range actions of live
    // agents are GibbsErrors, not no-ops (core's validateActions names group, slot and value).
    if (this.done) throw stepAfterDone(this.spec, this.t);
    validateActions(this.spec, actions, this.alive);
    const a = actions[0];
    this.t++;
    this.info.coins = 0;
    this.info.deaths = 0;
    for (let i = 0; i < this.c.walkers; i++) {
      o.terminated[i] = 0;
      o.reward[i] = 0; // dead walkers get 0, live ones start from 0
      if (!o.alive[i]) continue;
      const tx = this.x[i] + MOVES[2 * a[i]];
      const ty = this.y[i] + MOVES[2 * a[i] + 1];
      if (tx >= 0 && ty >= 0 && tx < W && ty < H && this.walkerAt[ty * W + tx] === 0) {
        this.walkerAt[this.y[i] * W + this.x[i]] = 0;
        this.walkerAt[ty * W + tx] = i + 1;
        this.x[i] = tx;
        this.y[i] = ty;
      }
      const cell = this.y[i] * W + this.x[i];
      if (this.coin[cell]) {
        this.coin[cell] = 0;
        this.coin[this.freeCell()] = 1; // a new coin elsewhere
        o.reward[i] += 1;
        this.energy[i] += this.c.coinEnergy;
        this.info.coins++;
      }
      if (--this.energy[i] <= 0) {
        o.alive[i] = 0;
        o.terminated[i] = 1;
        o.reward[i] -= 1;
        this.walkerAt[cell] = 0;
        this.info.deaths++;
      }
    }
    let live = 0;
    for (let i = 0; i < this.c.walkers; i++) live += o.alive[i];
    if (live === 0) this.done = true;
    else if (this.t >= this.c.maxSteps) {
      this.done = true;
      for (let i = 0; i < this.c.walkers; i++) o.truncated[i] = o.alive[i];
    }
    this.observe();
    return this.output();
  }

  render(): RenderFrame {
    const { width: W, height: H } = this.c;
    const o = this.out;
    let n = 0;
    for (let i = 0; i < this.c.walkers; i++) n += o.alive[i];
    const cells = Uint8Array.from(this.coin); // 0 empty, 1 coin, 2 walker
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
    let k = 0;
    for (let i = 0; i < this.c.walkers; i++) {
      if (!o.alive[i]) continue;
      cells[this.y[i] * W + this.x[i]] = 2;
      agents.slot[k] = i;
      agents.x[k] = this.x[i];
      agents.y[k] = this.y[i];
      agents.hp[k] = Math.min(1, this.energy[i] / this.c.energy);
      agents.reward[k] = o.reward[i];
      k++;
    }
    return {
      step: this.t,
      episode: Math.max(0, this.episode),
      width: W,
      height: H,
      cells,
      legend: ['empty', 'coin', 'walker'],
      groups: ['walkers'],
      agents,
    };
  }

  /** A uniformly random cell with no walker and no coin (the config guarantees one exists). */
  private freeCell(): number {
    const n = this.c.width * this.c.height;
    for (;;) {
      const cell = this.rng.int(n);
      if (this.walkerAt[cell] === 0 && this.coin[cell] === 0) return cell;
    }
  }

  /** Views (5 x 5 x 3 around each live walker) and features (energy), written in place. */
  private observe(): void {
    const { width: W, height: H } = this.c;
    const o = this.out;
    const size = SIDE * SIDE * CHANNELS;
    for (let i = 0; i < this.c.walkers; i++) {
      const base = i * size;
      o.view.fill(0, base, base + size);
      o.features[i] = o.alive[i] ? this.energy[i] / this.c.energy : 0;
      if (!o.alive[i]) continue;
      for (let dy = -R; dy <= R; dy++)
        for (let dx = -R; dx <= R; dx++) {
          const px = this.x[i] + dx;
          const py = this.y[i] + dy;
          const at = base + ((dy + R) * SIDE + dx + R) * CHANNELS;
          if (px < 0 || py < 0 || px >= W || py >= H) o.view[at] = 1;
          else {
            o.view[at + 1] = this.coin[py * W + px];
            o.view[at + 2] = this.walkerAt[py * W + px] > 0 ? 1 : 0;
          }
        }
    }
  }

  private output(): StepOutput {
    return { groups: this.groups, step: this.t, done: this.done, info: this.info };
  }
}

/** What `pnpm gibbs check ./examples/custom-env/coins.ts` finds: an EnvironmentEntry. */
export default defineEnvironment({
  name: 'coins',
  description: 'walkers pick up coins to keep their energy up',
  config: coinsConfig,
  create: (config) => new Coins(config),
});
