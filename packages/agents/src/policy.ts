/**
 * Shared pieces of the mean-field agents: the Boltzmann policy, entropies, temperature schedules,
 * the learning-rule formulas as small pure functions (tested by hand), and the learner interface
 * the training loop drives.
 */
import { GibbsError, type Rng } from '@gibbs/core';
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import type { Adam, NetShape, ObsBatch, ParamSet } from './nets.ts';
import type { Replay, ReplayShape } from './replay.ts';

// ---------------------------------------------------------------------------------------------
// Boltzmann policy (Yang et al. 2018, the MF-Q policy):
//   pi(a | s, abar) = exp(Q(s, a, abar) / T) / sum_b exp(Q(s, b, abar) / T)
// The paper writes it with an inverse temperature beta = 1/T. This code names the paper's
// equations (mean action, Boltzmann policy, v^MF, MF-Q loss, MF-AC actor gradient) rather than
// numbering them: their numbers could not be checked against the paper's text.

/** Softmax of `x[off .. off+n) / temperature` into `out[outOff ..]` (max-shifted: no overflow). */
export function softmaxInto(
  x: ArrayLike<number>,
  off: number,
  n: number,
  temperature: number,
  out: Float32Array | Float64Array,
  outOff = 0,
): void {
  let m = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) if (x[off + i] > m) m = x[off + i];
  let s = 0;
  for (let i = 0; i < n; i++) {
    const e = Math.exp((x[off + i] - m) / temperature);
    out[outOff + i] = e;
    s += e;
  }
  for (let i = 0; i < n; i++) out[outOff + i] /= s;
}

/** Shannon entropy (nats) of `p[off .. off+n)`. */
export function entropy(p: ArrayLike<number>, off = 0, n = p.length - off): number {
  let h = 0;
  for (let i = 0; i < n; i++) {
    const v = p[off + i];
    if (v > 0) h -= v * Math.log(v);
  }
  return h;
}

/** Draw an action from `p[off .. off+n)` with the seeded Rng. */
export function sampleAction(p: ArrayLike<number>, off: number, n: number, rng: Rng): number {
  let u = rng.float();
  for (let i = 0; i < n - 1; i++) {
    u -= p[off + i];
    if (u < 0) return i;
  }
  return n - 1;
}

// ---------------------------------------------------------------------------------------------
// Temperature schedules, evaluated per training round k.

export const TemperatureSchedule = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('constant'), value: z.number().positive() }),
  /** Piecewise linear through (round, value) points, constant outside them (mfrl's decay). */
  z.object({
    kind: z.literal('linear'),
    points: z.array(z.tuple([z.number().int().nonnegative(), z.number().positive()])).min(1),
  }),
  /** Simulated annealing: exponential cooling T_k = max(floor, start * decay^k). */
  z.object({
    kind: z.literal('anneal'),
    start: z.number().positive(),
    decay: z.number().gt(0).lte(1),
    floor: z.number().positive(),
  }),
]);
export type TemperatureSchedule = z.infer<typeof TemperatureSchedule>;

export function temperatureAt(s: TemperatureSchedule, k: number): number {
  switch (s.kind) {
    case 'constant':
      return s.value;
    case 'anneal':
      return Math.max(s.floor, s.start * s.decay ** k);
    case 'linear': {
      const p = s.points;
      if (k <= p[0][0]) return p[0][1];
      for (let i = 1; i < p.length; i++) {
        if (k <= p[i][0]) {
          const t = (k - p[i - 1][0]) / (p[i][0] - p[i - 1][0]);
          return p[i - 1][1] + t * (p[i][1] - p[i - 1][1]);
        }
      }
      return p[p.length - 1][1];
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Learning-rule formulas as tensor functions (used by the algorithms, tested on hand cases).

/**
 * Double-Q target (van Hasselt et al. 2016) as mfrl computes it: the online network picks the
 * next action, the target network values it:
 *   y = r + gamma (1 - done) Q_target(s', argmax_a Q_online(s', a, abar'), abar')
 */
export function doubleQTarget(
  reward: tf.Tensor1D,
  done: tf.Tensor1D,
  qNextOnline: tf.Tensor2D,
  qNextTarget: tf.Tensor2D,
  gamma: number,
): tf.Tensor1D {
  return tf.tidy(() => {
    const pick = tf.oneHot(tf.argMax(qNextOnline, 1), qNextOnline.shape[1]);
    const v = tf.sum(tf.mul(pick, qNextTarget), 1);
    return tf.add(reward, tf.mul(tf.mul(tf.sub(1, done), gamma), v)) as tf.Tensor1D;
  });
}

/**
 * Mean-field value target (Yang et al. 2018: the mean-field value v^MF and the target y of
 * the MF-Q loss):
 *   v^MF(s') = sum_a pi(a | s', abar') Q_target(s', a, abar'),  y = r + gamma (1 - done) v^MF(s')
 * with pi the Boltzmann policy of the online network at temperature T.
 */
export function meanFieldTarget(
  reward: tf.Tensor1D,
  done: tf.Tensor1D,
  qNextOnline: tf.Tensor2D,
  qNextTarget: tf.Tensor2D,
  gamma: number,
  temperature: number,
): tf.Tensor1D {
  return tf.tidy(() => {
    const pi = tf.softmax(tf.div(qNextOnline, temperature));
    const v = tf.sum(tf.mul(pi, qNextTarget), 1);
    return tf.add(reward, tf.mul(tf.mul(tf.sub(1, done), gamma), v)) as tf.Tensor1D;
  });
}

/** Identity whose gradient is zero (tfjs has no stop_gradient op). */
export const stopGradient = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
  save([]);
  return { value: tf.clone(x), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor) => tf.Tensor;

/** Q(s, a) of the taken actions: [n, A] x actions -> [n]. */
export function pickActions(q: tf.Tensor2D, actions: tf.Tensor1D): tf.Tensor1D {
  return tf.sum(tf.mul(q, tf.oneHot(actions, q.shape[1])), 1) as tf.Tensor1D;
}

/**
 * MF-AC's advantage (Yang et al. 2018: the MF-AC actor gradient with a state baseline): the
 * critic's value of the taken action minus the policy's expected value under the same mean action,
 *   A(s, a, abar) = Q(s, a, abar) - sum_b pi(b | s) Q(s, b, abar).
 */
export function meanFieldAdvantage(
  q: tf.Tensor2D,
  pi: tf.Tensor2D,
  actions: tf.Tensor1D,
): tf.Tensor1D {
  return tf.tidy(() => tf.sub(pickActions(q, actions), tf.sum(tf.mul(pi, q), 1)) as tf.Tensor1D);
}

// ---------------------------------------------------------------------------------------------
// The learner interface driven by the training loop.

export const ALGOS = ['mfq', 'mfac', 'il', 'ac'] as const;
export type Algo = (typeof ALGOS)[number];

/** What one round of training reports (NaN where it does not apply). */
export interface TrainStats {
  loss: number;
  meanQ: number;
  /** Effective sample size of the importance weights (batch size when uniform). */
  ess: number;
  updates: number;
}

/** One group's agent: a network with shared parameters and a policy; learners also train. */
export interface GroupAgent {
  readonly algo: Algo;
  readonly shape: NetShape;
  /** Whether its network takes the group's mean action. */
  readonly meanField: boolean;
  /** The policy of rows [lo, hi) of `obs` into `probs` (row-major, n * actions), on this thread. */
  policyRows(obs: ObsBatch, lo: number, hi: number, temperature: number, probs: Float32Array): void;
  /** The parameters that define the policy (what the opponent copies and checkpoints store). */
  readonly policyParams: ParamSet;
  /** Extra parameter sets saved in checkpoints (target networks), by name. */
  readonly extraParams: Record<string, ParamSet>;
  readonly optimizer: Adam;
  /** Where forward passes and gradients run; set by whoever owns a thread pool. */
  compute: Compute;
  /** Its config, as JSON (stored in checkpoints). */
  readonly config: Record<string, unknown>;
  dispose(): void;
}

export interface Learner extends GroupAgent {
  /** Where the training loop writes the learner's experience. */
  readonly memory: Replay;
  /** Train on the memory after a round; `round` indexes schedules, `rng` draws batches. */
  train(round: number, temperature: number, rng: Rng): Promise<TrainStats>;
  /**
   * The loss on rows [lo, hi) of an update batch and its gradient, on this thread. The loss is
   * scaled to the whole batch (sums divided by the batch's size or weight), so that the gradients
   * of the shards of a batch add up to the batch's gradient.
   */
  gradient(u: UpdateBatch, lo: number, hi: number, temperature: number): ShardGradient;
  /** Boltzmann temperature of round k (1 for the actor-critics). */
  temperatureAt(round: number): number;
  /** Small counters that a checkpoint must restore (beyond weights and memory). */
  counters(): Record<string, number>;
  setCounters(c: Record<string, number>): void;
}

// ---------------------------------------------------------------------------------------------
// Updates, split over threads: a batch of transitions, a shard's gradient, and where they run.

/** One update's batch: transitions (s, abar, a, r, s', abar') with importance weights. */
export interface UpdateBatch {
  n: number;
  batch: ObsBatch;
  next: ObsBatch;
  action: Int32Array;
  reward: Float32Array;
  done: Float32Array;
  /** Importance weights (all 1 for uniform replay and on-policy learners). */
  weight: Float32Array;
  /** Sum of `weight` over the whole batch (every shard divides by it). */
  weightSum: number;
}

/** A shard's loss (scaled to the batch), its gradient and what the learner logs. */
export interface ShardGradient {
  /** All parameters' gradients, concatenated in `optimizer.vars` order. */
  grad: Float32Array;
  loss: number;
  /** Sum over the shard of Q(s, a) of the taken actions. */
  qSum: number;
  /** TD errors of the shard's rows (prioritised replay), or null. */
  td: Float32Array | null;
}

/** Where a learner's forward passes and gradients run. */
export interface Compute {
  readonly threads: number;
  /** Every row's policy of `obs` into `probs`. */
  policy(agent: GroupAgent, obs: ObsBatch, temperature: number, probs: Float32Array): Promise<void>;
  /** The whole batch's gradient (the shards' gradients added in a fixed order). */
  gradient(learner: Learner, u: UpdateBatch, temperature: number): Promise<ShardGradient>;
}

/** Everything on the calling thread. */
export const LOCAL: Compute = {
  threads: 1,
  async policy(agent, obs, temperature, probs) {
    agent.policyRows(obs, 0, obs.n, temperature, probs);
  },
  async gradient(learner, u, temperature) {
    return learner.gradient(u, 0, u.n, temperature);
  },
};

/** Rows [lo, hi) of a batch as views (no copy). */
export function sliceObs(obs: ObsBatch, lo: number, hi: number, shape: NetShape): ObsBatch {
  const vs = shape.view ? shape.view.height * shape.view.width * shape.view.channels : 0;
  const fs = shape.features;
  const A = shape.actions;
  return {
    n: hi - lo,
    view: obs.view.subarray(lo * vs, hi * vs),
    features: obs.features.subarray(lo * fs, hi * fs),
    mean: obs.mean ? obs.mean.subarray(lo * A, hi * A) : null,
  };
}

/** Rows [lo, hi) of an update batch as views (the weight sum stays the whole batch's). */
export function sliceUpdate(u: UpdateBatch, lo: number, hi: number, shape: NetShape): UpdateBatch {
  return {
    n: hi - lo,
    batch: sliceObs(u.batch, lo, hi, shape),
    next: sliceObs(u.next, lo, hi, shape),
    action: u.action.subarray(lo, hi),
    reward: u.reward.subarray(lo, hi),
    done: u.done.subarray(lo, hi),
    weight: u.weight.subarray(lo, hi),
    weightSum: u.weightSum,
  };
}

/**
 * A Float32Array on shared memory where there is any (Node; a cross-origin-isolated page), so
 * that worker threads read and write it in place; plain memory otherwise (one thread).
 */
export function sharedFloat32(n: number): Float32Array {
  return typeof SharedArrayBuffer === 'function'
    ? new Float32Array(new SharedArrayBuffer(4 * Math.max(1, n)), 0, n)
    : new Float32Array(n);
}

export function sharedInt32(n: number): Int32Array {
  return typeof SharedArrayBuffer === 'function'
    ? new Int32Array(new SharedArrayBuffer(4 * Math.max(1, n)), 0, n)
    : new Int32Array(n);
}

/** An update batch of `n` rows for `memory`'s rows, on shared memory. */
export function allocUpdate(memory: Replay, n: number): UpdateBatch {
  return {
    n,
    batch: allocBatch(memory, n),
    next: allocBatch(memory, n),
    action: sharedInt32(n),
    reward: sharedFloat32(n),
    done: sharedFloat32(n),
    weight: sharedFloat32(n).fill(1),
    weightSum: n,
  };
}

/** Fill `u` with replay rows and their successors, and the weights (null: uniform). */
export function gatherUpdate(
  memory: Replay,
  rows: Int32Array,
  weights: Float32Array | null,
  u: UpdateBatch,
): void {
  gatherRows(memory, rows, u.batch, false);
  gatherRows(memory, rows, u.next, true);
  u.n = rows.length;
  let wSum = 0;
  for (let k = 0; k < rows.length; k++) {
    const r = rows[k];
    u.action[k] = memory.action[r];
    u.reward[k] = memory.reward[r];
    u.done[k] = memory.done[r];
    const w = weights ? weights[k] : 1;
    u.weight[k] = w;
    wSum += w;
  }
  u.weightSum = wSum;
}

/**
 * Act for the `obs.n` rows: each row's policy into `probs` (n * actions), computed where the
 * agent's `compute` says (this thread or K threads), then one action per row into `actions`,
 * drawn here, row by row, from the one seeded Rng (the same draws on any number of threads).
 */
export async function act(
  agent: GroupAgent,
  obs: ObsBatch,
  temperature: number,
  rng: Rng,
  actions: Int32Array,
  probs: Float32Array,
): Promise<void> {
  await agent.compute.policy(agent, obs, temperature, probs);
  sampleRows(probs, obs.n, agent.shape.actions, rng, actions);
}

/** Sample an action for each row from the policies in `probs` (one Rng draw a row, in order). */
export function sampleRows(
  probs: Float32Array,
  n: number,
  A: number,
  rng: Rng,
  actions: Int32Array,
): void {
  for (let i = 0; i < n; i++) actions[i] = sampleAction(probs, i * A, A, rng);
}

/**
 * Take the batch's gradient where `compute` says, check the loss, and take one clipped Adam step:
 * the non-finite loss of a broken update is a GibbsError and the parameters stay as they were.
 */
export async function updateStep(
  learner: Learner,
  u: UpdateBatch,
  temperature: number,
  gradClip: number,
  where: { round: number; update: number; updates: number },
): Promise<ShardGradient> {
  const g = await learner.compute.gradient(learner, u, temperature);
  if (!Number.isFinite(g.loss)) {
    throw new GibbsError(
      `${learner.algo}: the loss is ${g.loss} at training round ${where.round}, update ${where.update} of ${where.updates}; parameters were not updated`,
      'loss',
      g.loss,
      'a finite number',
    );
  }
  learner.optimizer.stepFlat(g.grad, gradClip);
  return g;
}

/**
 * Loss and flat gradient over `vars` (inside this call's own tidy); the loss function may keep
 * extra tensors with tf.keep (the caller disposes them).
 */
export function lossAndGradient(
  vars: readonly tf.Variable[],
  loss: () => tf.Scalar,
): { loss: number; grad: Float32Array } {
  const { value, grad } = tf.tidy(() => {
    const { value, grads } = tf.variableGrads(loss, vars as tf.Variable[]);
    const flat = tf.concat(vars.map((v) => tf.reshape(grads[v.name], [-1]))) as tf.Tensor1D;
    return { value, grad: flat };
  });
  const l = value.dataSync()[0];
  const g = grad.dataSync() as Float32Array;
  tf.dispose([value, grad]);
  return { loss: l, grad: g };
}

/** Replay sizing shared by the learners. */
export function replayShape(shape: NetShape, capacity: number): ReplayShape {
  const v = shape.view;
  return {
    capacity,
    viewSize: v ? v.height * v.width * v.channels : 0,
    features: shape.features,
    meanSize: shape.meanAction ? shape.actions : 0,
  };
}

/** Gather replay rows (and their successors) into a batch. */
export function gatherRows(
  memory: Replay,
  rows: Int32Array,
  out: ObsBatch,
  successors: boolean,
): void {
  const { viewSize: vs, features: fs, meanSize: ms } = memory.shape;
  out.n = rows.length;
  for (let k = 0; k < rows.length; k++) {
    let r = rows[k];
    if (successors) {
      r = memory.next[r];
      if (r < 0) r = rows[k]; // terminal: any finite input, masked by (1 - done)
    }
    if (vs > 0) out.view.set(memory.view.subarray(r * vs, (r + 1) * vs), k * vs);
    if (fs > 0) out.features.set(memory.features.subarray(r * fs, (r + 1) * fs), k * fs);
    if (ms > 0 && out.mean) out.mean.set(memory.mean.subarray(r * ms, (r + 1) * ms), k * ms);
  }
}

export function allocBatch(memory: Replay, n: number): ObsBatch {
  const { viewSize: vs, features: fs, meanSize: ms } = memory.shape;
  return {
    n,
    view: sharedFloat32(n * vs),
    features: sharedFloat32(n * fs),
    mean: ms > 0 ? sharedFloat32(n * ms) : null,
  };
}
