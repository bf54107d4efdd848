/**
 * Shared pieces of the mean-field agents: the Boltzmann policy, entropies, temperature schedules,
 * the learning-rule formulas as small pure functions (tested by hand), and the learner interface
 * the training loop drives.
 */
import type { Rng } from '@gibbs/core';
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

/**
 * One Adam step on `loss()` with gradients clipped to a global L2 norm (as mfrl's AC does);
 * returns the loss value. The loss is checked first: a non-finite loss returns without touching
 * the parameters (the caller raises the error).
 */
export function clippedStep(optimizer: Adam, loss: () => tf.Scalar, maxNorm: number): number {
  let value = 0;
  tf.tidy(() => {
    const { value: l, grads } = tf.variableGrads(loss, optimizer.vars as tf.Variable[]);
    value = l.dataSync()[0];
    if (!Number.isFinite(value)) return;
    optimizer.step(
      optimizer.vars.map((v) => grads[v.name]),
      maxNorm,
    );
  });
  return value;
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
  /**
   * Act for the `obs.n` rows: write each row's policy into `probs` (n * actions) and a sampled
   * action into `actions`; one forward pass for all rows.
   */
  act(obs: ObsBatch, temperature: number, rng: Rng, actions: Int32Array, probs: Float32Array): void;
  /** The parameters that define the policy (what the opponent copies and checkpoints store). */
  readonly policyParams: ParamSet;
  dispose(): void;
}

export interface Learner extends GroupAgent {
  /** Where the training loop writes the learner's experience. */
  readonly memory: Replay;
  /** Train on the memory after a round; `round` indexes schedules, `rng` draws batches. */
  train(round: number, temperature: number, rng: Rng): TrainStats;
  /** Extra parameter sets saved in checkpoints (target networks), by name. */
  readonly extraParams: Record<string, ParamSet>;
  readonly optimizer: Adam;
  /** Boltzmann temperature of round k (1 for the actor-critics). */
  temperatureAt(round: number): number;
  /** Small counters that a checkpoint must restore (beyond weights and memory). */
  counters(): Record<string, number>;
  setCounters(c: Record<string, number>): void;
  /** Its config, as JSON (stored in checkpoints). */
  readonly config: Record<string, unknown>;
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
    view: new Float32Array(n * vs),
    features: new Float32Array(n * fs),
    mean: ms > 0 ? new Float32Array(n * ms) : null,
  };
}
