/**
 * A small world of any number of groups for the trainer's tests: agents on a ring of `cells`
 * cells, actions 0 stay, 1 left, 2 right, 3 attack (kills one agent of another group on the same
 * cell, chosen by the seeded Rng). Reward +1 for a kill, -0.01 per step. Features: own position /
 * cells, distance to the nearest enemy / cells, 1. Info: kills per group ("kills.<name>").
 */
import {
  allocGroupStep,
  type Environment,
  type EnvSpec,
  type GroupStep,
  type RenderFrame,
  Rng,
  type StepOutput,
  stepAfterDone,
  validateActions,
} from '@gibbs/core';

export interface MeleeOptions {
  groups: number;
  agents: number;
  cells: number;
  maxSteps: number;
}

const NAMES = ['red', 'green', 'blue', 'gold', 'grey'];

export class MeleeEnv implements Environment {
  readonly spec: EnvSpec;
  private readonly pos: Int32Array[];
  private readonly out: GroupStep[];
  private readonly alive: Uint8Array[];
  /** The contract: the trainers under test must never step a finished episode. */
  private done = false;
  private rng = new Rng(0);
  private t = 0;
  private info: Record<string, number> = {};

  constructor(readonly o: MeleeOptions) {
    this.spec = {
      name: 'melee',
      maxSteps: o.maxSteps,
      grid: null,
      groups: NAMES.slice(0, o.groups).map((name) => ({
        name,
        capacity: o.agents,
        view: null,
        features: 3,
        actions: 4,
        actionNames: ['stay', 'left', 'right', 'attack'],
      })),
    };
    this.pos = this.spec.groups.map(() => new Int32Array(o.agents));
    this.out = this.spec.groups.map((g) => allocGroupStep(g));
    this.alive = this.out.map((o) => o.alive);
  }

  reset(seed: number): StepOutput {
    this.rng = new Rng(seed);
    this.t = 0;
    this.done = false;
    this.out.forEach((o, g) => {
      o.alive.fill(1);
      o.reward.fill(0);
      o.terminated.fill(0);
      o.truncated.fill(0);
      for (let i = 0; i < this.o.agents; i++) this.pos[g][i] = this.rng.int(this.o.cells);
    });
    this.info = {};
    this.observe();
    return { groups: this.out, step: 0, done: false, info: this.info };
  }

  step(actions: readonly Int32Array[]): StepOutput {
    if (this.done) throw stepAfterDone(this.spec, this.t);
    validateActions(this.spec, actions, this.alive);
    this.t++;
    const n = this.o.cells;
    const G = this.out.length;
    const kills = new Array<number>(G).fill(0);
    for (let g = 0; g < G; g++) {
      const o = this.out[g];
      o.reward.fill(0);
      o.terminated.fill(0);
      for (let i = 0; i < this.o.agents; i++) {
        if (!o.alive[i]) continue;
        o.reward[i] = -0.01;
        const a = actions[g][i];
        if (a === 1) this.pos[g][i] = (this.pos[g][i] + n - 1) % n;
        else if (a === 2) this.pos[g][i] = (this.pos[g][i] + 1) % n;
      }
    }
    for (let g = 0; g < G; g++) {
      for (let i = 0; i < this.o.agents; i++) {
        if (!this.out[g].alive[i] || actions[g][i] !== 3) continue;
        const targets: number[] = [];
        for (let e = 0; e < G; e++) {
          if (e === g) continue;
          for (let j = 0; j < this.o.agents; j++)
            if (this.out[e].alive[j] && this.pos[e][j] === this.pos[g][i])
              targets.push(e * 1000 + j);
        }
        if (targets.length === 0) continue;
        const t = targets[this.rng.int(targets.length)];
        const e = Math.floor(t / 1000);
        this.out[e].alive[t % 1000] = 0;
        this.out[e].terminated[t % 1000] = 1;
        this.out[e].reward[t % 1000] = 0;
        this.out[g].reward[i] += 1;
        kills[g]++;
      }
    }
    const standing = this.out.filter((o) => o.alive.includes(1)).length;
    const done = standing <= 1 || this.t >= this.o.maxSteps;
    this.done = done;
    for (const o of this.out) {
      for (let i = 0; i < this.o.agents; i++) {
        if (!o.alive[i]) continue;
        if (standing <= 1) o.terminated[i] = 1;
        else if (done) o.truncated[i] = 1;
      }
    }
    this.info = Object.fromEntries(this.spec.groups.map((s, g) => [`kills.${s.name}`, kills[g]]));
    this.observe();
    return { groups: this.out, step: this.t, done, info: this.info };
  }

  private observe(): void {
    const n = this.o.cells;
    this.out.forEach((o, g) => {
      for (let i = 0; i < this.o.agents; i++) {
        let best = n;
        this.out.forEach((other, e) => {
          if (e === g) return;
          for (let j = 0; j < this.o.agents; j++) {
            if (!other.alive[j]) continue;
            const d = this.pos[e][j] - this.pos[g][i];
            if (Math.abs(d) < Math.abs(best)) best = d;
          }
        });
        o.features[i * 3] = this.pos[g][i] / n;
        o.features[i * 3 + 1] = best / n;
        o.features[i * 3 + 2] = 1;
      }
    });
  }

  render(): RenderFrame {
    throw new Error('MeleeEnv has no frame');
  }
}
