/**
 * MF-AC: mean-field actor-critic (Yang et al., ICML 2018, Algorithm 2), on-policy over the
 * experience of one round, with one network per group (shared parameters).
 *
 * The actor pi_theta(a | s) is a softmax policy; the critic is the mean-field Q_phi(s, a, abar).
 *   actor:  grad_theta J = E[ grad_theta log pi_theta(a | s) Q_phi(s, a, abar) ]  (the paper's
 *           MF-AC actor gradient)
 *           with the baseline sum_b pi(b | s) Q_phi(s, b, abar) subtracted (same expectation,
 *           less variance): advantage A = Q_phi(s, a, abar) - sum_b pi(b | s) Q_phi(s, b, abar);
 *   critic: L(phi) = (y - Q_phi(s, a, abar))^2,  y = r + gamma v^MF_phi-(s')  (its critic loss)
 *           v^MF(s') = sum_a' pi_theta(a' | s') Q_phi-(s', a', abar')  (the mean-field value)
 *           with phi- a soft-updated copy of the critic.
 * Total loss, as in mlii/mfrl: actor + valueCoef * critic - entropyCoef * H(pi), gradients
 * clipped to a global norm.
 *
 * The update, in one place below: 1. act (`policyRows`), 2. store (the training loop writes each
 * step to `memory`), then after the round (`train`) 3. sample a minibatch, 4. target and 5. loss
 * (`gradient`), 6. an Adam step and the target critic's soft update.
 * AC (ac.ts), the independent baseline, is this learner with a state-value critic V_phi(s) in
 * place of Q_phi(s, a, abar): it replaces `nextValue` and `critic` only, as IL (il.ts) is MF-Q
 * without the mean action.
 */
import type { Rng } from '@gibbs/core';
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import {
  ActorCriticNetwork,
  Adam,
  NETS,
  type NetInput,
  type NetShape,
  type ObsBatch,
} from './nets.ts';
import {
  type Algo,
  allocUpdate,
  type Compute,
  gatherUpdate,
  type Learner,
  LOCAL,
  lossAndGradient,
  meanFieldAdvantage,
  pickActions,
  replayShape,
  type ShardGradient,
  sliceObs,
  sliceUpdate,
  softmaxInto,
  stopGradient,
  type TrainStats,
  type UpdateBatch,
  updateStep,
} from './policy.ts';
import { Replay } from './replay.ts';

export const MFACConfig = z.object({
  net: z
    .enum(NETS)
    .default('mfrl')
    .describe("network: mlii/mfrl's (fidelity) or population (speed)"),
  /** mfrl: 1e-4; 3e-4 with 100 steps a round collapsed the policy, see batchSize. */
  lr: z.number().positive().default(1e-4).describe('Adam step size'),
  gamma: z.number().min(0).max(1).default(0.95).describe('discount factor'),
  valueCoef: z
    .number()
    .nonnegative()
    .default(0.1)
    .describe('weight of the critic loss (mfrl: 0.1)'),
  entropyCoef: z
    .number()
    .nonnegative()
    .default(0.08)
    .describe('weight of the entropy bonus (mfrl: 0.08)'),
  /**
   * mfrl takes one step a round on all of the round's experience; 10 steps of 2560 rows cover a
   * 64-agent round once. Many small steps on on-policy data (256 rows, 100 a round, lr 3e-4) drove
   * the policy to a deterministic one within 15 rounds at 64 vs 64 (docs/results/mean-field.md).
   */
  batchSize: z.number().int().positive().default(2560).describe('rows per gradient step'),
  epochs: z.number().int().positive().default(1).describe("passes over the round's experience"),
  maxUpdatesPerRound: z
    .number()
    .int()
    .positive()
    .default(10)
    .describe('at most this many gradient steps a round'),
  tau: z
    .number()
    .gt(0)
    .max(1)
    .default(0.05)
    .describe('soft update of the target critic per gradient step'),
  gradClip: z.number().nonnegative().default(5).describe('global gradient-norm clip (0: none)'),
  memoryCapacity: z
    .number()
    .int()
    .min(2)
    .default(1 << 15)
    .describe('rows one round may write (a round of 64 agents x 400 steps is 25 600)'),
  actChunk: z
    .number()
    .int()
    .positive()
    .default(1024)
    .describe('rows per forward pass when acting (bounds the memory of huge groups)'),
});
export type MFACConfig = z.infer<typeof MFACConfig>;

/** The critic's side of the loss on a batch's rows (see MFAC.critic and AC.critic). */
export interface CriticTerms {
  /** Advantage A of the taken action, off the gradient tape (a constant of the actor's loss). */
  readonly adv: tf.Tensor1D;
  /** Squared TD error of the critic. */
  readonly sqError: tf.Tensor1D;
  /** The critic's value of each row (reported as meanQ). */
  readonly value: tf.Tensor1D;
}

/**
 * MF-AC, and through `AC` (ac.ts) the independent actor-critic: both act, sample and step the same
 * way, and differ only in their critic (`nextValue` and `critic`).
 */
export class MFAC implements Learner {
  readonly algo: Algo;
  readonly shape: NetShape;
  readonly cfg: MFACConfig;
  readonly net: ActorCriticNetwork;
  readonly target: ActorCriticNetwork;
  readonly optimizer: Adam;
  /** The round's experience; cleared after each training round (on-policy). */
  readonly memory: Replay;
  compute: Compute = LOCAL;
  private readonly update: UpdateBatch;

  /** `meanField` false: AC's network, whose critic has no mean-action input (ac.ts). */
  constructor(
    shape: Omit<NetShape, 'meanAction'>,
    config: Partial<MFACConfig>,
    rng: Rng,
    readonly meanField = true,
  ) {
    this.algo = meanField ? 'mfac' : 'ac';
    this.shape = { ...shape, meanAction: meanField };
    this.cfg = MFACConfig.parse(config);
    this.net = new ActorCriticNetwork(this.shape, rng, this.cfg.net);
    this.target = new ActorCriticNetwork(this.shape, rng, this.cfg.net);
    this.target.params.copyFrom(this.net.params);
    this.optimizer = new Adam(this.net.params.vars, this.cfg.lr);
    this.memory = new Replay(replayShape(this.shape, this.cfg.memoryCapacity));
    this.update = allocUpdate(this.memory, this.cfg.batchSize);
  }

  get policyParams() {
    return this.net.params;
  }
  get extraParams() {
    return { target: this.target.params };
  }
  counters(): Record<string, number> {
    return {};
  }
  setCounters(): void {}
  get config(): Record<string, unknown> {
    return { ...this.cfg };
  }

  temperatureAt(): number {
    return 1;
  }

  /**
   * 1. Act: the actor's policy pi_theta(. | s) = softmax(logits / T) of rows [lo, hi), in chunks
   * of rows (it does not take the mean action). 2. Store: the training loop writes each step's
   * (s, a, abar, r, s', abar') to `memory`.
   */
  policyRows(obs: ObsBatch, lo: number, hi: number, temperature: number, probs: Float32Array) {
    const A = this.shape.actions;
    for (let start = lo; start < hi; start += this.cfg.actChunk) {
      const n = Math.min(this.cfg.actChunk, hi - start);
      const part = sliceObs(obs, start, start + n, this.shape);
      const logits = tf.tidy(() => this.net.apply(this.net.inputs(part, false), false).logits);
      const l = logits.dataSync();
      logits.dispose();
      for (let i = 0; i < n; i++) softmaxInto(l, i * A, A, temperature, probs, (start + i) * A);
    }
  }

  /**
   * After a round: the round's rows shuffled, minibatches of `batchSize` (all rows when fewer) for
   * `epochs` passes (at most maxUpdatesPerRound steps); then the memory is cleared (on-policy).
   */
  async train(round: number, _temperature: number, rng: Rng): Promise<TrainStats> {
    const cfg = this.cfg;
    const mem = this.memory;
    const rows = mem.readyRows();
    rng.shuffle(rows);
    // A round shorter than one minibatch is trained on as one batch.
    const B = Math.min(cfg.batchSize, rows.length);
    const perEpoch = B > 0 ? Math.floor(rows.length / B) : 0;
    const updates = Math.min(cfg.maxUpdatesPerRound, perEpoch * cfg.epochs);
    let lossSum = 0;
    let qSum = 0;
    for (let u = 0; u < updates; u++) {
      // 3. Sample: the next minibatch of the round's shuffled rows.
      const idx = rows.subarray((u % perEpoch) * B, (u % perEpoch) * B + B);
      gatherUpdate(mem, idx, null, this.update);
      // 4-6. Target, loss (`gradient`) and one clipped Adam step (on every thread of `compute`).
      const g = await updateStep(this, this.update, 1, cfg.gradClip, {
        round,
        update: u + 1,
        updates,
      });
      // The target critic follows: phi- <- tau phi + (1 - tau) phi-.
      this.target.params.softUpdate(this.net.params, cfg.tau);
      lossSum += g.loss;
      qSum += g.qSum / B;
    }
    mem.clear();
    return {
      loss: updates > 0 ? lossSum / updates : Number.NaN,
      meanQ: updates > 0 ? qSum / updates : Number.NaN,
      ess: Number.NaN,
      updates,
    };
  }

  /**
   * The loss on rows [lo, hi) of a batch and its gradient (sums over the shard divided by the
   * batch size, so that shards add up to the batch):
   *   4. target y = r + gamma (1 - done) v(s'), off the gradient tape;
   *   5. loss  -A log pi(a | s) + valueCoef * critic - entropyCoef * H(pi) (mlii/mfrl's total),
   *      with A and the critic's squared error from `critic`.
   */
  gradient(u: UpdateBatch, lo: number, hi: number): ShardGradient {
    const cfg = this.cfg;
    const s = sliceUpdate(u, lo, hi, this.shape);
    let valueSum: tf.Tensor | null = null;
    const y = tf.tidy(() => {
      const vNext = this.nextValue(this.net.inputs(s.next));
      return tf.add(
        tf.tensor1d(s.reward),
        tf.mul(tf.mul(tf.sub(1, tf.tensor1d(s.done)), cfg.gamma), vNext),
      );
    }) as tf.Tensor1D;
    const { loss, grad } = lossAndGradient(this.net.params.vars, () => {
      const a = tf.tensor1d(s.action, 'int32');
      const out = this.net.apply(this.net.inputs(s.batch));
      const logPi = tf.logSoftmax(out.logits);
      const pi = tf.exp(logPi);
      const c = this.critic(out.critic as tf.Tensor2D, pi, a, y);
      valueSum = tf.keep(tf.sum(c.value));
      const actorLoss = tf.neg(tf.sum(tf.mul(c.adv, pickActions(logPi, a))));
      const criticLoss = tf.sum(c.sqError);
      const entropy = tf.neg(tf.sum(tf.mul(pi, logPi)));
      const total = tf.sub(
        tf.add(actorLoss, tf.mul(cfg.valueCoef, criticLoss)),
        tf.mul(cfg.entropyCoef, entropy),
      );
      return tf.div(total, u.weightSum) as tf.Scalar;
    });
    y.dispose();
    const vT = valueSum as tf.Tensor | null;
    const out = { grad, loss, qSum: vT ? vT.dataSync()[0] : Number.NaN, td: null };
    vT?.dispose();
    return out;
  }

  /**
   * The value of s' in the target, the paper's mean-field value with the target critic:
   *   v^MF(s') = sum_a' pi_theta(a' | s') Q_phi-(s', a', abar').
   */
  protected nextValue(next: NetInput): tf.Tensor1D {
    const qNext = this.target.apply(next).critic as tf.Tensor2D;
    const piNext = tf.softmax(this.net.apply(next, false).logits);
    return tf.sum(tf.mul(piNext, qNext), 1) as tf.Tensor1D;
  }

  /**
   * The mean-field critic Q_phi(s, ., abar) ([n, actions]):
   *   advantage A = Q(s, a, abar) - sum_b pi(b | s) Q(s, b, abar) (the paper's actor gradient
   *             with a state baseline);
   *   critic    (y - Q(s, a, abar))^2 (the paper's mean-field TD loss).
   */
  protected critic(q: tf.Tensor2D, pi: tf.Tensor2D, a: tf.Tensor1D, y: tf.Tensor1D): CriticTerms {
    const adv = stopGradient(meanFieldAdvantage(q, pi, a)) as tf.Tensor1D;
    const qa = pickActions(q, a);
    return { adv, sqError: tf.square(tf.sub(y, qa)) as tf.Tensor1D, value: qa };
  }

  dispose(): void {
    this.net.dispose();
    this.target.dispose();
    this.optimizer.dispose();
  }
}
