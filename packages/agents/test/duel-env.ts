/**
 * A small two-group world for the agents' tests: agents on a ring of `cells` cells, actions
 * 0 stay, 1 left, 2 right, 3 attack (kills one enemy on the same cell, chosen by the seeded Rng).
 * Reward +1 for a kill, -0.01 per step. Features: own position / cells, distance to the nearest
 * enemy / cells, 1. Optionally a spatial view (the ring around the agent, 5x5x2) to exercise the
 * conv torso. `nanAtEpisode` makes every reward NaN from that episode on (bad-input tests).
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

export interface DuelOptions {
  agents: number;
  cells: number;
  maxSteps: number;
  view?: boolean;
  nanAtEpisode?: number;
}

export class DuelEnv implements Environment {
  readonly spec: EnvSpec;
  private readonly pos: Int32Array[];
  private readonly out: GroupStep[];
  private readonly alive: Uint8Array[];
  /** The contract: the trainers under test must never step a finished episode. */
  private done = false;
  private rng = new Rng(0);
  private t = 0;
  private episode = -1;
  private info: Record<string, number> = {};

  constructor(readonly o: DuelOptions) {
    const view = o.view
      ? { height: 5, width: 5, channels: 2, channelNames: ['own', 'other'] }
      : null;
    this.spec = {
      name: 'duel',
      maxSteps: o.maxSteps,
      grid: null,
      groups: ['red', 'blue'].map((name) => ({
        name,
        capacity: o.agents,
        view,
        features: 3,
        actions: 4,
      })),
    };
    this.pos = [new Int32Array(o.agents), new Int32Array(o.agents)];
    this.out = this.spec.groups.map((g) => allocGroupStep(g));
    this.alive = this.out.map((o) => o.alive);
  }

  reset(seed: number): StepOutput {
    this.rng = new Rng(seed);
    this.t = 0;
    this.done = false;
    this.episode++;
    for (let g = 0; g < 2; g++) {
      const o = this.out[g];
      o.alive.fill(1);
      o.reward.fill(0);
      o.terminated.fill(0);
      o.truncated.fill(0);
      for (let i = 0; i < this.o.agents; i++) this.pos[g][i] = this.rng.int(this.o.cells);
    }
    this.observe();
    return this.output(false);
  }

  step(actions: readonly Int32Array[]): StepOutput {
    if (this.done) throw stepAfterDone(this.spec, this.t);
    validateActions(this.spec, actions, this.alive);
    this.t++;
    const n = this.o.cells;
    const kills = [0, 0];
    for (let g = 0; g < 2; g++) this.out[g].reward.fill(0);
    for (let g = 0; g < 2; g++) {
      const o = this.out[g];
      for (let i = 0; i < this.o.agents; i++) {
        if (!o.alive[i]) continue;
        o.reward[i] = -0.01;
        const a = actions[g][i];
        if (a === 1) this.pos[g][i] = (this.pos[g][i] + n - 1) % n;
        else if (a === 2) this.pos[g][i] = (this.pos[g][i] + 1) % n;
      }
    }
    for (let g = 0; g < 2; g++) {
      const e = 1 - g;
      for (let i = 0; i < this.o.agents; i++) {
        if (!this.out[g].alive[i] || actions[g][i] !== 3) continue;
        const targets: number[] = [];
        for (let j = 0; j < this.o.agents; j++)
          if (this.out[e].alive[j] && this.pos[e][j] === this.pos[g][i]) targets.push(j);
        if (targets.length === 0) continue;
        const j = targets[this.rng.int(targets.length)];
        this.out[e].alive[j] = 0;
        this.out[e].terminated[j] = 1;
        this.out[g].reward[i] += 1;
        kills[g]++;
      }
    }
    const wiped = this.out.some((o) => !o.alive.some((x) => x === 1));
    const done = wiped || this.t >= this.o.maxSteps;
    this.done = done;
    for (let g = 0; g < 2; g++) {
      const o = this.out[g];
      for (let i = 0; i < this.o.agents; i++) {
        if (!o.alive[i]) continue;
        if (wiped) o.terminated[i] = 1;
        else if (done) o.truncated[i] = 1;
      }
      if (this.o.nanAtEpisode !== undefined && this.episode >= this.o.nanAtEpisode)
        o.reward.fill(Number.NaN);
    }
    this.info = { 'kills.red': kills[0], 'kills.blue': kills[1] };
    this.observe();
    return this.output(done);
  }

  private observe(): void {
    const n = this.o.cells;
    for (let g = 0; g < 2; g++) {
      const o = this.out[g];
      const e = 1 - g;
      for (let i = 0; i < this.o.agents; i++) {
        let best = n;
        for (let j = 0; j < this.o.agents; j++) {
          if (!this.out[e].alive[j]) continue;
          const d = this.pos[e][j] - this.pos[g][i];
          if (Math.abs(d) < Math.abs(best)) best = d;
        }
        o.features[i * 3] = this.pos[g][i] / n;
        o.features[i * 3 + 1] = best / n;
        o.features[i * 3 + 2] = 1;
        if (this.o.view) {
          const v = o.view.subarray(i * 50, (i + 1) * 50);
          v.fill(0);
          for (let gg = 0; gg < 2; gg++)
            for (let j = 0; j < this.o.agents; j++) {
              if (!this.out[gg].alive[j]) continue;
              const d = (this.pos[gg][j] - this.pos[g][i] + n + 2) % n;
              if (d < 5) v[(2 * 5 + d) * 2 + (gg === g ? 0 : 1)] += 1;
            }
        }
      }
    }
  }

  private output(done: boolean): StepOutput {
    return { groups: this.out, step: this.t, done, info: this.info };
  }

  render(): RenderFrame {
    throw new Error('DuelEnv has no frame');
  }
}
