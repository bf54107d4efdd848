/**
 * A batch of active-inference agents that share one model structure (pymdp's Agent, with a
 * leading batch axis as in pymdp 1.x's `batch_size`). Every agent has its own beliefs and, when it
 * learns, its own Dirichlet counts; policies are enumerated once for the batch.
 *
 * One step of the perception-action loop, for every agent n:
 *   1. q(s) = argmin F given o and the empirical prior (D at the first step, else
 *      B[:, :, a(t-1)] q(s)(t-1));                                  inference.ts / mmp.ts
 *   2. -G(pi) and its parts, q(pi) = softmax(gamma (-G) + ln E), action marginals;  control.ts
 *   3. an action per factor (argmax, or a draw at precision alpha);
 *   4. learning of pA, pB (and pD at the end of an episode), if enabled.  learning.ts
 *
 * All state lives in flat typed arrays, agent-major: beliefs [agent][packed factor states],
 * policy quantities [agent][policy], actions [agent][factor].
 */
import { GibbsError, Rng } from '@gibbs/core';
import {
  allocEfeOutputs,
  type EfeOutputs,
  type EfeParams,
  type Layout,
  makeLayout,
  PolicyEvaluator,
  selectActions,
  sparseColumns,
} from './control.ts';
import { FixedPointInference } from './inference.ts';
import {
  deriveFromCounts,
  updateInitialCounts,
  updateLikelihoodCounts,
  updateTransitionCounts,
} from './learning.ts';
import { EXP_M16, LOG_EPS, softmax } from './maths.ts';
import { runMmp } from './mmp.ts';
import { type AgentConfig, type GenerativeModel, numPoliciesOf, validateModel } from './model.ts';

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

  private readonly params: EfeParams & {
    A: Float64Array[];
    lnA: Float64Array[];
    negH: Float64Array[];
    B: Float64Array[];
  };
  private readonly D: Float64Array[];
  private readonly dStride: number[];
  private readonly pA: Float64Array[] | null;
  private readonly pA0: Float64Array[] | null;
  private readonly pB: Float64Array[] | null;
  private readonly pB0: Float64Array[] | null;
  private readonly pD: Float64Array[] | null;
  private readonly pD0: Float64Array[] | null;
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
    if (!Number.isInteger(count) || count < 1)
      throw GibbsError.invalid('count', count, 'a positive integer (agents in the batch)');
    if (!Number.isInteger(config.policyLen) || config.policyLen < 1) {
      throw GibbsError.invalid('policyLen', config.policyLen, 'a positive integer');
    }
    const shape = validateModel(model, numPoliciesOf(model.B, config.policyLen), config.policyLen);
    this.layout = makeLayout(shape, config.policyLen);
    this.count = count;
    this.config = config;
    const lay = this.layout;
    const { Q, S, F, M, P } = lay;
    if (P > 1_000_000)
      throw GibbsError.invalid('policies', P, 'at most 1e6 policies (shorten policyLen)');
    const lr = config.learning ?? {};
    const learnA = (lr.lrA ?? 0) > 0 && !!model.pA;
    const learnB = (lr.lrB ?? 0) > 0 && !!model.pB;
    const learnD = (lr.lrD ?? 0) > 0 && !!model.pD;
    const wantNovelty = config.useParamInfoGain;

    // Likelihood: from pA when given (pymdp sets A = normalised pA), one block per agent if learned.
    const A: Float64Array[] = [];
    const lnA: Float64Array[] = [];
    const negH: Float64Array[] = [];
    const aStride: number[] = [];
    const wA: (Float64Array | null)[] = [];
    this.pA = learnA ? [] : null;
    this.pA0 = learnA ? [] : null;
    for (let m = 0; m < M; m++) {
      const no = lay.numObs[m];
      const size = no * S;
      const blocks = learnA ? count : 1;
      aStride.push(learnA ? size : 0);
      const src = model.pA ? model.pA[m].data : model.A[m].data;
      const counts = new Float64Array(blocks * size);
      for (let b = 0; b < blocks; b++) counts.set(src, b * size);
      const a = new Float64Array(blocks * size);
      const l = new Float64Array(blocks * size);
      const w = model.pA && wantNovelty ? new Float64Array(blocks * size) : null;
      for (let b = 0; b < blocks; b++) {
        if (model.pA) deriveFromCounts(counts, b * size, no, S, a, l, w);
        else {
          a.set(src, b * size);
          for (let i = 0; i < size; i++) l[b * size + i] = Math.log(src[i] + LOG_EPS);
        }
      }
      A.push(a);
      lnA.push(l);
      wA.push(w);
      negH.push(new Float64Array(blocks * S));
      for (let b = 0; b < blocks; b++) computeNegH(a, b * size, no, S, negH[m], b * S);
      if (learnA && this.pA && this.pA0) {
        this.pA.push(counts);
        this.pA0.push(Float64Array.from(src));
      }
    }
    const B: Float64Array[] = [];
    const bStride: number[] = [];
    const wB: (Float64Array | null)[] = [];
    this.pB = learnB ? [] : null;
    this.pB0 = learnB ? [] : null;
    for (let f = 0; f < F; f++) {
      const ns = lay.numStates[f];
      const nu = lay.numControls[f];
      const size = ns * ns * nu;
      const blocks = learnB ? count : 1;
      bStride.push(learnB ? size : 0);
      const src = model.pB ? model.pB[f].data : model.B[f].data;
      const counts = new Float64Array(blocks * size);
      for (let b = 0; b < blocks; b++) counts.set(src, b * size);
      const bArr = new Float64Array(blocks * size);
      const w = model.pB && wantNovelty ? new Float64Array(blocks * size) : null;
      for (let b = 0; b < blocks; b++) {
        if (model.pB) deriveFromCounts(counts, b * size, ns, ns * nu, bArr, null, w);
        else bArr.set(src, b * size);
      }
      B.push(bArr);
      wB.push(w);
      if (learnB && this.pB && this.pB0) {
        this.pB.push(counts);
        this.pB0.push(Float64Array.from(src));
      }
    }
    this.D = [];
    this.dStride = [];
    this.pD = learnD ? [] : null;
    this.pD0 = learnD ? [] : null;
    for (let f = 0; f < F; f++) {
      const ns = lay.numStates[f];
      const blocks = learnD ? count : 1;
      this.dStride.push(learnD ? ns : 0);
      const d = new Float64Array(blocks * ns);
      if (learnD && model.pD && this.pD && this.pD0) {
        const counts = new Float64Array(blocks * ns);
        for (let b = 0; b < blocks; b++) counts.set(model.pD[f], b * ns);
        for (let b = 0; b < blocks; b++) deriveFromCounts(counts, b * ns, ns, 1, d, null, null);
        this.pD.push(counts);
        this.pD0.push(Float64Array.from(model.pD[f]));
      } else d.set(model.D[f]);
      this.D.push(d);
    }
    // ln(softmax(C) + 1e-16) for each future step: a 1-D C is the same at every step, a 2-D C
    // ([outcome, step]) gives one column per step (pymdp tiles / indexes C the same way).
    const lnC = model.C.map((c, m) => {
      const no = lay.numObs[m];
      const out = new Float64Array(config.policyLen * no);
      const data = c instanceof Float64Array ? c : c.data;
      const cols = data.length / no;
      for (let tau = 0; tau < config.policyLen; tau++) {
        const col = Float64Array.from(
          { length: no },
          (_, o) => data[o * cols + (cols === 1 ? 0 : tau)],
        );
        const p = softmax(col);
        for (let o = 0; o < no; o++) out[tau * no + o] = Math.log(p[o] + LOG_EPS);
      }
      return out;
    });
    this.params = {
      A,
      aStride,
      lnA,
      negH,
      lnC,
      wA: wA.some((w) => w) ? wA : null,
      B,
      bStride,
      wB: wB.some((w) => w) ? wB : null,
      // Shared (not learned) arrays that are mostly zeros get column-sparse copies.
      sparseA: A.map((a, m) =>
        aStride[m] === 0 ? sparseColumns(a, lay.numObs[m], S, (r, c) => r * S + c) : null,
      ),
      sparseB: B.map((b, f) => {
        const ns = lay.numStates[f];
        const nu = lay.numControls[f];
        // Column a * ns + prev holds B[:, prev, a] at flat (next * ns + prev) * nu + a.
        return bStride[f] === 0
          ? sparseColumns(b, ns, ns * nu, (r, c) => (r * ns + (c % ns)) * nu + Math.floor(c / ns))
          : null;
      }),
    };
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
      for (let f = 0; f < F; f++) {
        const ns = lay.numStates[f];
        const nu = lay.numControls[f];
        const a = this.actions[n * F + f];
        const Bf = this.params.B[f];
        const bBase = n * this.params.bStride[f];
        const off = n * Q + lay.qsOffset[f];
        for (let i = 0; i < ns; i++) {
          let s = 0;
          for (let j = 0; j < ns; j++) s += Bf[bBase + (i * ns + j) * nu + a] * this.qs[off + j];
          this.prior[off + i] = s;
        }
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
      // Joint posterior q(s) = prod_f q_f(s_f).
      const qx = this.qx;
      qx[0] = 1;
      let len = 1;
      for (let f = 0; f < F; f++) {
        const ns = lay.numStates[f];
        const off = n * Q + lay.qsOffset[f];
        for (let i = len - 1; i >= 0; i--) {
          const a = qx[i];
          for (let j = ns - 1; j >= 0; j--) qx[i * ns + j] = a * this.qs[off + j];
        }
        len *= ns;
      }
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
        computeNegH(this.params.A[m], base, no, S, this.params.negH[m], n * S);
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

/** negH[s] = sum_o A[o, s] ln(A[o, s] + e^-16) (spm_MDP_G's guard). */
function computeNegH(
  A: Float64Array,
  base: number,
  no: number,
  S: number,
  out: Float64Array,
  outBase: number,
): void {
  for (let s = 0; s < S; s++) {
    let h = 0;
    for (let o = 0; o < no; o++) {
      const p = A[base + o * S + s];
      h += p * Math.log(p + EXP_M16);
    }
    out[outBase + s] = h;
  }
}

/**
 * Per-agent window for marginal message passing over the past: the joint likelihoods of the last
 * W + 1 time points, the W actions between them, and the prior of the window's first point
 * (D at the start of an episode, then B[:, :, a] applied to the smoothed posterior of the point
 * that left the window).
 */
class MmpState {
  private readonly lik: Float64Array;
  private readonly acts: Int32Array;
  private readonly startPrior: Float64Array;
  private readonly len: Int32Array;

  constructor(
    readonly layout: Layout,
    readonly count: number,
    readonly window: number,
    readonly numIter: number,
  ) {
    if (!Number.isInteger(window) || window < 1) {
      throw GibbsError.invalid(
        'inference.window',
        window,
        'an integer >= 1 (past time points kept)',
      );
    }
    const { S, F, Q } = layout;
    this.lik = new Float64Array(count * (window + 1) * S);
    this.acts = new Int32Array(count * window * F);
    this.startPrior = new Float64Array(count * Q);
    this.len = new Int32Array(count);
  }

  reset(n: number, prior: Float64Array): void {
    const Q = this.layout.Q;
    this.startPrior.set(prior.subarray(n * Q, (n + 1) * Q), n * Q);
    this.len[n] = 0;
  }

  /** Add the new point (ln L), smooth over the window, write the current posterior to qs; returns F. */
  infer(
    n: number,
    lnL: Float64Array,
    B: readonly Float64Array[],
    bStride: readonly number[],
    actions: Int32Array,
    qs: Float64Array,
  ): number {
    const { S, F, Q, numStates, numControls, qsOffset } = this.layout;
    const W = this.window;
    const lb = n * (W + 1) * S;
    const ab = n * W * F;
    let len = this.len[n];
    if (len > 0) {
      // The action taken at the previous point links it to this one.
      if (len === W + 1) {
        // Slide: the first point leaves; the prior of its successor was set at the end of the
        // last run.
        this.lik.copyWithin(lb, lb + S, lb + (W + 1) * S);
        this.acts.copyWithin(ab, ab + F, ab + W * F);
        len--;
      }
      for (let f = 0; f < F; f++) this.acts[ab + (len - 1) * F + f] = actions[n * F + f];
    }
    for (let s = 0; s < S; s++) this.lik[lb + len * S + s] = Math.exp(lnL[s]);
    len++;
    this.len[n] = len;
    const Bt = B.map((b, f) => {
      const ns = numStates[f];
      const size = ns * ns * numControls[f];
      return {
        shape: [ns, ns, numControls[f]],
        data: b.subarray(n * bStride[f], n * bStride[f] + size),
      };
    });
    const t = len - 1;
    const res = runMmp({
      likelihoods: Array.from({ length: len }, (_, j) =>
        this.lik.subarray(lb + j * S, lb + (j + 1) * S),
      ),
      B: Bt,
      transitions: Array.from({ length: len - 1 }, (_, j) =>
        Array.from(this.acts.subarray(ab + j * F, ab + (j + 1) * F)),
      ),
      D: numStates.map((ns, f) =>
        this.startPrior.subarray(n * Q + qsOffset[f], n * Q + qsOffset[f] + ns),
      ),
      t,
      start: 0,
      last: t,
      numIter: this.numIter,
      tau: 0.25,
    });
    for (let f = 0; f < F; f++) qs.set(res.x[f][t], n * Q + qsOffset[f]);
    if (len === W + 1 && W >= 1) {
      // Next step the first point leaves: its successor's prior is B[:, :, a_0] x_0.
      for (let f = 0; f < F; f++) {
        const ns = numStates[f];
        const nu = numControls[f];
        const a = this.acts[ab + f];
        const x0 = res.x[f][0];
        for (let i = 0; i < ns; i++) {
          let s = 0;
          for (let j = 0; j < ns; j++) s += Bt[f].data[(i * ns + j) * nu + a] * x0[j];
          this.startPrior[n * Q + qsOffset[f] + i] = s;
        }
      }
    }
    return res.F;
  }
}
