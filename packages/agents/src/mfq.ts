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
import { GibbsError, type Rng } from '@gibbs/core';
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { Adam, batchTensors, type NetShape, type ObsBatch, QNetwork } from './nets.ts';
import {
  type Algo,
  allocBatch,
  clippedStep,
  doubleQTarget,
  gatherRows,
  type Learner,
  meanFieldTarget,
  pickActions,
  replayShape,
  sampleAction,
  softmaxInto,
  TemperatureSchedule,
  type TrainStats,
  temperatureAt,
} from './policy.ts';
import { Replay } from './replay.ts';

/** Every hyperparameter of MF-Q (and IL), with mfrl's values where they fit a short budget. */
export const MFQConfig = z.object({
  /** Adam step size (mfrl: 1e-4; larger here because our budgets are hundreds of rounds shorter). */
  lr: z.number().positive().default(3e-4),
  gamma: z.number().min(0).max(1).default(0.95),
  batchSize: z.number().int().positive().default(128),
  /** Rows the replay holds (rounded up to a power of two). */
  replayCapacity: z
    .number()
    .int()
    .min(2)
    .default(1 << 15),
  /** Gradient updates per round = ceil(new rows x replayRatio / batchSize), at most maxUpdates. */
  replayRatio: z.number().positive().default(1),
  maxUpdatesPerRound: z.number().int().positive().default(200),
  /** No update before this many ready rows. */
  learningStarts: z.number().int().nonnegative().default(256),
  /** Soft target update per gradient step: phi- <- tau phi + (1 - tau) phi-. */
  tau: z.number().gt(0).max(1).default(0.05),
  /** Value of s' in the target: 'double-q' (mfrl) or 'mean-field' (the paper's v^MF). */
  target: z.enum(['double-q', 'mean-field']).default('double-q'),
  /** Prioritised replay: alpha = 0 is uniform. beta anneals linearly to 1 over betaRounds. */
  priorityAlpha: z.number().min(0).max(1).default(0),
  priorityBeta: z.number().min(0).max(1).default(0.4),
  betaRounds: z.number().int().positive().default(200),
  /** Global gradient-norm clip (0 = none). */
  gradClip: z.number().nonnegative().default(10),
  /** Boltzmann temperature per round: simulated annealing by default. */
  temperature: TemperatureSchedule.default({ kind: 'anneal', start: 1, decay: 0.97, floor: 0.1 }),
  /** Rows per forward pass when acting (bounds the im2col memory of huge groups). */
  actChunk: z.number().int().positive().default(1024),
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
  private readonly batch: ObsBatch;
  private readonly nextBatch: ObsBatch;

  constructor(
    shape: Omit<NetShape, 'meanAction'>,
    config: Partial<MFQConfig>,
    rng: Rng,
    readonly meanField = true,
  ) {
    this.algo = meanField ? 'mfq' : 'il';
    this.shape = { ...shape, meanAction: meanField };
    this.cfg = MFQConfig.parse(config);
    this.online = new QNetwork(this.shape, rng);
    this.target = new QNetwork(this.shape, rng);
    this.target.params.copyFrom(this.online.params);
    this.optimizer = new Adam(this.online.params.vars, this.cfg.lr);
    this.memory = new Replay(replayShape(this.shape, this.cfg.replayCapacity), {
      alpha: this.cfg.priorityAlpha,
      eps: 1e-3,
    });
    this.batch = allocBatch(this.memory, this.cfg.batchSize);
    this.nextBatch = allocBatch(this.memory, this.cfg.batchSize);
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

  /** Q-values of all rows, [n * actions], one forward pass per chunk of rows. */
  qValues(obs: ObsBatch, net: QNetwork = this.online): Float32Array {
    const A = this.shape.actions;
    const out = new Float32Array(obs.n * A);
    const step = this.cfg.actChunk;
    for (let start = 0; start < obs.n; start += step) {
      const n = Math.min(step, obs.n - start);
      const part = start === 0 && n === obs.n ? obs : this.slice(obs, start, n);
      const q = tf.tidy(() => {
        const t = batchTensors(this.shape, part);
        return net.apply(t.view, t.features, t.mean);
      });
      out.set(q.dataSync(), start * A);
      q.dispose();
    }
    return out;
  }

  private slice(obs: ObsBatch, start: number, n: number): ObsBatch {
    const vs = this.memory.shape.viewSize;
    const fs = this.shape.features;
    const A = this.shape.actions;
    return {
      n,
      view: obs.view.subarray(start * vs, (start + n) * vs),
      features: obs.features.subarray(start * fs, (start + n) * fs),
      mean: obs.mean ? obs.mean.subarray(start * A, (start + n) * A) : null,
    };
  }

  /** The paper's Boltzmann policy for every row, then one sampled action per row. */
  act(obs: ObsBatch, temperature: number, rng: Rng, actions: Int32Array, probs: Float32Array) {
    const A = this.shape.actions;
    const q = this.qValues(obs);
    for (let i = 0; i < obs.n; i++) {
      softmaxInto(q, i * A, A, temperature, probs, i * A);
      actions[i] = sampleAction(probs, i * A, A, rng);
    }
  }

  temperatureAt(round: number): number {
    return temperatureAt(this.cfg.temperature, round);
  }

  /** Importance-sampling exponent beta, annealed linearly to 1 (Schaul et al. 2016). */
  betaAt(round: number): number {
    const f = Math.min(1, round / this.cfg.betaRounds);
    return this.cfg.priorityBeta + f * (1 - this.cfg.priorityBeta);
  }

  /** Updates on the MF-Q loss on batches drawn from the replay. */
  train(round: number, temperature: number, rng: Rng): TrainStats {
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
    const act = new Int32Array(B);
    const rew = new Float32Array(B);
    const done = new Float32Array(B);
    let lossSum = 0;
    let qSum = 0;
    let essSum = 0;
    for (let u = 0; u < updates; u++) {
      // 1. Sample transitions (s, a, abar, r, s', abar') with their importance weights.
      const s = mem.sample(B, beta, rng);
      gatherRows(mem, s.rows, this.batch, false);
      gatherRows(mem, s.rows, this.nextBatch, true);
      for (let k = 0; k < B; k++) {
        const r = s.rows[k];
        act[k] = mem.action[r];
        rew[k] = mem.reward[r];
        done[k] = mem.done[r];
      }
      let td: tf.Tensor | null = null;
      let qTaken: tf.Tensor | null = null;
      const loss = tf.tidy(() => {
        // 2. Target y = r + gamma v(s') from the target network (no gradient flows into it).
        const nb = batchTensors(this.shape, this.nextBatch);
        const qNextOnline = this.online.apply(nb.view, nb.features, nb.mean);
        const qNextTarget = this.target.apply(nb.view, nb.features, nb.mean);
        const r = tf.tensor1d(rew);
        const d = tf.tensor1d(done);
        const y =
          cfg.target === 'double-q'
            ? doubleQTarget(r, d, qNextOnline, qNextTarget, cfg.gamma)
            : meanFieldTarget(r, d, qNextOnline, qNextTarget, cfg.gamma, temperature);
        // 3. Importance-weighted squared TD error of Q_phi(s, a, abar), one Adam step.
        const b = batchTensors(this.shape, this.batch);
        const a = tf.tensor1d(act, 'int32');
        const w = tf.tensor1d(s.weights);
        const wSum = tf.sum(w);
        return clippedStep(
          this.optimizer,
          () => {
            const q = pickActions(this.online.apply(b.view, b.features, b.mean), a);
            const delta = tf.sub(y, q);
            td = tf.keep(delta);
            qTaken = tf.keep(tf.mean(q));
            return tf.div(tf.sum(tf.mul(w, tf.square(delta))), wSum) as tf.Scalar;
          },
          cfg.gradClip,
        );
      });
      const tdT = td as tf.Tensor | null;
      const qT = qTaken as tf.Tensor | null;
      if (!Number.isFinite(loss)) {
        tdT?.dispose();
        qT?.dispose();
        throw new GibbsError(
          `${this.algo}: the loss is ${loss} at training round ${round}, update ${u + 1} of ${updates}; parameters were not updated`,
          'loss',
          loss,
          'a finite number',
        );
      }
      if (tdT && qT) {
        if (mem.prioritized) mem.updatePriorities(s.rows, tdT.dataSync() as Float32Array);
        qSum += qT.dataSync()[0];
        tdT.dispose();
        qT.dispose();
      }
      // 4. The target network follows: phi- <- tau phi + (1 - tau) phi-.
      this.target.params.softUpdate(this.online.params, cfg.tau);
      lossSum += loss;
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
