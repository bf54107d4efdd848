/**
 * AC: independent advantage actor-critic, the baseline of Yang et al. 2018 (mlii/mfrl's
 * `ActorCritic`), on-policy over one round's experience with one network per group.
 *
 * Unlike MF-AC (mfac.ts), the critic ignores the other agents: it is a state value V_phi(s).
 *   advantage: A = r + gamma (1 - done) V_phi-(s') - V_phi(s)   (one-step TD error)
 *   actor:     -E[A log pi_theta(a | s)]
 *   critic:    (r + gamma (1 - done) V_phi-(s') - V_phi(s))^2, phi- a soft-updated copy
 * Everything else is MF-AC's (mfac.ts, whose update this class reuses, as IL reuses MF-Q's): the
 * actor, the round's minibatches, the total loss actor + valueCoef * critic - entropyCoef * H(pi),
 * clipped Adam steps and the soft-updated target. Only the critic below differs.
 */
import type { Rng } from '@gibbs/core';
import * as tf from '@tensorflow/tfjs';
import type { z } from 'zod';
import { type CriticTerms, MFAC, MFACConfig } from './mfac.ts';
import type { NetInput, NetShape } from './nets.ts';
import { stopGradient } from './policy.ts';

/** AC's hyperparameters: MF-AC's, so the comparison changes only the critic. */
export const ACConfig = MFACConfig;
export type ACConfig = z.infer<typeof ACConfig>;

export class AC extends MFAC {
  constructor(shape: Omit<NetShape, 'meanAction'>, config: Partial<ACConfig>, rng: Rng) {
    super(shape, config, rng, false);
  }

  /** The value of s' in the target: the target critic's state value V_phi-(s'). */
  protected override nextValue(next: NetInput): tf.Tensor1D {
    return tf.reshape(this.target.apply(next).critic as tf.Tensor2D, [-1]) as tf.Tensor1D;
  }

  /**
   * The state-value critic V_phi(s) ([n, 1]), blind to the other agents:
   *   advantage A = y - V_phi(s) (the one-step TD error);
   *   critic    (y - V_phi(s))^2.
   */
  protected override critic(
    v: tf.Tensor2D,
    _pi: tf.Tensor2D,
    _a: tf.Tensor1D,
    y: tf.Tensor1D,
  ): CriticTerms {
    const value = tf.reshape(v, [-1]) as tf.Tensor1D;
    const delta = tf.sub(y, value);
    return {
      adv: stopGradient(delta) as tf.Tensor1D,
      sqError: tf.square(delta) as tf.Tensor1D,
      value,
    };
  }
}
