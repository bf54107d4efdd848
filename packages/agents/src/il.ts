/**
 * IL: independent Q-learning (Tan 1993) with a deep Q-network, the baseline of Yang et al. 2018.
 * Each agent treats the others as part of the environment: Q(s, a) instead of Q(s, a, abar), so
 * the network has no mean-action input; everything else (Boltzmann policy at temperature T, double-Q
 * target from a soft-updated target network, optional prioritised replay) is MF-Q's (mfq.ts):
 *   L(phi) = (r + gamma Q_phi-(s', argmax_a Q_phi(s', a)) - Q_phi(s, a))^2.
 */
import type { Rng } from '@gibbs/core';
import { MFQ, MFQConfig } from './mfq.ts';
import type { NetShape } from './nets.ts';

/** IL's hyperparameters are MF-Q's (one schema, so the comparison changes only the mean action). */
export const ILConfig = MFQConfig;
export type ILConfig = MFQConfig;

export class IL extends MFQ {
  constructor(shape: Omit<NetShape, 'meanAction'>, config: Partial<ILConfig>, rng: Rng) {
    super(shape, config, rng, false);
  }
}
