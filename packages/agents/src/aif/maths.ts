/**
 * Tensor kernels of active inference, as SPM's DEM toolbox and pymdp define them.
 *
 * Tensors are dense row-major `Float64Array`s with a shape. The general routines here (`spmCross`,
 * `spmDot`, `spmWnorm`, `betaln`) serve conformance and model set-up; the hot paths of the batched
 * agent (inference.ts, control.ts) use flat loops over the same layout with a leading agent axis,
 * and the flat kernels below (joint posterior, B·q, ambiguity, column-sparse matrices).
 *
 * Two log guards appear, and they are not interchangeable (see conformance/spm/README.md):
 *   - `spmLog(x) = ln(x + 1e-16)`, used for likelihoods, priors and marginals;
 *   - `EXP_M16 = e^-16 ≈ 1.125e-7`, used inside spm_MDP_G and in SPM's spm_wnorm.
 */
import { GibbsError } from '@gibbs/core';

/** pymdp's / SPM's guard inside logarithms: ln(x + 1e-16). */
export const LOG_EPS = 1e-16;
/** SPM's exp(-16), used by spm_MDP_G (ln(p + e^-16)) and by SPM's spm_wnorm. */
export const EXP_M16 = Math.exp(-16);

export interface Tensor {
  readonly shape: readonly number[];
  readonly data: Float64Array;
}

export function tensor(shape: readonly number[], data?: ArrayLike<number>): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const d = new Float64Array(n);
  if (data) {
    if (data.length !== n) {
      throw GibbsError.invalid(
        'tensor data',
        `${data.length} values`,
        `${n} (shape ${fmtShape(shape)})`,
      );
    }
    d.set(data);
  }
  return { shape: [...shape], data: d };
}

export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const s of shape) n *= s;
  return n;
}

/**
 * A nested JSON array (element [i][j][k] = X[i, j, k]) as a tensor. Throws a GibbsError naming
 * `name` and the index path of the first ragged or non-numeric entry.
 */
export function fromNested(x: unknown, name: string): Tensor {
  const shape: number[] = [];
  let cur: unknown = x;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    if (cur.length === 0) break;
    cur = cur[0];
  }
  if (shape.length === 0) {
    if (typeof x !== 'number' || !Number.isFinite(x)) {
      throw GibbsError.invalid(name, x, 'a finite number or a nested array of finite numbers');
    }
    return tensor([], [x]);
  }
  const out = new Float64Array(numel(shape));
  let k = 0;
  const walk = (v: unknown, depth: number, path: number[]): void => {
    if (depth === shape.length) {
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        throw GibbsError.invalid(`${name}[${path.join('][')}]`, v, 'a finite number');
      }
      out[k++] = v;
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[depth]) {
      throw GibbsError.invalid(
        `${name}${path.length ? `[${path.join('][')}]` : ''}`,
        Array.isArray(v) ? `a list of ${v.length}` : v,
        `a list of ${shape[depth]} (a rectangular array of shape ${fmtShape(shape)})`,
      );
    }
    for (let i = 0; i < v.length; i++) walk(v[i], depth + 1, [...path, i]);
  };
  walk(x, 0, []);
  return { shape, data: out };
}

/** A tensor as nested arrays (the inverse of fromNested). */
export function toNested(t: Tensor): unknown {
  if (t.shape.length === 0) return t.data[0];
  let k = 0;
  const build = (depth: number): unknown => {
    const n = t.shape[depth];
    const out: unknown[] = new Array(n);
    for (let i = 0; i < n; i++)
      out[i] = depth === t.shape.length - 1 ? t.data[k++] : build(depth + 1);
    return out;
  };
  return build(0);
}

/** Drop singleton axes (MATLAB's squeeze for our purposes; a scalar stays shape []). */
export function squeeze(t: Tensor): Tensor {
  return { shape: t.shape.filter((s) => s !== 1), data: t.data };
}

export function spmLog(x: number): number {
  return Math.log(x + LOG_EPS);
}

/** Elementwise ln(x + 1e-16) into a new array. */
export function spmLogArray(x: ArrayLike<number>): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = Math.log(x[i] + LOG_EPS);
  return out;
}

/** In-place softmax of x[off .. off+n): exp(x - max) / sum. */
export function softmaxInPlace(x: Float64Array, off = 0, n = x.length - off): void {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) if (x[off + i] > max) max = x[off + i];
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const e = Math.exp(x[off + i] - max);
    x[off + i] = e;
    sum += e;
  }
  const inv = 1 / sum;
  for (let i = 0; i < n; i++) x[off + i] *= inv;
}

export function softmax(x: ArrayLike<number>): Float64Array {
  const out = Float64Array.from(x);
  softmaxInPlace(out);
  return out;
}

/** Shannon entropy -sum p ln(p + 1e-16) of p[off .. off+n). */
export function entropy(p: ArrayLike<number>, off = 0, n = p.length - off): number {
  let h = 0;
  for (let i = 0; i < n; i++) h -= p[off + i] * Math.log(p[off + i] + LOG_EPS);
  return h;
}

// ---------------------------------------------------------------------------------------------
// Flat kernels of the batched agent: packed beliefs, flat [next, prev, action] transitions.

/**
 * The joint of a mean-field posterior, q(s) = prod_f q_f(s_f) (pymdp's spm_cross of the factor
 * marginals; Da Costa et al. 2020, eq. 9's q(s)), over the S = prod ns[f] joint states with
 * factor 0 most significant. Factor f's marginal is q[off + offsets[f] .. + ns[f]); writes
 * out[0 .. S) and returns it.
 */
export function jointPosterior(
  q: ArrayLike<number>,
  off: number,
  offsets: ArrayLike<number>,
  ns: readonly number[],
  out: Float64Array,
): Float64Array {
  out[0] = 1;
  let len = 1;
  for (let f = 0; f < ns.length; f++) {
    const n = ns[f];
    const qf = off + offsets[f];
    for (let i = len - 1; i >= 0; i--) {
      const a = out[i];
      for (let j = n - 1; j >= 0; j--) out[i * n + j] = a * q[qf + j];
    }
    len *= n;
  }
  return out;
}

/**
 * B·q: the states expected after action a, out[i] = sum_j B[i, j, a] q[j] (pymdp's
 * get_expected_states, SPM's B{f}(:, :, u) * x), for one factor of ns states and nu actions
 * whose B is flat [next, prev, action] at bOff. Writes out[outOff .. + ns).
 */
export function predictStates(
  B: ArrayLike<number>,
  bOff: number,
  ns: number,
  nu: number,
  a: number,
  q: ArrayLike<number>,
  qOff: number,
  out: Float64Array,
  outOff: number,
): void {
  for (let i = 0; i < ns; i++) {
    let s = 0;
    for (let j = 0; j < ns; j++) s += B[bOff + (i * ns + j) * nu + a] * q[qOff + j];
    out[outOff + i] = s;
  }
}

/**
 * The negative entropy of each column of a likelihood, negH[s] = sum_o A[o, s] ln(A[o, s] + e^-16)
 * (the ambiguity term of spm_MDP_G, with its guard), for the block [no, S] of A at `base`.
 */
export function negEntropyColumns(
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

/** Nonzeros of each column of a matrix: rows row[start[c] .. start[c+1]) with values val. */
export interface SparseColumns {
  readonly start: Int32Array;
  readonly row: Int32Array;
  readonly val: Float64Array;
}

/**
 * Column-sparse form of a flat row-major [rows, cols] matrix, `index(r, c)` giving the flat
 * index of entry (r, c); null when more than half the entries are nonzero (dense loops win).
 */
export function sparseColumns(
  data: Float64Array,
  rows: number,
  cols: number,
  index: (r: number, c: number) => number,
): SparseColumns | null {
  let nnz = 0;
  for (let i = 0; i < rows * cols; i++) if (data[i] !== 0) nnz++;
  if (nnz > (rows * cols) / 2) return null;
  const start = new Int32Array(cols + 1);
  const row = new Int32Array(nnz);
  const val = new Float64Array(nnz);
  let k = 0;
  for (let c = 0; c < cols; c++) {
    start[c] = k;
    for (let r = 0; r < rows; r++) {
      const v = data[index(r, c)];
      if (v !== 0) {
        row[k] = r;
        val[k++] = v;
      }
    }
  }
  start[cols] = k;
  return { start, row, val };
}

/**
 * spm_cross: outer product Y[i, j, k, ...] = v1[i] v2[j] v3[k] ..., singleton axes squeezed (a
 * matrix argument contributes both its axes). The cross of one tensor is itself (squeezed).
 */
export function spmCross(...xs: Tensor[]): Tensor {
  let shape: number[] = [];
  let data = new Float64Array([1]);
  for (const x of xs) {
    const xd = x.data;
    const out = new Float64Array(data.length * xd.length);
    for (let i = 0; i < data.length; i++) {
      const a = data[i];
      const o = i * xd.length;
      for (let j = 0; j < xd.length; j++) out[o + j] = a * xd[j];
    }
    data = out;
    shape = shape.concat(x.shape.filter((s) => s !== 1));
  }
  return { shape, data };
}

/**
 * spm_dot: contract the LAST K axes of X with the vectors xs[0..K-1] (xs[k] against axis
 * ndim(X) - K + k); with `omit` = k, xs[k] is skipped and its axis stays. A single vector given
 * alone (not in a list) contracts axis 0. Result squeezed.
 */
export function spmDot(X: Tensor, xs: Tensor | readonly Tensor[], omit = -1): Tensor {
  if (!Array.isArray(xs)) {
    // dot(X, x): contract axis 0 with x.
    const x = (xs as Tensor).data;
    const n0 = X.shape[0];
    if (x.length !== n0) throw GibbsError.invalid('spmDot vector', x.length, `${n0} entries`);
    const rest = X.data.length / n0;
    const out = new Float64Array(rest);
    for (let i = 0; i < n0; i++) {
      const w = x[i];
      if (w === 0) continue;
      const o = i * rest;
      for (let j = 0; j < rest; j++) out[j] += w * X.data[o + j];
    }
    return squeeze({ shape: X.shape.slice(1), data: out });
  }
  const vs = xs as readonly Tensor[];
  const K = vs.length;
  const nd = X.shape.length;
  const first = nd - K;
  if (first < 0) throw GibbsError.invalid('spmDot vectors', K, `at most ${nd} (the axes of X)`);
  let cur: Tensor = { shape: X.shape, data: X.data };
  // Contract from the last axis backwards so that earlier axis numbers stay valid.
  for (let k = K - 1; k >= 0; k--) {
    if (k === omit) continue;
    const axis = first + k;
    cur = contractAxis(cur, axis, vs[k].data);
  }
  return squeeze(cur);
}

/** Contract one axis of X with vector v (length = that axis). */
export function contractAxis(X: Tensor, axis: number, v: ArrayLike<number>): Tensor {
  const shape = X.shape;
  const n = shape[axis];
  if (v.length !== n) {
    throw GibbsError.invalid(
      'contracted vector',
      `${v.length} entries`,
      `${n} (axis ${axis} of ${fmtShape(shape)})`,
    );
  }
  let outer = 1;
  for (let i = 0; i < axis; i++) outer *= shape[i];
  let inner = 1;
  for (let i = axis + 1; i < shape.length; i++) inner *= shape[i];
  const out = new Float64Array(outer * inner);
  const d = X.data;
  for (let o = 0; o < outer; o++) {
    const base = o * n * inner;
    const ob = o * inner;
    for (let a = 0; a < n; a++) {
      const w = v[a];
      if (w === 0) continue;
      const b = base + a * inner;
      for (let j = 0; j < inner; j++) out[ob + j] += w * d[b + j];
    }
  }
  return { shape: [...shape.slice(0, axis), ...shape.slice(axis + 1)], data: out };
}

/**
 * spm_wnorm along axis 0: W = 1/sum_0(A + eps) - 1/(A + eps), the expected-log Dirichlet
 * correction used for novelty. SPM's files use eps = e^-16 (no factor 1/2); pymdp uses 1e-16.
 */
export function spmWnorm(A: Tensor, eps = EXP_M16): Tensor {
  const n0 = A.shape[0];
  const cols = A.data.length / n0;
  const out = new Float64Array(A.data.length);
  for (let c = 0; c < cols; c++) {
    let s = 0;
    for (let i = 0; i < n0; i++) s += A.data[i * cols + c] + eps;
    const inv = 1 / s;
    for (let i = 0; i < n0; i++) out[i * cols + c] = inv - 1 / (A.data[i * cols + c] + eps);
  }
  return { shape: A.shape, data: out };
}

/** ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9; relative error ~1e-15). */
export function gammaln(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - gammaln(1 - x);
  const g = 7;
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
    -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
    1.5056327351493116e-7,
  ];
  const z = x - 1;
  let a = c[0];
  const t = z + g + 0.5;
  for (let i = 1; i < 9; i++) a += c[i] / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** ln B(z) of one Dirichlet column: zero entries dropped, sum ln Γ(z_i) - ln Γ(sum z). */
export function betaln(z: ArrayLike<number>, off = 0, n = z.length - off, stride = 1): number {
  let s = 0;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const v = z[off + i * stride];
    if (v === 0) continue;
    s += gammaln(v);
    sum += v;
  }
  return s - gammaln(sum);
}

/**
 * Bayesian model reduction (spm_MDP_log_evidence): for a posterior q and prior p of Dirichlet
 * counts and a reduced prior r, the change in log evidence F and the reduced posterior s = q + r - p,
 * column by column (axis 0 holds the categories).
 */
export function dirichletLogEvidence(
  q: Tensor,
  p: Tensor,
  r: Tensor,
): { F: Float64Array; s: Tensor } {
  const n0 = q.shape[0];
  const cols = q.data.length / n0;
  if (p.data.length !== q.data.length || r.data.length !== q.data.length) {
    throw GibbsError.invalid(
      'bmr arrays',
      `${p.data.length}/${r.data.length}`,
      `${q.data.length} entries like q`,
    );
  }
  const s = new Float64Array(q.data.length);
  for (let i = 0; i < s.length; i++) s[i] = q.data[i] + r.data[i] - p.data[i];
  const F = new Float64Array(cols);
  for (let c = 0; c < cols; c++) {
    F[c] =
      betaln(q.data, c, n0, cols) +
      betaln(r.data, c, n0, cols) -
      betaln(p.data, c, n0, cols) -
      betaln(s, c, n0, cols);
  }
  return { F, s: { shape: q.shape, data: s } };
}

/** Normalise each column (axis 0) to sum to one; an all-zero column becomes uniform. */
export function normCols(A: Tensor): Tensor {
  const n0 = A.shape[0];
  const cols = A.data.length / n0;
  const out = new Float64Array(A.data.length);
  for (let c = 0; c < cols; c++) {
    let s = 0;
    for (let i = 0; i < n0; i++) s += A.data[i * cols + c];
    for (let i = 0; i < n0; i++) out[i * cols + c] = s > 0 ? A.data[i * cols + c] / s : 1 / n0;
  }
  return { shape: A.shape, data: out };
}
