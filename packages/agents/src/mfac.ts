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
import { GibbsError, type Rng } from '@gibbs/core';
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { ActorCriticNetwork, Adam, batchTensors, type NetShape, type ObsBatch } from './nets.ts';
import {
  type Algo,
  allocBatch,
  clippedStep,
  gatherRows,
  type Learner,
  meanFieldAdvantage,
  pickActions,
  replayShape,
  sampleAction,
  softmaxInto,
  stopGradient,
  type TrainStats,
} from './policy.ts';
import { Replay } from './replay.ts';

export const MFACConfig = z.object({
  /** Adam step size (mfrl: 1e-4). */
  lr: z.number().positive().default(3e-4),
  gamma: z.number().min(0).max(1).default(0.95),
  /** Weights of the critic loss and of the entropy bonus (mfrl: 0.1 and 0.08). */
  valueCoef: z.number().nonnegative().default(0.1),
  entropyCoef: z.number().nonnegative().default(0.08),
  /** Minibatch size and passes over the round's experience. */
  batchSize: z.number().int().positive().default(256),
  epochs: z.number().int().positive().default(1),
  maxUpdatesPerRound: z.number().int().positive().default(200),
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
  private readonly batch: ObsBatch;
  private readonly nextBatch: ObsBatch;

  constructor(shape: Omit<NetShape, 'meanAction'>, config: Partial<MFACConfig>, rng: Rng) {
    this.shape = { ...shape, meanAction: true };
    this.cfg = MFACConfig.parse(config);
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

  /** Sample from pi_theta(. | s) (the actor does not take the mean action). */
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
    let qSum = 0;
    for (let u = 0; u < updates; u++) {
      const idx = rows.subarray((u % perEpoch) * B, (u % perEpoch) * B + B);
      gatherRows(mem, idx, this.batch, false);
      gatherRows(mem, idx, this.nextBatch, true);
      for (let k = 0; k < B; k++) {
        act[k] = mem.action[idx[k]];
        rew[k] = mem.reward[idx[k]];
        done[k] = mem.done[idx[k]];
      }
      let qMean: tf.Tensor | null = null;
      const loss = tf.tidy(() => {
        // Critic target y = r + gamma v^MF(s'), v^MF(s') = sum_a' pi(a'|s') Q_phi-(s', a', abar').
        const nb = batchTensors(this.shape, this.nextBatch);
        const next = this.target.apply(nb.view, nb.features, nb.mean);
        const piNext = tf.softmax(this.net.apply(nb.view, nb.features, nb.mean, false).logits);
        const vNext = tf.sum(tf.mul(piNext, next.critic as tf.Tensor2D), 1);
        const y = tf.add(
          tf.tensor1d(rew),
          tf.mul(tf.mul(tf.sub(1, tf.tensor1d(done)), cfg.gamma), vNext),
        );
        const b = batchTensors(this.shape, this.batch);
        const a = tf.tensor1d(act, 'int32');
        return clippedStep(
          this.optimizer,
          () => {
            const out = this.net.apply(b.view, b.features, b.mean);
            const q = out.critic as tf.Tensor2D;
            const logPi = tf.logSoftmax(out.logits);
            const pi = tf.exp(logPi);
            // Actor: -E[A log pi(a|s)] with A = Q(s,a,abar) - sum_b pi(b|s) Q(s,b,abar): the
            // paper's actor gradient with a state baseline.
            const adv = stopGradient(meanFieldAdvantage(q, pi, a)) as tf.Tensor1D;
            const actorLoss = tf.neg(tf.mean(tf.mul(adv, pickActions(logPi, a))));
            // Critic: (y - Q(s, a, abar))^2, the paper's mean-field TD loss.
            const qa = pickActions(q, a);
            qMean = tf.keep(tf.mean(qa));
            const criticLoss = tf.mean(tf.square(tf.sub(y, qa)));
            const ent = tf.mean(tf.neg(tf.sum(tf.mul(pi, logPi), 1)));
            return tf.sub(
              tf.add(actorLoss, tf.mul(cfg.valueCoef, criticLoss)),
              tf.mul(cfg.entropyCoef, ent),
            ) as tf.Scalar;
          },
          cfg.gradClip,
        );
      });
      const qT = qMean as tf.Tensor | null;
      if (!Number.isFinite(loss)) {
        qT?.dispose();
        throw new GibbsError(
          `${this.algo}: the loss is ${loss} at training round ${round}, update ${u + 1} of ${updates}; parameters were not updated`,
          'loss',
          loss,
          'a finite number',
        );
      }
      if (qT) {
        qSum += qT.dataSync()[0];
        qT.dispose();
      }
      this.target.params.softUpdate(this.net.params, cfg.tau);
      lossSum += loss;
    }
    mem.clear();
    return {
      loss: updates > 0 ? lossSum / updates : Number.NaN,
      meanQ: updates > 0 ? qSum / updates : Number.NaN,
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

/** Sample every row's action from the actor's softmax (logits / T), in chunks of rows. */
export function actorAct(
  net: ActorCriticNetwork,
  shape: NetShape,
  chunk: number,
  obs: ObsBatch,
  temperature: number,
  rng: Rng,
  actions: Int32Array,
  probs: Float32Array,
): void {
  const A = shape.actions;
  const vs = shape.view ? shape.view.height * shape.view.width * shape.view.channels : 0;
  const fs = shape.features;
  for (let start = 0; start < obs.n; start += chunk) {
    const n = Math.min(chunk, obs.n - start);
    const part: ObsBatch = {
      n,
      view: obs.view.subarray(start * vs, (start + n) * vs),
      features: obs.features.subarray(start * fs, (start + n) * fs),
      mean: null,
    };
    const logits = tf.tidy(() => {
      const t = batchTensors({ ...shape, meanAction: false }, part);
      return net.apply(t.view, t.features, null, false).logits;
    });
    const l = logits.dataSync();
    logits.dispose();
    for (let i = 0; i < n; i++) {
      const row = start + i;
      softmaxInto(l, i * A, A, temperature, probs, row * A);
      actions[row] = sampleAction(probs, row * A, A, rng);
    }
  }
}
