/**
 * Marginal message passing over a window of time points (SPM's spm_MDP_VB_X scheme, pymdp's
 * run_mmp), for one agent and one sequence of transitions.
 *
 * Each state factor f at time point j holds a marginal x_f[j]. A sweep updates j = start..last in
 * order and, at each j, the factors in order, by a gradient step on variational free energy
 * (Parr et al. 2019, "Neuronal message passing using mean-field, Bethe, and marginal
 * approximations", eq. for the marginal update):
 *
 *   v   = ln(B x_f[j-1]) + qL - ln x_f[j]                  (forward message, likelihood)
 *       + ln(Bt x_f[j+1]) + qL - ln x_f[j]     if j < t    (backward message)
 *   v  -= mean(v);   x_f[j] = softmax(ln x_f[j] + tau v)
 *
 * where qL = ln(dot(L_j, x[j], omit f)) is the log-likelihood of the observation at j given the
 * other factors' current marginals, and Bt[:, :, u] = norm_cols(B[:, :, u]^T).
 */
import { GibbsError } from '@gibbs/core';
import { LOG_EPS, normCols, type Tensor } from './maths.ts';

export interface MmpProblem {
  /** Per time point j (0-based, absolute): the joint likelihood L_j over factors (shape ns_0 x ... ns_F-1) as a flat array, for j <= t. */
  readonly likelihoods: readonly ArrayLike<number>[];
  /** Transition arrays per factor, shape [next, prev, action]. */
  readonly B: readonly Tensor[];
  /** P[k][f]: action of factor f taking time point k to k+1. */
  readonly transitions: readonly (readonly number[])[];
  /** Prior over the states at time 0, per factor. */
  readonly D: readonly ArrayLike<number>[];
  /** Current time point (0-based). */
  readonly t: number;
  /** First time point updated. */
  readonly start: number;
  /** Last time point updated (t + 1 when the window holds a future point). */
  readonly last: number;
  readonly numIter: number;
  /** Step size (SPM's 1/4). */
  readonly tau: number;
  /** Prior at j = start > 0, per factor (SPM_MDP_VB_X's policy-separated prior); else B applied to x[start-1]. */
  readonly startPrior?: readonly ArrayLike<number>[];
  /** Backward message logged as ln(.) (run_mmp) or ln(. + 1e-16) (spm_MDP_VB_X). */
  readonly backwardLog?: 'ln' | 'spmLog';
  /** Called after each update with (iteration, j, factor, new marginal, v after mean removal). */
  readonly onUpdate?: (
    iter: number,
    j: number,
    f: number,
    x: Float64Array,
    v: Float64Array,
  ) => void;
}

export interface MmpResult {
  /** x[f][j]: marginals for j = 0..last (points before `start` stay uniform unless given). */
  readonly x: Float64Array[][];
  /** Free energy sum_j x.(v/2) of the last iteration (one factor: exactly SPM's F for that policy). */
  readonly F: number;
}

/** Backward transitions Bt[:, :, u] = norm_cols(B[:, :, u]^T) of one factor, flat [ns, ns, nu]. */
export function backwardTransitions(B: Tensor): Tensor {
  const [ns, ns2, nu] = B.shape;
  const out = new Float64Array(ns * ns2 * nu);
  for (let u = 0; u < nu; u++) {
    const m = new Float64Array(ns * ns2);
    for (let i = 0; i < ns; i++)
      for (let j = 0; j < ns2; j++) m[j * ns + i] = B.data[(i * ns2 + j) * nu + u];
    const n = normCols({ shape: [ns2, ns], data: m });
    for (let i = 0; i < ns2; i++)
      for (let j = 0; j < ns; j++) out[(i * ns + j) * nu + u] = n.data[i * ns + j];
  }
  return { shape: [ns2, ns, nu], data: out };
}

function matVec(B: Tensor, u: number, x: ArrayLike<number>, out: Float64Array): Float64Array {
  const [n, m, nu] = B.shape;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < m; j++) s += B.data[(i * m + j) * nu + u] * x[j];
    out[i] = s;
  }
  return out;
}

/** Run marginal message passing; returns the marginals of every time point up to `last`. */
export function runMmp(p: MmpProblem, init?: Float64Array[][]): MmpResult {
  const F = p.B.length;
  const ns = p.B.map((b) => b.shape[0]);
  if (p.D.length !== F) throw GibbsError.invalid('mmp D', p.D.length, `${F} factors`);
  const Bt = p.B.map(backwardTransitions);
  const x: Float64Array[][] =
    init ??
    ns.map((n) => Array.from({ length: p.last + 1 }, () => new Float64Array(n).fill(1 / n)));
  const strides = new Array<number>(F);
  let S = 1;
  for (let f = F - 1; f >= 0; f--) {
    strides[f] = S;
    S *= ns[f];
  }
  const backLn = p.backwardLog === 'spmLog' ? LOG_EPS : 0;
  let Ftot = 0;
  for (let iter = 0; iter < p.numIter; iter++) {
    Ftot = 0;
    for (let j = p.start; j <= p.last; j++) {
      const observed = j <= p.t;
      const L = observed ? p.likelihoods[j] : null;
      if (observed && (!L || L.length !== S)) {
        throw GibbsError.invalid(
          `mmp likelihoods[${j}]`,
          L ? L.length : L,
          `${S} entries (joint states)`,
        );
      }
      for (let f = 0; f < F; f++) {
        const n = ns[f];
        const sx = x[f][j];
        // qL = spm_log(dot(L_j, x[j], omit f)): marginalise the joint likelihood over the other factors.
        const qL = new Float64Array(n);
        if (L) {
          for (let s = 0; s < S; s++) {
            let w = L[s];
            if (w === 0) continue;
            for (let g = 0; g < F; g++)
              if (g !== f) w *= x[g][j][Math.floor(s / strides[g]) % ns[g]];
            qL[Math.floor(s / strides[f]) % n] += w;
          }
          for (let i = 0; i < n; i++) qL[i] = Math.log(qL[i] + LOG_EPS);
        }
        const px = new Float64Array(n);
        if (j === 0) for (let i = 0; i < n; i++) px[i] = Math.log(p.D[f][i] + LOG_EPS);
        else if (j === p.start && p.startPrior) {
          for (let i = 0; i < n; i++) px[i] = Math.log(p.startPrior[f][i] + LOG_EPS);
        } else {
          matVec(p.B[f], p.transitions[j - 1][f], x[f][j - 1], px);
          for (let i = 0; i < n; i++) px[i] = Math.log(px[i] + LOG_EPS);
        }
        const v = new Float64Array(n);
        const qx = new Float64Array(n);
        for (let i = 0; i < n; i++) {
          qx[i] = Math.log(sx[i] + LOG_EPS);
          v[i] = px[i] + qL[i] - qx[i];
        }
        if (j < p.t) {
          const back = matVec(Bt[f], p.transitions[j][f], x[f][j + 1], new Float64Array(n));
          for (let i = 0; i < n; i++) v[i] += Math.log(back[i] + backLn) + qL[i] - qx[i];
        }
        let mean = 0;
        for (let i = 0; i < n; i++) {
          Ftot += sx[i] * 0.5 * v[i];
          mean += v[i];
        }
        mean /= n;
        const nx = new Float64Array(n);
        let max = Number.NEGATIVE_INFINITY;
        for (let i = 0; i < n; i++) {
          v[i] -= mean;
          nx[i] = qx[i] + p.tau * v[i];
          if (nx[i] > max) max = nx[i];
        }
        let z = 0;
        for (let i = 0; i < n; i++) {
          nx[i] = Math.exp(nx[i] - max);
          z += nx[i];
        }
        for (let i = 0; i < n; i++) nx[i] /= z;
        x[f][j] = nx;
        p.onUpdate?.(iter, j, f, nx, v);
      }
    }
  }
  return { x, F: Ftot };
}
