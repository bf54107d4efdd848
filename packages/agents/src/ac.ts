/**
 * AC: independent advantage actor-critic, the baseline of Yang et al. 2018 (mlii/mfrl's
 * `ActorCritic`), on-policy over one round's experience with one network per group.
 *
 * Unlike MF-AC (mfac.ts), the critic ignores the other agents: it is a state value V_phi(s).
 *   advantage: A = r + gamma (1 - done) V_phi-(s') - V_phi(s)   (one-step TD error)
 *   actor:     -E[A log pi_theta(a | s)]
 *   critic:    (r + gamma (1 - done) V_phi-(s') - V_phi(s))^2, phi- a soft-updated copy
 * Total loss actor + valueCoef * critic - entropyCoef * H(pi), gradients clipped to a global norm.
 */
import type { Rng } from '@gibbs/core';
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { actorPolicy, onPolicyLoss, trainOnPolicy } from './mfac.ts';
import { ActorCriticNetwork, Adam, NETS, type NetShape, type ObsBatch } from './nets.ts';
import {
  type Algo,
  allocUpdate,
  type Compute,
  type Learner,
  LOCAL,
  lossAndGradient,
  pickActions,
  replayShape,
  type ShardGradient,
  sliceUpdate,
  stopGradient,
  type TrainStats,
  type UpdateBatch,
} from './policy.ts';
import { Replay } from './replay.ts';

/** AC's hyperparameters: MF-AC's values, so the comparison changes only the critic. */
export const ACConfig = z.object({
  /** Network architecture (nets.ts): 'mfrl' or 'population'. */
  net: z.enum(NETS).default('mfrl'),
  lr: z.number().positive().default(1e-4),
  gamma: z.number().min(0).max(1).default(0.95),
  valueCoef: z.number().nonnegative().default(0.1),
  entropyCoef: z.number().nonnegative().default(0.08),
  batchSize: z.number().int().positive().default(2560),
  epochs: z.number().int().positive().default(1),
  maxUpdatesPerRound: z.number().int().positive().default(10),
  tau: z.number().gt(0).max(1).default(0.05),
  gradClip: z.number().nonnegative().default(5),
  memoryCapacity: z
    .number()
    .int()
    .min(2)
    .default(1 << 15),
  actChunk: z.number().int().positive().default(1024),
});
export type ACConfig = z.infer<typeof ACConfig>;

export class AC implements Learner {
  readonly algo: Algo = 'ac';
  readonly meanField = false;
  readonly shape: NetShape;
  readonly cfg: ACConfig;
  readonly net: ActorCriticNetwork;
  readonly target: ActorCriticNetwork;
  readonly optimizer: Adam;
  readonly memory: Replay;
  compute: Compute = LOCAL;
  private readonly update: UpdateBatch;

  constructor(shape: Omit<NetShape, 'meanAction'>, config: Partial<ACConfig>, rng: Rng) {
    this.shape = { ...shape, meanAction: false };
    this.cfg = ACConfig.parse(config);
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

  policyRows(obs: ObsBatch, lo: number, hi: number, temperature: number, probs: Float32Array) {
    actorPolicy(this.net, this.shape, this.cfg.actChunk, obs, lo, hi, temperature, probs);
  }

  /**
   * AC's loss on rows [lo, hi) of a batch (sums over the shard divided by the batch size):
   * TD target y = r + gamma (1 - done) V_phi-(s'), advantage A = y - V_phi(s), actor -A log pi,
   * critic (y - V_phi(s))^2, minus the entropy bonus.
   */
  gradient(u: UpdateBatch, lo: number, hi: number): ShardGradient {
    const cfg = this.cfg;
    const s = sliceUpdate(u, lo, hi, this.shape);
    let vSum: tf.Tensor | null = null;
    // The TD target, off the gradient tape.
    const y = tf.tidy(() => {
      const nb = this.net.inputs(s.next);
      const vNext = tf.reshape(this.target.apply(nb).critic as tf.Tensor2D, [-1]);
      return tf.add(
        tf.tensor1d(s.reward),
        tf.mul(tf.mul(tf.sub(1, tf.tensor1d(s.done)), cfg.gamma), vNext),
      );
    });
    const { loss, grad } = lossAndGradient(this.net.params.vars, () => {
      const a = tf.tensor1d(s.action, 'int32');
      const out = this.net.apply(this.net.inputs(s.batch));
      const v = tf.reshape(out.critic as tf.Tensor2D, [-1]);
      vSum = tf.keep(tf.sum(v));
      const logPi = tf.logSoftmax(out.logits);
      const pi = tf.exp(logPi);
      const delta = tf.sub(y, v);
      const adv = stopGradient(delta) as tf.Tensor1D;
      return onPolicyLoss(cfg, adv, pickActions(logPi, a), tf.square(delta), pi, logPi, u);
    });
    y.dispose();
    const vT = vSum as tf.Tensor | null;
    const out = { grad, loss, qSum: vT ? vT.dataSync()[0] : Number.NaN, td: null };
    vT?.dispose();
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
