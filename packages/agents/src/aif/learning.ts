/**
 * Learning of the generative model by Dirichlet updates (Friston et al. 2016, "Active inference
 * and learning", eqs. for a, b, d; pymdp's learning.py), on flat per-agent blocks of counts:
 *
 *   pA_m <- pA_m + lr_A * onehot(o_m) (x) q(s)            where pA_m > 0
 *   pB_f[:, :, a] <- pB_f[:, :, a] + lr_B * q_f(t) (x) q_f(t-1)   where pB_f > 0
 *   pD_f <- pD_f + lr_D * q_f(first step of the episode)
 *
 * With a forgetting rate w, counts first decay towards their initial values,
 * p <- p0 + (1 - w)(p - p0): recent evidence then weighs more than old evidence, which lets an
 * agent re-learn after a reversal (pymdp has no such term and adapts slowly).
 */
import { LOG_EPS } from './maths.ts';

function forgetTowards(
  p: Float64Array,
  base: number,
  p0: Float64Array,
  size: number,
  forget: number,
): void {
  if (forget <= 0) return;
  const keep = 1 - forget;
  for (let i = 0; i < size; i++) p[base + i] = p0[i] + keep * (p[base + i] - p0[i]);
}

/** pA block [o, joint state] of one agent at `base`; qx = joint posterior over states. */
export function updateLikelihoodCounts(
  pA: Float64Array,
  base: number,
  pA0: Float64Array,
  no: number,
  S: number,
  o: number,
  qx: ArrayLike<number>,
  lr: number,
  forget: number,
): void {
  forgetTowards(pA, base, pA0, no * S, forget);
  const row = base + o * S;
  for (let s = 0; s < S; s++) if (pA[row + s] > 0) pA[row + s] += lr * qx[s];
}

/** pB block [next, prev, action] of one factor of one agent at `base`. */
export function updateTransitionCounts(
  pB: Float64Array,
  base: number,
  pB0: Float64Array,
  ns: number,
  nu: number,
  qNow: ArrayLike<number>,
  nowOff: number,
  qPrev: ArrayLike<number>,
  prevOff: number,
  action: number,
  lr: number,
  forget: number,
): void {
  forgetTowards(pB, base, pB0, ns * ns * nu, forget);
  for (let i = 0; i < ns; i++) {
    for (let j = 0; j < ns; j++) {
      const k = base + (i * ns + j) * nu + action;
      if (pB[k] > 0) pB[k] += lr * qNow[nowOff + i] * qPrev[prevOff + j];
    }
  }
}

/** pD block of one factor of one agent at `base`. */
export function updateInitialCounts(
  pD: Float64Array,
  base: number,
  pD0: Float64Array,
  ns: number,
  q0: ArrayLike<number>,
  q0Off: number,
  lr: number,
  forget: number,
): void {
  forgetTowards(pD, base, pD0, ns, forget);
  for (let i = 0; i < ns; i++) pD[base + i] += lr * q0[q0Off + i];
}

/**
 * From counts p (block at `base`, `n0` categories on axis 0, `cols` columns): the normalised
 * distribution, and optionally ln(dist + 1e-16) and the novelty weights
 * W = (1/sum(p + 1e-16) - 1/(p + 1e-16)) * (p > 0) (pymdp's spm_wnorm).
 */
export function deriveFromCounts(
  p: Float64Array,
  base: number,
  n0: number,
  cols: number,
  dist: Float64Array,
  ln: Float64Array | null,
  w: Float64Array | null,
): void {
  for (let c = 0; c < cols; c++) {
    let s = 0;
    let sEps = 0;
    for (let i = 0; i < n0; i++) {
      s += p[base + i * cols + c];
      sEps += p[base + i * cols + c] + LOG_EPS;
    }
    for (let i = 0; i < n0; i++) {
      const k = base + i * cols + c;
      const v = s > 0 ? p[k] / s : 1 / n0;
      dist[k] = v;
      if (ln) ln[k] = Math.log(v + LOG_EPS);
      if (w) w[k] = p[k] > 0 ? 1 / sEps - 1 / (p[k] + LOG_EPS) : 0;
    }
  }
}
