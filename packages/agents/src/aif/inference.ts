/**
 * State inference by fixed-point iteration (pymdp's run_vanilla_fpi), one agent at a time over
 * shared scratch, for batches that store beliefs agent-major.
 *
 * Variational free energy of a mean-field posterior q(s) = prod_f q_f(s_f) given an observation
 * o and an empirical prior p_f (Da Costa et al. 2020, "Active inference on discrete state-spaces",
 * eq. 9):
 *
 *   F = sum_f [ q_f . ln(q_f + 1e-16) - q_f . ln(p_f + 1e-16) ] - E_q[ sum_m ln(A_m[o_m, s] + 1e-16) ]
 *
 * Its stationary point for factor f given the others is q_f = softmax(ln p_f + E_{q_\f}[ln L]).
 * One factor: that is the exact posterior (closed form). Several factors: start uniform and update
 * all factors from the previous iterate (Jacobi), until num_iter iterations or |dF| < dF_tol,
 * where the first reference F is that of the uniform start without the accuracy term (pymdp).
 */

import { LOG_EPS } from './maths.ts';
import type { Layout } from './model.ts';

export interface FpiResult {
  F: number;
  iterations: number;
}

export class FixedPointInference {
  private readonly lnL: Float64Array;
  private readonly lnP: Float64Array;
  private readonly qNew: Float64Array;
  /** For each joint state and factor, the state index of that factor. */
  private readonly stateOf: Int32Array;

  constructor(
    readonly layout: Layout,
    readonly numIter: number,
    readonly dFTol: number,
  ) {
    const { S, F, Q } = layout;
    this.lnL = new Float64Array(S);
    this.lnP = new Float64Array(Q);
    this.qNew = new Float64Array(Q);
    this.stateOf = new Int32Array(S * F);
    for (let s = 0; s < S; s++)
      for (let f = 0; f < F; f++)
        this.stateOf[s * F + f] = Math.floor(s / layout.stateStride[f]) % layout.numStates[f];
  }

  /**
   * ln L[s] = sum_m lnA_m[o_m, s] for agent n, from lnA blocks at n * aStride[m] and outcomes
   * obs[obsOff + m]; returns the scratch array (valid until the next call).
   */
  logLikelihood(
    n: number,
    lnA: readonly Float64Array[],
    aStride: readonly number[],
    obs: ArrayLike<number>,
    obsOff: number,
  ): Float64Array {
    const { S, M } = this.layout;
    const lnL = this.lnL;
    lnL.fill(0);
    for (let m = 0; m < M; m++) {
      const row = n * aStride[m] + obs[obsOff + m] * S;
      const a = lnA[m];
      for (let s = 0; s < S; s++) lnL[s] += a[row + s];
    }
    return lnL;
  }

  /**
   * Posterior of one agent given ln L (from logLikelihood) and its prior prior[pOff .. pOff+Q),
   * written to qs[qOff .. qOff+Q).
   */
  infer(
    lnL: Float64Array,
    prior: Float64Array,
    pOff: number,
    qs: Float64Array,
    qOff: number,
  ): FpiResult {
    const { F, Q, S, numStates, qsOffset } = this.layout;
    const lnP = this.lnP;
    for (let i = 0; i < Q; i++) lnP[i] = Math.log(prior[pOff + i] + LOG_EPS);
    if (F === 1) {
      let max = Number.NEGATIVE_INFINITY;
      for (let i = 0; i < Q; i++) {
        const v = lnL[i] + lnP[i];
        qs[qOff + i] = v;
        if (v > max) max = v;
      }
      let z = 0;
      for (let i = 0; i < Q; i++) {
        const e = Math.exp(qs[qOff + i] - max);
        qs[qOff + i] = e;
        z += e;
      }
      for (let i = 0; i < Q; i++) qs[qOff + i] /= z;
      return { F: this.freeEnergy(qs, qOff, lnL, true), iterations: 0 };
    }
    for (let f = 0; f < F; f++) {
      const n = numStates[f];
      qs.fill(1 / n, qOff + qsOffset[f], qOff + qsOffset[f] + n);
    }
    let prevF = this.freeEnergy(qs, qOff, lnL, false);
    let dF = 1;
    let it = 0;
    let Fe = prevF;
    const qNew = this.qNew;
    const stateOf = this.stateOf;
    while (it < this.numIter && dF >= this.dFTol) {
      // qL_f[k] = sum_{s: s_f = k} ln L[s] prod_{g != f} q_g(s_g), from the previous iterate.
      qNew.fill(0);
      for (let s = 0; s < S; s++) {
        const l = lnL[s];
        const so = s * F;
        for (let f = 0; f < F; f++) {
          let w = l;
          for (let g = 0; g < F; g++) if (g !== f) w *= qs[qOff + qsOffset[g] + stateOf[so + g]];
          qNew[qsOffset[f] + stateOf[so + f]] += w;
        }
      }
      for (let f = 0; f < F; f++) {
        const off = qsOffset[f];
        const n = numStates[f];
        let max = Number.NEGATIVE_INFINITY;
        for (let i = 0; i < n; i++) {
          qNew[off + i] += lnP[off + i];
          if (qNew[off + i] > max) max = qNew[off + i];
        }
        let z = 0;
        for (let i = 0; i < n; i++) {
          const e = Math.exp(qNew[off + i] - max);
          qNew[off + i] = e;
          z += e;
        }
        for (let i = 0; i < n; i++) qs[qOff + off + i] = qNew[off + i] / z;
      }
      Fe = this.freeEnergy(qs, qOff, lnL, true);
      dF = Math.abs(prevF - Fe);
      prevF = Fe;
      it++;
    }
    return { F: Fe, iterations: it };
  }

  /** F of beliefs qs (prior logs in this.lnP), with or without the accuracy term. */
  private freeEnergy(qs: Float64Array, qOff: number, lnL: Float64Array, accuracy: boolean): number {
    const { F, Q, S, qsOffset } = this.layout;
    let Fe = 0;
    for (let i = 0; i < Q; i++) {
      const q = qs[qOff + i];
      Fe += q * Math.log(q + LOG_EPS) - q * this.lnP[i];
    }
    if (!accuracy) return Fe;
    const stateOf = this.stateOf;
    for (let s = 0; s < S; s++) {
      let w = lnL[s];
      for (let f = 0; f < F; f++) w *= qs[qOff + qsOffset[f] + stateOf[s * F + f]];
      Fe -= w;
    }
    return Fe;
  }
}
