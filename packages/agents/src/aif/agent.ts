/**
 * A batch of active-inference agents that share one model structure (pymdp's Agent, with a
 * leading batch axis as in pymdp 1.x's `batch_size`). Every agent has its own beliefs and, when it
 * learns, its own Dirichlet counts; policies are enumerated once for the batch.
 *
 * This file orchestrates: the model's arrays are prepared once for the batch (model.ts's
 * prepareModel), and the maths lives in the modules named below and in maths.ts.
 *
 * One step of the perception-action loop, for every agent n:
 *   1. q(s) = argmin F given o and the empirical prior (D at the first step, else
 *      B[:, :, a(t-1)] q(s)(t-1));                                  inference.ts / mmp.ts
 *   2. -G(pi) and its parts, q(pi) = softmax(gamma (-G) + ln E), action marginals;  control.ts
 *   3. an action per factor (argmax, or a draw at precision alpha), and the next empirical prior
 *      B[:, :, a] q(s);                                               control.ts / maths.ts
 *   4. learning of pA, pB (and pD at the end of an episode), if enabled.  learning.ts
 *
 * All state lives in flat typed arrays, agent-major: beliefs [agent][packed factor states],
 * policy quantities [agent][policy], actions [agent][factor].
 */
import { GibbsError, Rng } from '@gibbs/core';
import { allocEfeOutputs, type EfeOutputs, PolicyEvaluator, selectActions } from './control.ts';
import { FixedPointInference } from './inference.ts';
import {
  deriveFromCounts,
  updateInitialCounts,
  updateLikelihoodCounts,
  updateTransitionCounts,
} from './learning.ts';
import { jointPosterior, LOG_EPS, negEntropyColumns, predictStates } from './maths.ts';
import { MmpState } from './mmp.ts';
import {
  type AgentConfig,
  type GenerativeModel,
  type Layout,
  type ModelArrays,
  prepareModel,
} from './model.ts';

export interface AifAgentsOptions {
  readonly model: GenerativeModel;
  readonly config: AgentConfig;
  /** Number of agents in the batch. */
  readonly count: number;
  /** Seed of the stream used by stochastic action selection. */
  readonly seed?: number;
}

const ALL = -1;

export class AifAgents {
  readonly layout: Layout;
  readonly count: number;
  readonly config: AgentConfig;
  /** Posterior over states after the last inference, [agent][packed states]. */
  readonly qs: Float64Array;
  /** Empirical prior of the next inference, [agent][packed states]. */
  readonly prior: Float64Array;
  /** Variational free energy of the last inference, per agent. */
  readonly F: Float64Array;
  /** Fixed-point iterations of the last inference, per agent. */
  readonly iterations: Int32Array;
  /** -G and its parts, q(pi), action marginals of the last policy inference. */
  readonly efe: EfeOutputs;
  /** Last chosen action per agent and factor. */
  readonly actions: Int32Array;
  /** Steps since the agent's last reset (0 before its first inference). */
  readonly t: Int32Array;

  /** The model's arrays (model.ts): shared, or one block per agent where learned. */
  private readonly params: ModelArrays;
  private readonly D: readonly Float64Array[];
  private readonly dStride: readonly number[];
  private readonly pA: readonly Float64Array[] | null;
  private readonly pA0: readonly Float64Array[] | null;
  private readonly pB: readonly Float64Array[] | null;
  private readonly pB0: readonly Float64Array[] | null;
  private readonly pD: readonly Float64Array[] | null;
  private readonly pD0: readonly Float64Array[] | null;
  /** Posterior at each agent's first step since reset (for learning pD). */
  private readonly qs0: Float64Array;
  /** Posterior before the last inference (for learning pB). */
  private readonly qsPrev: Float64Array;
  private readonly fpi: FixedPointInference;
  private readonly evaluator: PolicyEvaluator;
  private readonly rng: Rng;
  private readonly scratch: Float64Array;
  private readonly qx: Float64Array;
  private readonly mmp: MmpState | null;

  constructor(opts: AifAgentsOptions) {
    const { model, config, count } = opts;
    const prepared = prepareModel(model, config, count);
    this.layout = prepared.layout;
    this.count = count;
    this.config = config;
    this.params = prepared.params;
    this.D = prepared.D;
    this.dStride = prepared.dStride;
    this.pA = prepared.pA;
    this.pA0 = prepared.pA0;
    this.pB = prepared.pB;
    this.pB0 = prepared.pB0;
    this.pD = prepared.pD;
    this.pD0 = prepared.pD0;
    const lay = this.layout;
    const { Q, S, F } = lay;
    this.qs = new Float64Array(count * Q);
    this.prior = new Float64Array(count * Q);
    this.qs0 = new Float64Array(count * Q);
    this.qsPrev = new Float64Array(count * Q);
    this.F = new Float64Array(count);
    this.iterations = new Int32Array(count);
    this.efe = allocEfeOutputs(lay, count);
    this.actions = new Int32Array(count * F);
    this.t = new Int32Array(count);
    this.fpi = new FixedPointInference(lay, config.inference.numIter, config.inference.dFTol);
    this.evaluator = new PolicyEvaluator(lay, model.E ?? null);
    this.rng = new Rng(opts.seed ?? 0);
    this.scratch = new Float64Array(Math.max(...lay.numControls));
    this.qx = new Float64Array(S);
    this.mmp =
      config.inference.algo === 'mmp'
        ? new MmpState(lay, count, config.inference.window ?? 3, config.inference.numIter)
        : null;
    this.reset();
  }

  /** Number of policies shared by the batch. */
  get numPolicies(): number {
    return this.layout.P;
  }

  /**
   * Start a new episode for one agent (slot index), the agents where mask[i] = 1, or all agents.
   * Learns pD from the first posterior of the episode that ends, when enabled.
   */
  reset(which: number | Uint8Array = ALL): void {
    const { Q, F, qsOffset, numStates } = this.layout;
    const lr = this.config.learning ?? {};
    this.forEach(which, (n) => {
      if (this.pD && this.pD0 && this.t[n] > 0) {
        for (let f = 0; f < F; f++) {
          const ns = numStates[f];
          updateInitialCounts(
            this.pD[f],
            n * ns,
            this.pD0[f],
            ns,
            this.qs0,
            n * Q + qsOffset[f],
            lr.lrD ?? 0,
            lr.forget ?? 0,
          );
          deriveFromCounts(this.pD[f], n * ns, ns, 1, this.D[f], null, null);
        }
      }
      for (let f = 0; f < F; f++) {
        const ns = numStates[f];
        const d = this.D[f];
        const dOff = n * this.dStride[f];
        for (let i = 0; i < ns; i++) {
          this.prior[n * Q + qsOffset[f] + i] = d[dOff + i];
          this.qs[n * Q + qsOffset[f] + i] = d[dOff + i];
        }
      }
      this.t[n] = 0;
      this.F[n] = 0;
      this.mmp?.reset(n, this.prior);
    });
  }

  /**
   * Infer hidden states from observations obs[agent * M + m] (outcome indices) for the agents in
   * `mask` (all when omitted).
   */
  inferStates(obs: Int32Array, mask?: Uint8Array): void {
    const { M, Q, numObs } = this.layout;
    if (obs.length < this.count * M) {
      throw GibbsError.invalid(
        'observations',
        `${obs.length} entries`,
        `${this.count * M} (agents x modalities)`,
      );
    }
    const lr = this.config.learning ?? {};
    const learnB = this.pB !== null;
    // Check every observation first, so that a bad one leaves all beliefs untouched.
    for (let n = 0; n < this.count; n++) {
      if (mask && !mask[n]) continue;
      for (let m = 0; m < M; m++) {
        const o = obs[n * M + m];
        if (!Number.isInteger(o) || o < 0 || o >= numObs[m]) {
          throw GibbsError.invalid(
            `observations[agent ${n}][modality ${m}]`,
            o,
            `an integer in [0, ${numObs[m]}) (A[${m}] has ${numObs[m]} outcomes)`,
          );
        }
      }
    }
    for (let n = 0; n < this.count; n++) {
      if (mask && !mask[n]) continue;
      if (learnB && this.t[n] > 0) this.qsPrev.set(this.qs.subarray(n * Q, (n + 1) * Q), n * Q);
      const lnL = this.fpi.logLikelihood(n, this.params.lnA, this.params.aStride, obs, n * M);
      if (this.mmp) {
        this.F[n] = this.mmp.infer(
          n,
          lnL,
          this.params.B,
          this.params.bStride,
          this.actions,
          this.qs,
        );
        this.iterations[n] = this.config.inference.numIter;
      } else {
        const r = this.fpi.infer(lnL, this.prior, n * Q, this.qs, n * Q);
        this.F[n] = r.F;
        this.iterations[n] = r.iterations;
      }
      if (this.t[n] === 0) this.qs0.set(this.qs.subarray(n * Q, (n + 1) * Q), n * Q);
      if (this.pA || (learnB && this.t[n] > 0))
        this.learn(n, obs, lr.lrA ?? 0, lr.lrB ?? 0, lr.forget ?? 0);
      this.t[n]++;
    }
  }

  /** Expected free energy of every policy, q(pi) and the action marginals. */
  inferPolicies(mask?: Uint8Array): void {
    const c = this.config;
    const terms = {
      utility: c.useUtility,
      stateInfoGain: c.useStatesInfoGain,
      paramInfoGain: c.useParamInfoGain,
    };
    const Q = this.layout.Q;
    for (let n = 0; n < this.count; n++) {
      if (mask && !mask[n]) continue;
      this.evaluator.evaluate(n, this.qs, n * Q, this.params, terms, c.gamma, this.efe);
    }
  }

  /**
   * Choose actions from the action marginals and set each agent's empirical prior for its next
   * step, B[:, :, a] q(s). Returns `actions` ([agent][factor]).
   */
  selectActions(mask?: Uint8Array): Int32Array {
    const lay = this.layout;
    const { F, Q, U } = lay;
    const stochastic = this.config.actionSelection === 'stochastic';
    for (let n = 0; n < this.count; n++) {
      if (mask && !mask[n]) continue;
      selectActions(
        lay,
        this.efe.marginals,
        n * U,
        this.actions,
        n * F,
        stochastic,
        this.config.alpha,
        this.rng,
        this.scratch,
      );
      // The empirical prior of the next step, B[:, :, a] q(s), factor by factor.
      const { B, bStride } = this.params;
      for (let f = 0; f < F; f++) {
        const off = n * Q + lay.qsOffset[f];
        const a = this.actions[n * F + f];
        const [ns, nu] = [lay.numStates[f], lay.numControls[f]];
        predictStates(B[f], n * bStride[f], ns, nu, a, this.qs, off, this.prior, off);
      }
    }
    return this.actions;
  }

  /** One full perception-action step; returns the actions ([agent][factor]). */
  step(obs: Int32Array, mask?: Uint8Array): Int32Array {
    this.inferStates(obs, mask);
    this.inferPolicies(mask);
    return this.selectActions(mask);
  }

  /** Beliefs of agent n about factor f (a view). */
  beliefs(n: number, f: number): Float64Array {
    const off = n * this.layout.Q + this.layout.qsOffset[f];
    return this.qs.subarray(off, off + this.layout.numStates[f]);
  }

  /** Sum over factors of the entropy of agent n's beliefs. */
  beliefEntropy(n: number): number {
    const Q = this.layout.Q;
    let h = 0;
    for (let i = 0; i < Q; i++) {
      const q = this.qs[n * Q + i];
      h -= q * Math.log(q + LOG_EPS);
    }
    return h;
  }

  /** The likelihood A[m] the agent n uses now (a view of its block, flat [o, joint state]). */
  likelihood(n: number, m: number): Float64Array {
    const size = this.layout.numObs[m] * this.layout.S;
    const off = n * this.params.aStride[m];
    return this.params.A[m].subarray(off, off + size);
  }

  /** The Dirichlet counts pA[m] of agent n (a view), or null when A is not learned. */
  likelihoodCounts(n: number, m: number): Float64Array | null {
    if (!this.pA) return null;
    const size = this.layout.numObs[m] * this.layout.S;
    return this.pA[m].subarray(n * size, (n + 1) * size);
  }

  /** The transition array B[f] the agent n uses now (a view, flat [next, prev, action]). */
  transitions(n: number, f: number): Float64Array {
    const ns = this.layout.numStates[f];
    const size = ns * ns * this.layout.numControls[f];
    const off = n * this.params.bStride[f];
    return this.params.B[f].subarray(off, off + size);
  }

  /** The prior D[f] of agent n (a view). */
  initialPrior(n: number, f: number): Float64Array {
    const ns = this.layout.numStates[f];
    const off = n * this.dStride[f];
    return this.D[f].subarray(off, off + ns);
  }

  private learn(n: number, obs: Int32Array, lrA: number, lrB: number, forget: number): void {
    const lay = this.layout;
    const { S, M, F, Q } = lay;
    if (this.pA && this.pA0 && lrA > 0) {
      const qx = jointPosterior(this.qs, n * Q, lay.qsOffset, lay.numStates, this.qx);
      for (let m = 0; m < M; m++) {
        const no = lay.numObs[m];
        const base = n * no * S;
        updateLikelihoodCounts(
          this.pA[m],
          base,
          this.pA0[m],
          no,
          S,
          obs[n * M + m],
          qx,
          lrA,
          forget,
        );
        const w = this.params.wA ? this.params.wA[m] : null;
        deriveFromCounts(this.pA[m], base, no, S, this.params.A[m], this.params.lnA[m], w);
        negEntropyColumns(this.params.A[m], base, no, S, this.params.negH[m], n * S);
      }
    }
    if (this.pB && this.pB0 && lrB > 0 && this.t[n] > 0) {
      for (let f = 0; f < F; f++) {
        const ns = lay.numStates[f];
        const nu = lay.numControls[f];
        const base = n * ns * ns * nu;
        const off = n * Q + lay.qsOffset[f];
        updateTransitionCounts(
          this.pB[f],
          base,
          this.pB0[f],
          ns,
          nu,
          this.qs,
          off,
          this.qsPrev,
          off,
          this.actions[n * F + f],
          lrB,
          forget,
        );
        const w = this.params.wB ? this.params.wB[f] : null;
        deriveFromCounts(this.pB[f], base, ns, ns * nu, this.params.B[f], null, w);
      }
    }
  }

  private forEach(which: number | Uint8Array, fn: (n: number) => void): void {
    if (typeof which === 'number') {
      if (which === ALL) for (let n = 0; n < this.count; n++) fn(n);
      else {
        if (!Number.isInteger(which) || which < 0 || which >= this.count) {
          throw GibbsError.invalid('agent', which, `an index in [0, ${this.count})`);
        }
        fn(which);
      }
    } else for (let n = 0; n < this.count; n++) if (which[n]) fn(n);
  }
}
