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
import { LOG_EPS, normCols, predictStates, type Tensor } from './maths.ts';
import type { Layout } from './model.ts';

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

/** B[:, :, u] x (B square, [next, prev, action]): maths.ts's predictStates on a tensor. */
function matVec(B: Tensor, u: number, x: ArrayLike<number>, out: Float64Array): Float64Array {
  predictStates(B.data, 0, B.shape[0], B.shape[2], u, x, 0, out, 0);
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

/**
 * Marginal message passing for a batch, as pymdp's Agent runs it with an inference horizon: each
 * agent keeps a sliding window over its past, the joint likelihoods L_j = prod_m A_m[o_m, :] of
 * the last W + 1 time points, the W actions between them, and the prior of the window's first
 * point (D at the start of an episode, then B[:, :, a] x applied to the smoothed posterior x of
 * the point that left the window, as SPM's spm_MDP_VB_X carries the past forward). Each step
 * runs `runMmp` (the marginal update above) over the window and keeps the marginal of the
 * current point.
 */
export class MmpState {
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
        predictStates(
          Bt[f].data,
          0,
          ns,
          nu,
          a,
          res.x[f][0],
          0,
          this.startPrior,
          n * Q + qsOffset[f],
        );
      }
    }
    return res.F;
  }
}
