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
 */
import type { Rng } from '@gibbs/core';
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { ActorCriticNetwork, Adam, NETS, type NetShape, type ObsBatch } from './nets.ts';
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
  /** Network architecture (nets.ts): 'mfrl' or 'population'. */
  net: z.enum(NETS).default('mfrl'),
  /** Adam step size (mfrl: 1e-4; 3e-4 with 100 steps a round collapsed the policy, see below). */
  lr: z.number().positive().default(1e-4),
  gamma: z.number().min(0).max(1).default(0.95),
  /** Weights of the critic loss and of the entropy bonus (mfrl: 0.1 and 0.08). */
  valueCoef: z.number().nonnegative().default(0.1),
  entropyCoef: z.number().nonnegative().default(0.08),
  /**
   * Minibatch size, passes over the round's experience and a cap on steps per round. mfrl takes
   * one step a round on all of it; 10 steps of 2560 rows cover a 64-agent round once. Many small
   * steps on on-policy data (256 rows, 100 a round, lr 3e-4) drove the policy to a deterministic
   * one within 15 rounds at 64 vs 64 (docs/results/mean-field.md).
   */
  batchSize: z.number().int().positive().default(2560),
  epochs: z.number().int().positive().default(1),
  maxUpdatesPerRound: z.number().int().positive().default(10),
  /** Soft update of the target critic per gradient step. */
  tau: z.number().gt(0).max(1).default(0.05),
  gradClip: z.number().nonnegative().default(5),
  /** Rows one round may write (a round of 64 agents x 400 steps is 25 600). */
  memoryCapacity: z
    .number()
    .int()
    .min(2)
    .default(1 << 15),
  actChunk: z.number().int().positive().default(1024),
});
export type MFACConfig = z.infer<typeof MFACConfig>;

export class MFAC implements Learner {
  readonly algo: Algo = 'mfac';
  readonly meanField = true;
  readonly shape: NetShape;
  readonly cfg: MFACConfig;
  readonly net: ActorCriticNetwork;
  readonly target: ActorCriticNetwork;
  readonly optimizer: Adam;
  /** The round's experience; cleared after each training round (on-policy). */
  readonly memory: Replay;
  compute: Compute = LOCAL;
  private readonly update: UpdateBatch;

  constructor(shape: Omit<NetShape, 'meanAction'>, config: Partial<MFACConfig>, rng: Rng) {
    this.shape = { ...shape, meanAction: true };
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

  /** The actor's policy pi_theta(. | s) of rows [lo, hi) (it does not take the mean action). */
  policyRows(obs: ObsBatch, lo: number, hi: number, temperature: number, probs: Float32Array) {
    actorPolicy(this.net, this.shape, this.cfg.actChunk, obs, lo, hi, temperature, probs);
  }

  /**
   * The MF-AC loss on rows [lo, hi) of a batch (sums over the shard divided by the batch size):
   *   critic target y = r + gamma v^MF(s'), v^MF(s') = sum_a' pi(a'|s') Q_phi-(s', a', abar')
   *   actor  -A log pi(a|s), A = Q(s,a,abar) - sum_b pi(b|s) Q(s,b,abar) (the paper's actor
   *          gradient with a state baseline)
   *   critic (y - Q(s, a, abar))^2 (the paper's mean-field TD loss), minus the entropy bonus.
   */
  gradient(u: UpdateBatch, lo: number, hi: number): ShardGradient {
    const cfg = this.cfg;
    const s = sliceUpdate(u, lo, hi, this.shape);
    let qSum: tf.Tensor | null = null;
    // The critic's target, off the gradient tape.
    const y = tf.tidy(() => {
      const nb = this.net.inputs(s.next);
      const next = this.target.apply(nb);
      const piNext = tf.softmax(this.net.apply(nb, false).logits);
      const vNext = tf.sum(tf.mul(piNext, next.critic as tf.Tensor2D), 1);
      return tf.add(
        tf.tensor1d(s.reward),
        tf.mul(tf.mul(tf.sub(1, tf.tensor1d(s.done)), cfg.gamma), vNext),
      );
    });
    const { loss, grad } = lossAndGradient(this.net.params.vars, () => {
      const a = tf.tensor1d(s.action, 'int32');
      const out = this.net.apply(this.net.inputs(s.batch));
      const q = out.critic as tf.Tensor2D;
      const logPi = tf.logSoftmax(out.logits);
      const pi = tf.exp(logPi);
      const adv = stopGradient(meanFieldAdvantage(q, pi, a)) as tf.Tensor1D;
      const qa = pickActions(q, a);
      qSum = tf.keep(tf.sum(qa));
      return onPolicyLoss(cfg, adv, pickActions(logPi, a), tf.square(tf.sub(y, qa)), pi, logPi, u);
    });
    y.dispose();
    const qT = qSum as tf.Tensor | null;
    const out = { grad, loss, qSum: qT ? qT.dataSync()[0] : Number.NaN, td: null };
    qT?.dispose();
    return out;
  }

  train(round: number, _temperature: number, rng: Rng): Promise<TrainStats> {
    return trainOnPolicy(this, this.cfg, round, rng, this.update);
  }

  dispose(): void {
    this.net.dispose();
    this.target.dispose();
    this.optimizer.dispose();
  }
}

/** What the two actor-critics share: their hyperparameters for the update. */
export interface OnPolicyConfig {
  batchSize: number;
  epochs: number;
  maxUpdatesPerRound: number;
  tau: number;
  gradClip: number;
  valueCoef: number;
  entropyCoef: number;
}

/**
 * Total loss as in mlii/mfrl, actor + valueCoef * critic - entropyCoef * H(pi), each a sum over
 * the shard's rows divided by the whole batch's size (`u.weightSum`: every weight is 1).
 */
export function onPolicyLoss(
  cfg: OnPolicyConfig,
  adv: tf.Tensor1D,
  logPiTaken: tf.Tensor1D,
  sqError: tf.Tensor,
  pi: tf.Tensor2D,
  logPi: tf.Tensor2D,
  u: UpdateBatch,
): tf.Scalar {
  const actorLoss = tf.neg(tf.sum(tf.mul(adv, logPiTaken)));
  const criticLoss = tf.sum(sqError);
  const ent = tf.neg(tf.sum(tf.mul(pi, logPi)));
  const total = tf.sub(
    tf.add(actorLoss, tf.mul(cfg.valueCoef, criticLoss)),
    tf.mul(cfg.entropyCoef, ent),
  );
  return tf.div(total, u.weightSum) as tf.Scalar;
}

/**
 * One round of on-policy updates (MF-AC and AC): the round's rows shuffled, minibatches of
 * `batchSize` (all rows when fewer) for `epochs` passes (at most maxUpdatesPerRound), a clipped Adam step and a soft
 * target update after each; then the memory is cleared.
 */
export async function trainOnPolicy(
  l: Learner & { target: ActorCriticNetwork; net: ActorCriticNetwork },
  cfg: OnPolicyConfig,
  round: number,
  rng: Rng,
  update: UpdateBatch,
): Promise<TrainStats> {
  const mem = l.memory;
  const rows = mem.readyRows();
  rng.shuffle(rows);
  // A round shorter than one minibatch is trained on as one batch.
  const B = Math.min(cfg.batchSize, rows.length);
  const perEpoch = B > 0 ? Math.floor(rows.length / B) : 0;
  const updates = Math.min(cfg.maxUpdatesPerRound, perEpoch * cfg.epochs);
  let lossSum = 0;
  let qSum = 0;
  for (let u = 0; u < updates; u++) {
    const idx = rows.subarray((u % perEpoch) * B, (u % perEpoch) * B + B);
    gatherUpdate(mem, idx, null, update);
    const g = await updateStep(l, update, 1, cfg.gradClip, { round, update: u + 1, updates });
    l.target.params.softUpdate(l.net.params, cfg.tau);
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

/** The actor's softmax (logits / T) of rows [lo, hi), in chunks of rows. */
export function actorPolicy(
  net: ActorCriticNetwork,
  shape: NetShape,
  chunk: number,
  obs: ObsBatch,
  lo: number,
  hi: number,
  temperature: number,
  probs: Float32Array,
): void {
  const A = shape.actions;
  for (let start = lo; start < hi; start += chunk) {
    const n = Math.min(chunk, hi - start);
    const part = sliceObs(obs, start, start + n, shape);
    const logits = tf.tidy(() => net.apply(net.inputs(part, false), false).logits);
    const l = logits.dataSync();
    logits.dispose();
    for (let i = 0; i < n; i++) softmaxInto(l, i * A, A, temperature, probs, (start + i) * A);
  }
}
