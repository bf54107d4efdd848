/**
 * Policy inference: expected free energy of every policy, the policy posterior and the action
 * marginals (pymdp's `control.py`, SPM's spm_MDP_G), batched over agents.
 *
 * For a policy pi of length L, expected states roll the transitions forward from the current
 * posterior, qs_pi(tau+1)_f = B_f[:, :, pi(tau, f)] qs_pi(tau)_f, and
 *
 *   -G(pi) = sum_{tau=1..L} sum_m [ qo_m . ln softmax(C_m)                       expected utility
 *                                  + I(o_m; s)                                    state info gain
 *                                  - qo_m . (W_A,m . qs_pi(tau)) ]                novelty of A
 *            - sum_tau sum_f qs_pi(tau)_f . (W_B,f[:, :, pi(tau, f)] qs_pi(tau-1)_f)  novelty of B
 *
 *   q(pi) = softmax(gamma (-G) + ln E)
 *
 * with qo_m = A_m . qs_pi(tau) (joint over factors), I(o_m; s) = sum_s q(s) sum_o A ln(A + e^-16)
 * - qo . ln(qo + 1e-16) per modality (pymdp's spm_MDP_G), W = 1/sum(p) - 1/p of the Dirichlet
 * counts (spm_wnorm). Policies share their prefixes, so the terms are computed once per node of
 * the policy tree (K + K^2 + ... + K^L nodes instead of L K^L) and summed along each path.
 */
import type { Rng } from '@gibbs/core';
import { EXP_M16, LOG_EPS, type Tensor } from './maths.ts';

/** The shape of a generative model, shared by every agent of a batch. */
export interface ModelShape {
  readonly numStates: readonly number[];
  readonly numControls: readonly number[];
  readonly numObs: readonly number[];
}

/** Index tables derived from a ModelShape and a policy length, computed once per batch. */
export interface Layout extends ModelShape {
  readonly F: number;
  readonly M: number;
  /** Joint states S = prod numStates; joint index with factor 0 most significant. */
  readonly S: number;
  readonly stateStride: Int32Array;
  /** Offset of factor f in a packed belief vector (length Q = sum numStates). */
  readonly qsOffset: Int32Array;
  readonly Q: number;
  /** Offset of factor f in a packed action-marginal vector (length U = sum numControls). */
  readonly uOffset: Int32Array;
  readonly U: number;
  /** Joint actions per step K = prod numControls; jointAction[k * F + f] = action of f. */
  readonly K: number;
  readonly jointAction: Int32Array;
  readonly policyLen: number;
  /** Number of policies K^L. */
  readonly P: number;
  /** policies[(p * L + tau) * F + f]: action of factor f at step tau of policy p. */
  readonly policies: Int32Array;
}

export function makeLayout(shape: ModelShape, policyLen: number): Layout {
  const F = shape.numStates.length;
  const M = shape.numObs.length;
  const stateStride = new Int32Array(F);
  let S = 1;
  for (let f = F - 1; f >= 0; f--) {
    stateStride[f] = S;
    S *= shape.numStates[f];
  }
  const qsOffset = new Int32Array(F);
  let Q = 0;
  const uOffset = new Int32Array(F);
  let U = 0;
  for (let f = 0; f < F; f++) {
    qsOffset[f] = Q;
    Q += shape.numStates[f];
    uOffset[f] = U;
    U += shape.numControls[f];
  }
  const K = shape.numControls.reduce((a, b) => a * b, 1);
  const jointAction = new Int32Array(K * F);
  for (let k = 0; k < K; k++) {
    let r = k;
    for (let f = F - 1; f >= 0; f--) {
      jointAction[k * F + f] = r % shape.numControls[f];
      r = Math.floor(r / shape.numControls[f]);
    }
  }
  const policies = enumeratePolicies(shape.numControls, policyLen);
  return {
    ...shape,
    F,
    M,
    S,
    stateStride,
    qsOffset,
    Q,
    uOffset,
    U,
    K,
    jointAction,
    policyLen,
    P: K ** policyLen,
    policies,
  };
}

/**
 * pymdp's construct_policies: itertools.product over range(numControls[f]) for every factor,
 * repeated policyLen times, (step 0, factor 0) most significant; uncontrolled factors (one
 * control state) always take 0. Flat [policy][step][factor].
 */
export function enumeratePolicies(numControls: readonly number[], policyLen: number): Int32Array {
  const F = numControls.length;
  const digits = policyLen * F;
  const radix = Array.from({ length: digits }, (_, i) => numControls[i % F]);
  const P = radix.reduce((a, b) => a * b, 1);
  const out = new Int32Array(P * digits);
  for (let p = 0; p < P; p++) {
    let r = p;
    for (let i = digits - 1; i >= 0; i--) {
      out[p * digits + i] = r % radix[i];
      r = Math.floor(r / radix[i]);
    }
  }
  return out;
}

/**
 * spm_MDP_G as pymdp uses it, summed per modality: sum_m [ sum_{s: q(s) > e^-16} q(s) sum_o
 * A_m[o, s] ln(A_m[o, s] + e^-16) - qo_m . ln(qo_m + 1e-16) ], q the joint of the factor marginals
 * `x` and qo_m = sum over those same states of q(s) A_m[:, s]. General (unbatched) version.
 */
export function spmMdpG(A: readonly Tensor[], x: readonly ArrayLike<number>[]): number {
  const ns = x.map((v) => v.length);
  const S = ns.reduce((a, b) => a * b, 1);
  const qx = jointOf(x, ns, S);
  let G = 0;
  for (const Am of A) {
    const no = Am.shape[0];
    const qo = new Float64Array(no);
    for (let s = 0; s < S; s++) {
      if (!(qx[s] > EXP_M16)) continue;
      let negH = 0;
      for (let o = 0; o < no; o++) {
        const p = Am.data[o * S + s];
        qo[o] += qx[s] * p;
        negH += p * Math.log(p + EXP_M16);
      }
      G += qx[s] * negH;
    }
    for (let o = 0; o < no; o++) G -= qo[o] * Math.log(qo[o] + LOG_EPS);
  }
  return G;
}

function jointOf(x: readonly ArrayLike<number>[], ns: readonly number[], S: number): Float64Array {
  const qx = new Float64Array(S);
  qx[0] = 1;
  let len = 1;
  for (let f = 0; f < x.length; f++) {
    const n = ns[f];
    for (let i = len - 1; i >= 0; i--) {
      const a = qx[i];
      for (let j = n - 1; j >= 0; j--) qx[i * n + j] = a * x[f][j];
    }
    len *= n;
  }
  return qx;
}

/** Which parts of -G are computed. */
export interface EfeTerms {
  readonly utility: boolean;
  readonly stateInfoGain: boolean;
  /** Novelty of A and B (only where the agent has pA / pB). */
  readonly paramInfoGain: boolean;
}

/**
 * Parameters the policy evaluator reads, each a flat array holding one block per agent (stride =
 * block size) or a single shared block (stride 0).
 */
export interface EfeParams {
  /** A_m flat [o, joint state]. */
  readonly A: readonly Float64Array[];
  readonly aStride: readonly number[];
  /** negH_m[s] = sum_o A_m[o, s] ln(A_m[o, s] + e^-16), same stride as A_m / numObs. */
  readonly negH: readonly Float64Array[];
  /** ln(softmax(C_m) + 1e-16) per future step, shared: flat [step tau = 1..L][outcome]. */
  readonly lnC: readonly Float64Array[];
  /** Novelty weights W_A,m * (pA_m > 0), like A; null without pA. */
  readonly wA: readonly (Float64Array | null)[] | null;
  /** B_f flat [next, prev, action]. */
  readonly B: readonly Float64Array[];
  readonly bStride: readonly number[];
  /** Novelty weights W_B,f * (pB_f > 0), like B; null without pB. */
  readonly wB: readonly (Float64Array | null)[] | null;
  /** Column-sparse copies of shared (stride 0) A_m, columns = joint states; null where dense. */
  readonly sparseA?: readonly (SparseColumns | null)[];
  /** Column-sparse copies of shared B_f, column a * ns + prev; null where dense. */
  readonly sparseB?: readonly (SparseColumns | null)[];
}

/** Nonzeros of each column of a matrix: rows row[start[c] .. start[c+1]) with values val. */
export interface SparseColumns {
  readonly start: Int32Array;
  readonly row: Int32Array;
  readonly val: Float64Array;
}

/**
 * Column-sparse form of a flat row-major [rows, cols] matrix, `colOf(r, c)` giving the flat
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

/** Output buffers of a batch, agent-major: [agent][policy] and [agent][packed marginal]. */
export interface EfeOutputs {
  readonly utility: Float64Array;
  readonly stateInfoGain: Float64Array;
  readonly paramInfoGain: Float64Array;
  readonly negEfe: Float64Array;
  readonly qPi: Float64Array;
  readonly marginals: Float64Array;
}

export function allocEfeOutputs(layout: Layout, n: number): EfeOutputs {
  return {
    utility: new Float64Array(n * layout.P),
    stateInfoGain: new Float64Array(n * layout.P),
    paramInfoGain: new Float64Array(n * layout.P),
    negEfe: new Float64Array(n * layout.P),
    qPi: new Float64Array(n * layout.P),
    marginals: new Float64Array(n * layout.U),
  };
}

/** Evaluates policies for one agent at a time over shared scratch (no allocation per call). */
export class PolicyEvaluator {
  private readonly nodeQs: Float64Array[];
  private readonly nodeU: Float64Array[];
  private readonly nodeSig: Float64Array[];
  private readonly nodePig: Float64Array[];
  private readonly qx: Float64Array;
  private readonly qxF: Float64Array;
  private readonly qo: Float64Array;
  private readonly qoF: Float64Array;
  private readonly lnE: Float64Array;

  constructor(
    readonly layout: Layout,
    E: ArrayLike<number> | null,
  ) {
    const { K, policyLen: L, Q, S } = layout;
    this.nodeQs = [];
    this.nodeU = [];
    this.nodeSig = [];
    this.nodePig = [];
    for (let d = 0; d <= L; d++) {
      const nodes = K ** d;
      this.nodeQs.push(new Float64Array(nodes * Q));
      this.nodeU.push(new Float64Array(nodes));
      this.nodeSig.push(new Float64Array(nodes));
      this.nodePig.push(new Float64Array(nodes));
    }
    this.qx = new Float64Array(S);
    this.qxF = new Float64Array(S);
    const maxObs = Math.max(1, ...layout.numObs);
    this.qo = new Float64Array(maxObs);
    this.qoF = new Float64Array(maxObs);
    this.lnE = new Float64Array(layout.P);
    for (let p = 0; p < layout.P; p++) this.lnE[p] = Math.log((E ? E[p] : 1 / layout.P) + LOG_EPS);
  }

  /**
   * -G and its parts for every policy of agent n (beliefs qs[qsOff .. qsOff + Q)), then q(pi) and
   * the normalised action marginals, into `out` at row n.
   */
  evaluate(
    n: number,
    qs: Float64Array,
    qsOff: number,
    params: EfeParams,
    terms: EfeTerms,
    gamma: number,
    out: EfeOutputs,
  ): void {
    const lay = this.layout;
    const { F, M, S, K, Q, policyLen: L, P } = lay;
    const ns = lay.numStates;
    const nu = lay.numControls;
    const root = this.nodeQs[0];
    for (let i = 0; i < Q; i++) root[i] = qs[qsOff + i];
    const novA = terms.paramInfoGain && params.wA !== null;
    const novB = terms.paramInfoGain && params.wB !== null;
    const qx = this.qx;
    const qxF = this.qxF;
    const qo = this.qo;
    const qoF = this.qoF;
    for (let d = 1; d <= L; d++) {
      const parentQs = this.nodeQs[d - 1];
      const curQs = this.nodeQs[d];
      const nodeU = this.nodeU[d];
      const nodeSig = this.nodeSig[d];
      const nodePig = this.nodePig[d];
      const nodes = K ** d;
      for (let node = 0; node < nodes; node++) {
        const parent = Math.floor(node / K);
        const k = node - parent * K;
        const pOff = parent * Q;
        const cOff = node * Q;
        let pig = 0;
        // Expected states: qs_pi(tau)_f = B_f[:, :, a_f] qs_pi(tau-1)_f.
        for (let f = 0; f < F; f++) {
          const a = lay.jointAction[k * F + f];
          const n_f = ns[f];
          const nuf = nu[f];
          const Bf = params.B[f];
          const bBase = n * params.bStride[f];
          const off = lay.qsOffset[f];
          const sp = params.sparseB?.[f];
          if (sp) {
            // Shared sparse B: scatter each column B[:, j, a] weighted by qs(j).
            const co = cOff + off;
            curQs.fill(0, co, co + n_f);
            for (let j = 0; j < n_f; j++) {
              const w = parentQs[pOff + off + j];
              if (w === 0) continue;
              const col = a * n_f + j;
              for (let k = sp.start[col]; k < sp.start[col + 1]; k++)
                curQs[co + sp.row[k]] += sp.val[k] * w;
            }
          } else {
            for (let i = 0; i < n_f; i++) {
              let s = 0;
              const row = bBase + i * n_f * nuf + a;
              for (let j = 0; j < n_f; j++) s += Bf[row + j * nuf] * parentQs[pOff + off + j];
              curQs[cOff + off + i] = s;
            }
          }
          const wBf = novB ? (params.wB as (Float64Array | null)[])[f] : null;
          if (wBf) {
            // - qs_pi(tau)_f . (W_B[:, :, a] qs_pi(tau-1)_f)
            for (let i = 0; i < n_f; i++) {
              let s = 0;
              const row = bBase + i * n_f * nuf + a;
              for (let j = 0; j < n_f; j++) s += wBf[row + j * nuf] * parentQs[pOff + off + j];
              pig -= curQs[cOff + off + i] * s;
            }
          }
        }
        // Joint expected state (factor 0 most significant), and its copy without entries <= e^-16.
        qx[0] = 1;
        let len = 1;
        for (let f = 0; f < F; f++) {
          const n_f = ns[f];
          const off = cOff + lay.qsOffset[f];
          for (let i = len - 1; i >= 0; i--) {
            const a = qx[i];
            for (let j = n_f - 1; j >= 0; j--) qx[i * n_f + j] = a * curQs[off + j];
          }
          len *= n_f;
        }
        // spm_MDP_G sums only over states with q(s) > e^-16; usually none is below.
        let filtered = false;
        for (let s = 0; s < S; s++) {
          if (!(qx[s] > EXP_M16)) {
            filtered = true;
            break;
          }
        }
        const qxG = filtered ? qxF : qx;
        if (filtered) for (let s = 0; s < S; s++) qxF[s] = qx[s] > EXP_M16 ? qx[s] : 0;
        let util = 0;
        let sig = 0;
        for (let m = 0; m < M; m++) {
          const no = lay.numObs[m];
          const Am = params.A[m];
          const aBase = n * params.aStride[m];
          const wAm = novA ? (params.wA as (Float64Array | null)[])[m] : null;
          const sp = params.sparseA?.[m];
          if (sp) {
            // Shared sparse A: scatter each column A[:, s] weighted by q(s).
            qo.fill(0, 0, no);
            for (let s = 0; s < S; s++) {
              const w = qx[s];
              if (w === 0) continue;
              for (let k = sp.start[s]; k < sp.start[s + 1]; k++) qo[sp.row[k]] += sp.val[k] * w;
            }
            if (filtered) {
              qoF.fill(0, 0, no);
              for (let s = 0; s < S; s++) {
                const w = qxF[s];
                if (w === 0) continue;
                for (let k = sp.start[s]; k < sp.start[s + 1]; k++) qoF[sp.row[k]] += sp.val[k] * w;
              }
            }
          } else {
            for (let o = 0; o < no; o++) {
              const row = aBase + o * S;
              let s1 = 0;
              for (let s = 0; s < S; s++) s1 += Am[row + s] * qx[s];
              qo[o] = s1;
              if (filtered) {
                let s2 = 0;
                for (let s = 0; s < S; s++) s2 += Am[row + s] * qxF[s];
                qoF[o] = s2;
              }
            }
          }
          const qoG = filtered ? qoF : qo;
          if (wAm) {
            for (let o = 0; o < no; o++) {
              const row = aBase + o * S;
              let w = 0;
              for (let s = 0; s < S; s++) w += wAm[row + s] * qx[s];
              pig -= qo[o] * w;
            }
          }
          if (terms.utility) {
            const lnC = params.lnC[m];
            const cOff = (d - 1) * no;
            for (let o = 0; o < no; o++) util += qo[o] * lnC[cOff + o];
          }
          if (terms.stateInfoGain) {
            const negH = params.negH[m];
            const hBase = (n * params.aStride[m]) / no;
            for (let s = 0; s < S; s++) sig += qxG[s] * negH[hBase + s];
            for (let o = 0; o < no; o++) sig -= qoG[o] * Math.log(qoG[o] + LOG_EPS);
          }
        }
        nodeU[node] = util;
        nodeSig[node] = sig;
        nodePig[node] = novA || novB ? pig : 0;
      }
    }
    // Sum the node terms along each policy's path; q(pi) = softmax(gamma (-G) + ln E).
    const base = n * P;
    let max = Number.NEGATIVE_INFINITY;
    for (let p = 0; p < P; p++) {
      let u = 0;
      let sg = 0;
      let pg = 0;
      for (let d = 1; d <= L; d++) {
        const node = Math.floor(p / K ** (L - d));
        u += this.nodeU[d][node];
        sg += this.nodeSig[d][node];
        pg += this.nodePig[d][node];
      }
      out.utility[base + p] = u;
      out.stateInfoGain[base + p] = sg;
      out.paramInfoGain[base + p] = pg;
      const g = u + sg + pg;
      out.negEfe[base + p] = g;
      const z = gamma * g + this.lnE[p];
      out.qPi[base + p] = z;
      if (z > max) max = z;
    }
    let sum = 0;
    for (let p = 0; p < P; p++) {
      const e = Math.exp(out.qPi[base + p] - max);
      out.qPi[base + p] = e;
      sum += e;
    }
    for (let p = 0; p < P; p++) out.qPi[base + p] /= sum;
    // Action marginals: sum of q(pi) over the policies whose first step takes action a.
    const uBase = n * lay.U;
    out.marginals.fill(0, uBase, uBase + lay.U);
    const first = K ** (L - 1);
    for (let p = 0; p < P; p++) {
      const k = Math.floor(p / first);
      for (let f = 0; f < F; f++)
        out.marginals[uBase + lay.uOffset[f] + lay.jointAction[k * F + f]] += out.qPi[base + p];
    }
    for (let f = 0; f < F; f++) {
      const off = uBase + lay.uOffset[f];
      let s = 0;
      for (let a = 0; a < nu[f]; a++) s += out.marginals[off + a];
      for (let a = 0; a < nu[f]; a++) out.marginals[off + a] /= s;
    }
  }
}

/**
 * Pick an action per factor from normalised marginals: the argmax (first on ties) when
 * deterministic, else a draw from softmax(alpha ln(marginal + 1e-16)).
 */
export function selectActions(
  layout: Layout,
  marginals: Float64Array,
  mOff: number,
  out: Int32Array,
  outOff: number,
  stochastic: boolean,
  alpha: number,
  rng: Rng | null,
  scratch: Float64Array,
): void {
  for (let f = 0; f < layout.F; f++) {
    const off = mOff + layout.uOffset[f];
    const nu = layout.numControls[f];
    if (!stochastic || !rng) {
      let best = 0;
      for (let a = 1; a < nu; a++) if (marginals[off + a] > marginals[off + best]) best = a;
      out[outOff + f] = best;
      continue;
    }
    let max = Number.NEGATIVE_INFINITY;
    for (let a = 0; a < nu; a++) {
      scratch[a] = alpha * Math.log(marginals[off + a] + LOG_EPS);
      if (scratch[a] > max) max = scratch[a];
    }
    for (let a = 0; a < nu; a++) scratch[a] = Math.exp(scratch[a] - max);
    out[outOff + f] = rng.categorical(scratch, 0, nu);
  }
}
