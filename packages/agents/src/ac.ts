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
import { GibbsError, type Rng } from '@gibbs/core';
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { actorAct } from './mfac.ts';
import { ActorCriticNetwork, Adam, batchTensors, type NetShape, type ObsBatch } from './nets.ts';
import {
  type Algo,
  allocBatch,
  clippedStep,
  gatherRows,
  type Learner,
  pickActions,
  replayShape,
  stopGradient,
  type TrainStats,
} from './policy.ts';
import { Replay } from './replay.ts';

/** AC's hyperparameters: MF-AC's values, so the comparison changes only the critic. */
export const ACConfig = z.object({
  lr: z.number().positive().default(3e-4),
  gamma: z.number().min(0).max(1).default(0.95),
  valueCoef: z.number().nonnegative().default(0.1),
  entropyCoef: z.number().nonnegative().default(0.08),
  batchSize: z.number().int().positive().default(256),
  epochs: z.number().int().positive().default(1),
  maxUpdatesPerRound: z.number().int().positive().default(200),
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
  private readonly batch: ObsBatch;
  private readonly nextBatch: ObsBatch;

  constructor(shape: Omit<NetShape, 'meanAction'>, config: Partial<ACConfig>, rng: Rng) {
    this.shape = { ...shape, meanAction: false };
    this.cfg = ACConfig.parse(config);
    this.net = new ActorCriticNetwork(this.shape, rng);
    this.target = new ActorCriticNetwork(this.shape, rng);
    this.target.params.copyFrom(this.net.params);
    this.optimizer = new Adam(this.net.params.vars, this.cfg.lr);
    this.memory = new Replay(replayShape(this.shape, this.cfg.memoryCapacity));
    this.batch = allocBatch(this.memory, this.cfg.batchSize);
    this.nextBatch = allocBatch(this.memory, this.cfg.batchSize);
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

  act(obs: ObsBatch, temperature: number, rng: Rng, actions: Int32Array, probs: Float32Array) {
    actorAct(this.net, this.shape, this.cfg.actChunk, obs, temperature, rng, actions, probs);
  }

  train(round: number, _temperature: number, rng: Rng): TrainStats {
    const cfg = this.cfg;
    const mem = this.memory;
    const rows = mem.readyRows();
    rng.shuffle(rows);
    const B = cfg.batchSize;
    const perEpoch = Math.floor(rows.length / B);
    const updates = Math.min(cfg.maxUpdatesPerRound, perEpoch * cfg.epochs);
    const act = new Int32Array(B);
    const rew = new Float32Array(B);
    const done = new Float32Array(B);
    let lossSum = 0;
    let vSum = 0;
    for (let u = 0; u < updates; u++) {
      const idx = rows.subarray((u % perEpoch) * B, (u % perEpoch) * B + B);
      gatherRows(mem, idx, this.batch, false);
      gatherRows(mem, idx, this.nextBatch, true);
      for (let k = 0; k < B; k++) {
        act[k] = mem.action[idx[k]];
        rew[k] = mem.reward[idx[k]];
        done[k] = mem.done[idx[k]];
      }
      let vMean: tf.Tensor | null = null;
      const loss = tf.tidy(() => {
        // TD target y = r + gamma (1 - done) V_phi-(s').
        const nb = batchTensors(this.shape, this.nextBatch);
        const vNext = tf.reshape(
          this.target.apply(nb.view, nb.features, null).critic as tf.Tensor2D,
          [-1],
        );
        const y = tf.add(
          tf.tensor1d(rew),
          tf.mul(tf.mul(tf.sub(1, tf.tensor1d(done)), cfg.gamma), vNext),
        );
        const b = batchTensors(this.shape, this.batch);
        const a = tf.tensor1d(act, 'int32');
        return clippedStep(
          this.optimizer,
          () => {
            const out = this.net.apply(b.view, b.features, null);
            const v = tf.reshape(out.critic as tf.Tensor2D, [-1]);
            vMean = tf.keep(tf.mean(v));
            const logPi = tf.logSoftmax(out.logits);
            const pi = tf.exp(logPi);
            const delta = tf.sub(y, v);
            const adv = stopGradient(delta);
            const actorLoss = tf.neg(tf.mean(tf.mul(adv, pickActions(logPi, a))));
            const criticLoss = tf.mean(tf.square(delta));
            const ent = tf.mean(tf.neg(tf.sum(tf.mul(pi, logPi), 1)));
            return tf.sub(
              tf.add(actorLoss, tf.mul(cfg.valueCoef, criticLoss)),
              tf.mul(cfg.entropyCoef, ent),
            ) as tf.Scalar;
          },
          cfg.gradClip,
        );
      });
      const vT = vMean as tf.Tensor | null;
      if (!Number.isFinite(loss)) {
        vT?.dispose();
        throw new GibbsError(
          `${this.algo}: the loss is ${loss} at training round ${round}, update ${u + 1} of ${updates}; parameters were not updated`,
          'loss',
          loss,
          'a finite number',
        );
      }
      if (vT) {
        vSum += vT.dataSync()[0];
        vT.dispose();
      }
      this.target.params.softUpdate(this.net.params, cfg.tau);
      lossSum += loss;
    }
    mem.clear();
    return {
      loss: updates > 0 ? lossSum / updates : Number.NaN,
      meanQ: updates > 0 ? vSum / updates : Number.NaN,
      ess: Number.NaN,
      updates,
    };
  }

  dispose(): void {
    this.net.dispose();
    this.target.dispose();
    this.optimizer.dispose();
  }
}
