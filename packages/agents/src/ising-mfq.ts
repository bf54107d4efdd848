/**
 * Tabular mean-field Q-learning on the Ising lattice (Yang et al., "Mean Field Multi-Agent
 * Reinforcement Learning", ICML 2018: its Ising experiment and Algorithm 1, MF-Q; mlii/mfrl's
 * main_MFQ_Ising.py).
 *
 * Every site j keeps its own table Q^j(ā^j, a^j). With two actions and four neighbours the
 * neighbours' mean action (the paper's ā^j = (1/N^j) Σ_k a^k over one-hot a^k) is fully described
 * by the number of up neighbours k^j ∈ {0..4}: ā^j = (1 - k/4, k/4). So the table is
 * q[(j * 5 + k) * 2 + a].
 *
 * Each step:
 *   1. act by the paper's Boltzmann policy (temperature τ = 1/β), on the mean action the agent
 *      observes:  π^j(a | ā^j) = e^{Q^j(ā^j, a)/τ} / Σ_b e^{Q^j(ā^j, b)/τ};
 *   2. the environment pays r^j = 0.5 s^j h^j on the new spins;
 *   3. learn by the MF-Q update with γ = 0 (the Ising game is a repeated stage game; mfrl too):
 *        Q^j(ā^j, a^j) ← (1 - α) Q^j(ā^j, a^j) + α r^j.
 *
 * Which ā^j indexes the update in step 3 is the one choice the paper and its code differ on:
 * - 'current' (Algorithm 1 computes the mean action of the joint action just taken and stores it
 *   with the transition): the up-count after the step, i.e. of the actions that produced r^j.
 *   Then r^j = 0.5 s(a) (2k - 4) is a deterministic function of (k, a) and Q converges to it.
 * - 'previous' (mfrl's code: `Q[i, obs_flat, action[i]]` with obs from before the step): the
 *   up-count the agent acted on. Q then learns E[r | k_before, a], which under synchronous play
 *   soaks up the global magnetisation (see docs/results/mean-field.md).
 *
 * Acting schedule: 'synchronous' (every agent samples every step, as mfrl) or 'checkerboard'
 * (on step t only sites with (x + y) mod 2 = t mod 2 sample, the others repeat their spin). With
 * synchronous play the two checkerboard colours form two chains that never meet and can order in
 * opposite directions (an antiferromagnetic state flipping every step); the checkerboard schedule
 * is Glauber's update order and avoids that. On an even lattice under the checkerboard schedule an
 * acting site's neighbours hold still, so 'current' and 'previous' index the same entry.
 *
 * Why this reproduces the heat-bath chain: once Q^j(k, a) = 0.5 s(a) h with h = 2k - 4, the
 * Boltzmann policy gives P(up) = e^{h/2τ} / (e^{h/2τ} + e^{-h/2τ}): the Glauber rule with
 * β J = 1/(2τ), the convention of packages/env/src/ising-mcmc.ts.
 */
import { GibbsError, Rng } from '@gibbs/core';

export type MeanActionIndex = 'current' | 'previous';
export type ActingSchedule = 'checkerboard' | 'synchronous';

export interface IsingMfqOptions {
  /** Lattice side L (L * L agents). */
  size: number;
  /** Learning rate α of the MF-Q update (mfrl: 0.1). */
  alpha?: number;
  meanAction?: MeanActionIndex;
  schedule?: ActingSchedule;
  seed: number;
}

/** Up-count states per site (0..4 up neighbours) and actions (0 = down, 1 = up). */
const STATES = 5;
const ACTIONS = 2;

/** The reward r = 0.5 s(a) (2k - 4) an agent gets when its neighbours end the step with k up. */
export function isingReward(k: number, action: number): number {
  return 0.5 * (action === 1 ? 1 : -1) * (2 * k - 4);
}

export class IsingMfq {
  readonly size: number;
  readonly sites: number;
  readonly alpha: number;
  readonly meanAction: MeanActionIndex;
  readonly schedule: ActingSchedule;
  /** Q^j(k, a) at q[(j * 5 + k) * 2 + a], zeros at the start (as mfrl). */
  readonly q: Float32Array;
  /** 1 where the site sampled its action on the last `act` (and so learns on `learn`). */
  readonly acted: Uint8Array;
  /** The up-count each site acted on (the previous step's mean action). */
  private readonly kBefore: Uint8Array;
  private readonly lastAction: Int32Array;
  private readonly rng: Rng;
  private steps = 0;

  constructor(opts: IsingMfqOptions) {
    const { size } = opts;
    if (!(Number.isInteger(size) && size >= 2))
      throw GibbsError.invalid('size', size, 'an integer >= 2');
    const alpha = opts.alpha ?? 0.1;
    if (!(alpha > 0 && alpha <= 1)) throw GibbsError.invalid('alpha', alpha, 'a number in (0, 1]');
    this.size = size;
    this.sites = size * size;
    this.alpha = alpha;
    this.meanAction = opts.meanAction ?? 'current';
    this.schedule = opts.schedule ?? 'checkerboard';
    if (this.meanAction !== 'current' && this.meanAction !== 'previous')
      throw GibbsError.invalid('meanAction', this.meanAction, '"current" or "previous"');
    if (this.schedule !== 'checkerboard' && this.schedule !== 'synchronous')
      throw GibbsError.invalid('schedule', this.schedule, '"checkerboard" or "synchronous"');
    this.q = new Float32Array(this.sites * STATES * ACTIONS);
    this.acted = new Uint8Array(this.sites);
    this.kBefore = new Uint8Array(this.sites);
    this.lastAction = new Int32Array(this.sites);
    this.rng = new Rng(opts.seed);
  }

  /** The Boltzmann policy: P(up) for site j seeing k up neighbours at temperature τ. */
  probUp(site: number, k: number, tau: number): number {
    const o = (site * STATES + k) * ACTIONS;
    // e^{Q1/τ} / (e^{Q0/τ} + e^{Q1/τ}) written as a logistic, safe for any Q/τ.
    return 1 / (1 + Math.exp((this.q[o] - this.q[o + 1]) / tau));
  }

  /**
   * Choose every site's action from the observation features ([own spin ±1, up neighbours]
   * per site, as IsingEnv gives them) at temperature τ, into `actions`. Returns the mean entropy
   * (nats) of the policies of the sites that sampled.
   */
  act(features: Float32Array, tau: number, actions: Int32Array): number {
    if (!(tau > 0 && Number.isFinite(tau)))
      throw GibbsError.invalid('temperature', tau, 'a finite number > 0');
    const N = this.sites;
    if (features.length < 2 * N)
      throw GibbsError.invalid('features', features, `${2 * N} floats ([spin, up count] per site)`);
    if (actions.length < N) throw GibbsError.invalid('actions', actions, `${N} entries`);
    const L = this.size;
    const colour = this.steps & 1;
    let entropy = 0;
    let sampled = 0;
    for (let j = 0; j < N; j++) {
      const k = features[2 * j + 1];
      if (!(k >= 0 && k <= 4 && Number.isInteger(k)))
        throw GibbsError.invalid(`features[${2 * j + 1}] (up neighbours of site ${j})`, k, '0..4');
      this.kBefore[j] = k;
      const moves =
        this.schedule === 'synchronous' || (((j % L) + Math.floor(j / L)) & 1) === colour;
      this.acted[j] = moves ? 1 : 0;
      if (!moves) {
        actions[j] = features[2 * j] > 0 ? 1 : 0; // hold: repeat the current spin
        continue;
      }
      const p = this.probUp(j, k, tau);
      actions[j] = this.rng.float() < p ? 1 : 0;
      if (p > 0 && p < 1) entropy -= p * Math.log(p) + (1 - p) * Math.log(1 - p);
      sampled++;
    }
    this.lastAction.set(actions.subarray(0, N));
    this.steps++;
    return sampled > 0 ? entropy / sampled : 0;
  }

  /**
   * The MF-Q update with γ = 0 for every site that sampled: Q(ā, a) += α (r - Q(ā, a)), with ā the
   * up-count after the step ('current', from `features` of the step's output) or before it
   * ('previous'). Returns the mean squared distance of the updated entries to the reward
   * 0.5 s(a)(2k - 4) they would have with neighbours that hold still (mfrl's "mse").
   */
  learn(features: Float32Array, rewards: Float32Array): number {
    const N = this.sites;
    if (features.length < 2 * N || rewards.length < N)
      throw GibbsError.invalid('features/rewards', features.length, `${2 * N} and ${N} entries`);
    let se = 0;
    let n = 0;
    for (let j = 0; j < N; j++) {
      if (!this.acted[j]) continue;
      const k = this.meanAction === 'current' ? features[2 * j + 1] : this.kBefore[j];
      const a = this.lastAction[j];
      const o = (j * STATES + k) * ACTIONS + a;
      this.q[o] += this.alpha * (rewards[j] - this.q[o]);
      const d = this.q[o] - isingReward(k, a);
      se += d * d;
      n++;
    }
    return n > 0 ? se / n : 0;
  }
}
