/**
 * Test input for the viewer's browser tests (not a built-in experiment): two groups of random
 * walkers on a walled grid, fully determined by the seed, with everything the viewer shows (cells,
 * agents with hp and heading, a live temperature, per-group metrics, an inspectable policy).
 * The walkers pick a move from a softmax over fixed preferences at the live temperature.
 */
import {
  type AgentInspection,
  allocAgentsFrame,
  defineExperiment,
  GibbsError,
  type MetricRecord,
  type RenderFrame,
  Rng,
  type Simulation,
} from '@gibbs/core';
import { z } from 'zod';

const MOVES: readonly [number, number][] = [
  [0, 0],
  [1, 0],
  [0, 1],
  [-1, 0],
  [0, -1],
];
const PREFS = [0.5, 1, 0.2, -0.5, 0];
const LEGEND = ['empty', 'wall', 'red', 'blue'];
const GROUPS = ['red', 'blue'];

const params = z.object({
  width: z.number().int().min(4).max(4096).default(48),
  height: z.number().int().min(4).max(4096).default(32),
  agents: z.number().int().min(1).max(100_000).default(40).describe('agents per group'),
  temperature: z.number().positive().default(1).describe('softmax temperature of the moves'),
  failAt: z
    .number()
    .int()
    .min(0)
    .default(0)
    .describe('throw in this step (0: never), for fault tests'),
});

export function policy(temperature: number): number[] {
  const z = PREFS.map((p) => Math.exp(p / temperature));
  const s = z.reduce((a, b) => a + b, 0);
  return z.map((v) => v / s);
}

class Walkers implements Simulation {
  private readonly rng: Rng;
  private readonly n: number;
  private readonly x: Int32Array;
  private readonly y: Int32Array;
  private readonly hp: Float32Array;
  private readonly heading: Float32Array;
  private readonly action: Int16Array;
  private readonly reward: Float32Array;
  private readonly occ: Int32Array;
  private t = 0;
  private temperature: number;

  constructor(
    private readonly p: z.infer<typeof params>,
    seed: number,
  ) {
    this.rng = new Rng(seed);
    this.temperature = p.temperature;
    this.n = 2 * p.agents;
    this.x = new Int32Array(this.n);
    this.y = new Int32Array(this.n);
    this.hp = new Float32Array(this.n).fill(1);
    this.heading = new Float32Array(this.n).fill(Number.NaN);
    this.action = new Int16Array(this.n).fill(-1);
    this.reward = new Float32Array(this.n);
    this.occ = new Int32Array(p.width * p.height).fill(-1);
    const free = (p.width - 2) * (p.height - 2);
    if (this.n > free)
      throw GibbsError.invalid('agents', p.agents, `at most ${free >> 1} for this grid`);
    for (let i = 0; i < this.n; i++) {
      let cx: number;
      let cy: number;
      do {
        cx = 1 + this.rng.int(p.width - 2);
        cy = 1 + this.rng.int(p.height - 2);
      } while (this.occ[cy * p.width + cx] >= 0);
      this.x[i] = cx;
      this.y[i] = cy;
      this.occ[cy * p.width + cx] = i;
    }
  }

  advance(): void {
    if (this.p.failAt > 0 && this.t + 1 === this.p.failAt) {
      throw new Error(`walkers: failing in step ${this.p.failAt} as asked (--failAt)`);
    }
    const pi = policy(this.temperature);
    const { width, height } = this.p;
    for (let i = 0; i < this.n; i++) {
      let u = this.rng.float();
      let a = 0;
      while (a < pi.length - 1 && u >= pi[a]) u -= pi[a++];
      const [dx, dy] = MOVES[a];
      const nx = this.x[i] + dx;
      const ny = this.y[i] + dy;
      this.action[i] = a;
      this.reward[i] = 0;
      if (a > 0) this.heading[i] = Math.atan2(dy, dx);
      if (
        nx <= 0 ||
        ny <= 0 ||
        nx >= width - 1 ||
        ny >= height - 1 ||
        this.occ[ny * width + nx] >= 0
      ) {
        this.hp[i] = Math.max(0.05, this.hp[i] - 0.05);
        this.reward[i] = -0.1;
        continue;
      }
      this.occ[this.y[i] * width + this.x[i]] = -1;
      this.x[i] = nx;
      this.y[i] = ny;
      this.occ[ny * width + nx] = i;
      this.reward[i] = 0.01 * dx;
    }
    this.t++;
  }

  metrics(): MetricRecord {
    const half = this.p.agents;
    const mean = (from: number) => {
      let s = 0;
      for (let i = from; i < from + half; i++) s += this.reward[i];
      return s / half;
    };
    const pi = policy(this.temperature);
    let right = 0;
    for (let i = 0; i < this.n; i++) if (this.action[i] === 1) right++;
    return {
      step: this.t,
      episode: 0,
      values: {
        temperature: this.temperature,
        policy_entropy: -pi.reduce((s, q) => s + q * Math.log(q), 0),
        order: right / this.n,
      },
      groups: {
        red: { alive: half, reward_mean: mean(0) },
        blue: { alive: half, reward_mean: mean(half) },
      },
    };
  }

  frame(): RenderFrame {
    const { width, height } = this.p;
    const cells = new Uint8Array(width * height);
    for (let x = 0; x < width; x++) {
      cells[x] = 1;
      cells[(height - 1) * width + x] = 1;
    }
    for (let y = 0; y < height; y++) {
      cells[y * width] = 1;
      cells[y * width + width - 1] = 1;
    }
    const agents = allocAgentsFrame(this.n);
    for (let i = 0; i < this.n; i++) {
      const g = i < this.p.agents ? 0 : 1;
      cells[this.y[i] * width + this.x[i]] = 2 + g;
      agents.group[i] = g;
      agents.slot[i] = g === 0 ? i : i - this.p.agents;
      agents.x[i] = this.x[i];
      agents.y[i] = this.y[i];
      agents.hp[i] = this.hp[i];
      agents.heading[i] = this.heading[i];
      agents.action[i] = this.action[i];
      agents.reward[i] = this.reward[i];
    }
    return {
      step: this.t,
      episode: 0,
      width,
      height,
      cells,
      legend: LEGEND,
      groups: GROUPS,
      agents,
    };
  }

  inspect(group: number, slot: number): AgentInspection | null {
    if ((group !== 0 && group !== 1) || slot < 0 || slot >= this.p.agents) return null;
    const i = group * this.p.agents + slot;
    return {
      group: GROUPS[group],
      slot,
      values: {
        x: this.x[i],
        y: this.y[i],
        hp: this.hp[i],
        action: this.action[i],
        reward: this.reward[i],
      },
      distributions: {
        policy: policy(this.temperature),
        // A long signed distribution (like -G over 25 policies), unsorted: for the inspector.
        minus_G: Array.from({ length: 25 }, (_, k) => ((k * 7) % 25) - 20),
      },
      labels: { policy: ['stay', 'right', 'down', 'left', 'up'] },
    };
  }

  setParam(name: string, value: unknown): void {
    if (name !== 'temperature') throw GibbsError.invalid('live parameter', name, 'temperature');
    const v = params.shape.temperature.safeParse(value);
    if (!v.success) throw GibbsError.invalid('temperature', value, 'a number > 0');
    this.temperature = v.data;
  }
}

export default defineExperiment({
  name: 'walkers',
  description: 'viewer test input: two groups of seeded random walkers on a walled grid',
  params,
  liveParams: ['temperature'],
  defaultSteps: 100,
  create: ({ params: p, seed }) => new Walkers(p, seed),
});
