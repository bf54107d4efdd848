/**
 * The pieces of PopulationTrainer's loop (trainer.ts, which SelfPlay plays too), on core's
 * contract: a group's live agents batched for one forward pass, their actions drawn from the
 * group's policy, the group's experience written into a learner's memory, and what a step did to
 * the group.
 */
import { type GroupSpec, type GroupStep, type Rng, viewSize } from '@gibbs/core';
import type { ObsBatch } from './nets.ts';
import { act, entropy, type GroupAgent, sharedFloat32, type TrainStats } from './policy.ts';
import type { Replay } from './replay.ts';

/**
 * A batch for a whole group's observations, on shared memory (a thread pool's workers read the
 * rows in place). Every row has room for a mean action, used or not by the agent's network.
 */
export function allocGroupBatch(spec: GroupSpec): ObsBatch {
  return {
    n: 0,
    view: sharedFloat32(spec.capacity * viewSize(spec)),
    features: sharedFloat32(spec.capacity * spec.features),
    mean: sharedFloat32(spec.capacity * spec.actions),
  };
}

/**
 * Gather the live agents of `gs` into `batch` (row k: view, features, and `mean` as its mean
 * action) and their slots into `slots`; returns the number of rows (also `batch.n`).
 */
export function gatherLive(
  spec: GroupSpec,
  gs: GroupStep,
  mean: Float32Array,
  batch: ObsBatch,
  slots: Int32Array,
): number {
  const vs = viewSize(spec);
  const fs = spec.features;
  const A = spec.actions;
  let n = 0;
  for (let i = 0; i < spec.capacity; i++) {
    if (!gs.alive[i]) continue;
    if (vs > 0) batch.view.set(gs.view.subarray(i * vs, (i + 1) * vs), n * vs);
    if (fs > 0) batch.features.set(gs.features.subarray(i * fs, (i + 1) * fs), n * fs);
    (batch.mean as Float32Array).set(mean, n * A);
    slots[n++] = i;
  }
  batch.n = n;
  return n;
}

/**
 * The agent's actions for the `batch.n` gathered rows: each row's Boltzmann policy into `probs`,
 * one action drawn per row from `rng` into `acts` at its slot (0 for every other slot), and the
 * group's average policy into `meanPolicy`. Returns the sum of the rows' policy entropies.
 */
export async function actGroup(
  agent: GroupAgent,
  batch: ObsBatch,
  slots: Int32Array,
  temperature: number,
  rng: Rng,
  live: Int32Array,
  probs: Float32Array,
  acts: Int32Array,
  meanPolicy: Float64Array,
): Promise<number> {
  const n = batch.n;
  const A = agent.shape.actions;
  acts.fill(0);
  meanPolicy.fill(0);
  let ent = 0;
  if (n === 0) return 0;
  await act(agent, batch, temperature, rng, live, probs);
  for (let k = 0; k < n; k++) {
    acts[slots[k]] = live[k];
    ent += entropy(probs, k * A, A);
    for (let a = 0; a < A; a++) meanPolicy[a] += probs[k * A + a];
  }
  for (let a = 0; a < A; a++) meanPolicy[a] /= n;
  return ent;
}

/**
 * One group's experience in a learner's memory. Before a step, `store` writes each live agent's
 * (s, abar, a); after it, `close` gives each row its reward and says how it continues: terminal,
 * cut by the time limit (a tail row keeps the last observation to bootstrap from), or waiting for
 * the agent's next row, which `store` links to it at the next step.
 */
export class ExperienceWriter {
  /** The row each slot wrote this step, and the row awaiting its successor (-1: none). */
  private readonly curRow: Int32Array;
  private readonly prevRow: Int32Array;
  private readonly pendingReward: Float32Array;

  constructor(capacity: number) {
    this.curRow = new Int32Array(capacity).fill(-1);
    this.prevRow = new Int32Array(capacity).fill(-1);
    this.pendingReward = new Float32Array(capacity);
  }

  /** A new episode: no row waits for a successor. */
  begin(): void {
    this.prevRow.fill(-1);
  }

  /** Rows (s, abar, a) of the gathered agents `slots[0 .. n)`, linked to their previous rows. */
  store(
    mem: Replay,
    gs: GroupStep,
    slots: Int32Array,
    n: number,
    mean: Float32Array | null,
    acts: Int32Array,
  ): void {
    this.curRow.fill(-1);
    for (let k = 0; k < n; k++) {
      const i = slots[k];
      const row = mem.write(gs.view, gs.features, i, mean, acts[i]);
      if (this.prevRow[i] >= 0) mem.link(this.prevRow[i], this.pendingReward[i], row);
      this.prevRow[i] = -1;
      this.curRow[i] = row;
    }
  }

  /** After the step: `gs` is the group's output, `done` the episode's end. */
  close(mem: Replay, gs: GroupStep, done: boolean, mean: Float32Array | null): void {
    for (let i = 0; i < this.curRow.length; i++) {
      const row = this.curRow[i];
      if (row < 0) continue;
      const r = gs.reward[i];
      if (gs.terminated[i] || !gs.alive[i]) mem.finish(row, r);
      else if (gs.truncated[i] || done) {
        // Keep the last observation so the row can bootstrap from it; the tail row has no action.
        const tail = mem.write(gs.view, gs.features, i, mean, 0);
        mem.link(row, r, tail);
      } else {
        this.prevRow[i] = row;
        this.pendingReward[i] = r;
      }
    }
  }
}

/** What one step did to a group: agents alive after it, and the reward of those that acted. */
export interface GroupStepCount {
  alive: number;
  /** Sum of the rewards of the agents alive before the step. */
  reward: number;
  /** Agents alive before the step (those that acted). */
  acted: number;
}

export function countStep(gs: GroupStep, aliveBefore: Uint8Array): GroupStepCount {
  let alive = 0;
  let reward = 0;
  let acted = 0;
  for (let i = 0; i < aliveBefore.length; i++) {
    if (gs.alive[i]) alive++;
    if (aliveBefore[i]) {
      reward += gs.reward[i];
      acted++;
    }
  }
  return { alive, reward, acted };
}

/** A training round's statistics as metric values: loss, mean_q, ess (where finite), updates. */
export function trainStatsValues(t: TrainStats | null): Record<string, number> {
  const v: Record<string, number> = {};
  if (!t) return v;
  if (Number.isFinite(t.loss)) v.loss = t.loss;
  if (Number.isFinite(t.meanQ)) v.mean_q = t.meanQ;
  if (Number.isFinite(t.ess)) v.ess = t.ess;
  v.updates = t.updates;
  return v;
}
