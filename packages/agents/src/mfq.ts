/**
 * MF-Q: mean-field Q-learning (Yang, Luo, Li, Zhou, Zhang, Wang, "Mean Field Multi-Agent
 * Reinforcement Learning", ICML 2018, Algorithm 1), as a deep Q-network with shared parameters for
 * a whole group.
 *
 * Each agent j values its own action against the mean action of the others,
 *   Q^j(s, a) ~ Q^j(s, a^j, abar^j),  abar^j = (1/N^j) sum_k a^k  (one-hot a^k)
 * (the paper's mean-field approximation and mean action), acts by the paper's Boltzmann policy
 *   pi(a^j | s, abar^j) = exp(Q(s, a^j, abar^j) / T) / sum_b exp(Q(s, b, abar^j) / T)
 * and minimises the paper's MF-Q loss
 *   L(phi) = (y - Q_phi(s, a^j, abar^j))^2,  y = r^j + gamma v^MF_phi-(s'),
 * with v^MF(s') = sum_a pi(a | s', abar') Q_phi-(s', a, abar') (the paper's mean-field value
 * function v^MF), or, as mlii/mfrl does, the double-Q value
 * Q_phi-(s', argmax_a Q_phi(s', a, abar'), abar') (config `target`). phi- is a target network that
 * follows phi by soft updates phi- <- tau phi + (1 - tau) phi-.
 * Replay may be prioritised (Schaul et al. 2016); the loss is then weighted by the importance
 * weights and the TD errors become the new priorities.
 *
 * `IL` (independent Q-learning, il.ts) is this algorithm with the mean-action input removed.
 */
import type { Rng } from '@gibbs/core';
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { Adam, NETS, type NetShape, type ObsBatch, QNetwork } from './nets.ts';
import {
  type Algo,
  allocUpdate,
  type Compute,
  doubleQTarget,
  gatherUpdate,
  type Learner,
  LOCAL,
  lossAndGradient,
  meanFieldTarget,
  pickActions,
  replayShape,
  type ShardGradient,
  sliceObs,
  sliceUpdate,
  softmaxInto,
  TemperatureSchedule,
  type TrainStats,
  temperatureAt,
  type UpdateBatch,
  updateStep,
} from './policy.ts';
import { Replay } from './replay.ts';

/** Every hyperparameter of MF-Q (and IL), with mfrl's values where they fit a short budget. */
export const MFQConfig = z.object({
  net: z
    .enum(NETS)
    .default('mfrl')
    .describe("network: mlii/mfrl's (fidelity) or population (speed)"),
  /** mfrl: 1e-4; larger here because our budgets are hundreds of rounds shorter. */
  lr: z.number().positive().default(3e-4).describe('Adam step size'),
  gamma: z.number().min(0).max(1).default(0.95).describe('discount factor'),
  batchSize: z.number().int().positive().default(128).describe('rows per gradient step'),
  replayCapacity: z
    .number()
    .int()
    .min(2)
    .default(1 << 15)
    .describe('rows the replay holds (rounded up to a power of two)'),
  replayRatio: z
    .number()
    .positive()
    .default(1)
    .describe('gradient steps per round: ceil(new rows x replayRatio / batchSize)'),
  maxUpdatesPerRound: z
    .number()
    .int()
    .positive()
    .default(200)
    .describe('at most this many gradient steps a round'),
  learningStarts: z
    .number()
    .int()
    .nonnegative()
    .default(256)
    .describe('no update before this many ready rows'),
  tau: z
    .number()
    .gt(0)
    .max(1)
    .default(0.05)
    .describe('soft target update per gradient step: phi- <- tau phi + (1 - tau) phi-'),
  target: z
    .enum(['double-q', 'mean-field'])
    .default('double-q')
    .describe("value of s' in the target: double-q (mfrl) or mean-field (the paper's v^MF)"),
  priorityAlpha: z
    .number()
    .min(0)
    .max(1)
    .default(0)
    .describe('prioritised replay exponent (0: uniform replay)'),
  priorityBeta: z
    .number()
    .min(0)
    .max(1)
    .default(0.4)
    .describe('importance-weight exponent, annealed linearly to 1 over betaRounds'),
  betaRounds: z
    .number()
    .int()
    .positive()
    .default(200)
    .describe('rounds for priorityBeta to reach 1'),
  gradClip: z.number().nonnegative().default(10).describe('global gradient-norm clip (0: none)'),
  temperature: TemperatureSchedule.default({
    kind: 'anneal',
    start: 1,
    decay: 0.97,
    floor: 0.1,
  }).describe(
    'Boltzmann temperature per round k: {"kind":"anneal","start","decay","floor"} (max(floor, start decay^k)), {"kind":"constant","value"} or {"kind":"linear","points":[[k,T],...]}',
  ),
  actChunk: z
    .number()
    .int()
    .positive()
    .default(1024)
    .describe('rows per forward pass when acting (bounds the memory of huge groups)'),
});
export type MFQConfig = z.infer<typeof MFQConfig>;

export class MFQ implements Learner {
  readonly algo: Algo;
  readonly shape: NetShape;
  readonly cfg: MFQConfig;
  readonly online: QNetwork;
  readonly target: QNetwork;
  readonly optimizer: Adam;
  readonly memory: Replay;
  /** Rows written when the last training round ran (to size the next one). */
  lastWritten = 0;
  /** Where forward passes and gradients run (set by a thread pool's owner). */
  compute: Compute = LOCAL;
  private readonly update: UpdateBatch;

  constructor(
    shape: Omit<NetShape, 'meanAction'>,
    config: Partial<MFQConfig>,
    rng: Rng,
    readonly meanField = true,
  ) {
    this.algo = meanField ? 'mfq' : 'il';
    this.shape = { ...shape, meanAction: meanField };
    this.cfg = MFQConfig.parse(config);
    this.online = new QNetwork(this.shape, rng, this.cfg.net);
    this.target = new QNetwork(this.shape, rng, this.cfg.net);
    this.target.params.copyFrom(this.online.params);
    this.optimizer = new Adam(this.online.params.vars, this.cfg.lr);
    this.memory = new Replay(replayShape(this.shape, this.cfg.replayCapacity), {
      alpha: this.cfg.priorityAlpha,
      eps: 1e-3,
    });
    this.update = allocUpdate(this.memory, this.cfg.batchSize);
  }

  get policyParams() {
    return this.online.params;
  }
  get extraParams() {
    return { target: this.target.params };
  }
  counters(): Record<string, number> {
    return { lastWritten: this.lastWritten };
  }
  setCounters(c: Record<string, number>): void {
    this.lastWritten = c.lastWritten ?? 0;
  }
  get config(): Record<string, unknown> {
    return { ...this.cfg };
  }

  /** Q-values of all rows, [n * actions], one forward pass per chunk of rows (this thread). */
  qValues(obs: ObsBatch, net: QNetwork = this.online): Float32Array {
    const A = this.shape.actions;
    const out = new Float32Array(obs.n * A);
    const step = this.cfg.actChunk;
    for (let start = 0; start < obs.n; start += step) {
      const n = Math.min(step, obs.n - start);
      const part = n === obs.n ? obs : sliceObs(obs, start, start + n, this.shape);
      const q = tf.tidy(() => net.apply(net.inputs(part)));
      out.set(q.dataSync(), start * A);
      q.dispose();
    }
    return out;
  }

  /** The paper's Boltzmann policy of rows [lo, hi). */
  policyRows(obs: ObsBatch, lo: number, hi: number, temperature: number, probs: Float32Array) {
    const A = this.shape.actions;
    const q = this.qValues(sliceObs(obs, lo, hi, this.shape));
    for (let i = 0; i < hi - lo; i++) softmaxInto(q, i * A, A, temperature, probs, (lo + i) * A);
  }

  temperatureAt(round: number): number {
    return temperatureAt(this.cfg.temperature, round);
  }

  /** Importance-sampling exponent beta, annealed linearly to 1 (Schaul et al. 2016). */
  betaAt(round: number): number {
    const f = Math.min(1, round / this.cfg.betaRounds);
    return this.cfg.priorityBeta + f * (1 - this.cfg.priorityBeta);
  }

  /**
   * The importance-weighted MF-Q loss on rows [lo, hi) of a batch and its gradient:
   *   y = r + gamma v(s')  (double-Q or v^MF, from the target network: no gradient flows into it)
   *   L = sum_k w_k (y_k - Q_phi(s_k, a_k, abar_k))^2 / sum_k w_k   (k over the whole batch)
   */
  gradient(u: UpdateBatch, lo: number, hi: number, temperature: number): ShardGradient {
    const cfg = this.cfg;
    const s = sliceUpdate(u, lo, hi, this.shape);
    let td: tf.Tensor | null = null;
    let qSum: tf.Tensor | null = null;
    // The target is computed off the gradient tape: a constant of the loss.
    const y = tf.tidy(() => {
      const nb = this.online.inputs(s.next);
      const qNextOnline = this.online.apply(nb);
      const qNextTarget = this.target.apply(nb);
      const r = tf.tensor1d(s.reward);
      const d = tf.tensor1d(s.done);
      return cfg.target === 'double-q'
        ? doubleQTarget(r, d, qNextOnline, qNextTarget, cfg.gamma)
        : meanFieldTarget(r, d, qNextOnline, qNextTarget, cfg.gamma, temperature);
    });
    const { loss, grad } = lossAndGradient(this.online.params.vars, () => {
      const b = this.online.inputs(s.batch);
      const q = pickActions(this.online.apply(b), tf.tensor1d(s.action, 'int32'));
      const delta = tf.sub(y, q);
      td = tf.keep(delta);
      qSum = tf.keep(tf.sum(q));
      const w = tf.tensor1d(s.weight);
      return tf.div(tf.sum(tf.mul(w, tf.square(delta))), u.weightSum) as tf.Scalar;
    });
    y.dispose();
    const tdT = td as tf.Tensor | null;
    const qT = qSum as tf.Tensor | null;
    const out: ShardGradient = {
      grad,
      loss,
      qSum: qT ? qT.dataSync()[0] : Number.NaN,
      td: tdT && this.memory.prioritized ? (tdT.dataSync() as Float32Array) : null,
    };
    tdT?.dispose();
    qT?.dispose();
    return out;
  }

  /** Updates on the MF-Q loss on batches drawn from the replay. */
  async train(round: number, temperature: number, rng: Rng): Promise<TrainStats> {
    const cfg = this.cfg;
    const mem = this.memory;
    const written = mem.totalWritten;
    const fresh = written - this.lastWritten;
    this.lastWritten = written;
    if (mem.readySize < Math.max(cfg.learningStarts, 1)) {
      return { loss: Number.NaN, meanQ: Number.NaN, ess: Number.NaN, updates: 0 };
    }
    const updates = Math.min(
      cfg.maxUpdatesPerRound,
      Math.ceil((fresh * cfg.replayRatio) / cfg.batchSize),
    );
    const beta = this.betaAt(round);
    const B = cfg.batchSize;
    let lossSum = 0;
    let qSum = 0;
    let essSum = 0;
    for (let u = 0; u < updates; u++) {
      // 1. Sample transitions (s, a, abar, r, s', abar') with their importance weights.
      const s = mem.sample(B, beta, rng);
      gatherUpdate(mem, s.rows, s.weights, this.update);
      // 2-3. The MF-Q loss and one clipped Adam step (on every thread of `compute`).
      const g = await updateStep(this, this.update, temperature, cfg.gradClip, {
        round,
        update: u + 1,
        updates,
      });
      if (g.td) mem.updatePriorities(s.rows, g.td);
      // 4. The target network follows: phi- <- tau phi + (1 - tau) phi-.
      this.target.params.softUpdate(this.online.params, cfg.tau);
      lossSum += g.loss;
      qSum += g.qSum / B;
      essSum += s.ess;
    }
    return {
      loss: updates > 0 ? lossSum / updates : Number.NaN,
      meanQ: updates > 0 ? qSum / updates : Number.NaN,
      ess: updates > 0 ? essSum / updates : Number.NaN,
      updates,
    };
  }

  dispose(): void {
    this.online.dispose();
    this.target.dispose();
    this.optimizer.dispose();
  }
}
