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
import { EXP_M16, jointPosterior, LOG_EPS, predictStates, type Tensor } from './maths.ts';
import type { Layout, ModelArrays } from './model.ts';

// Kept reachable from here, where they were first defined.
export { type SparseColumns, sparseColumns } from './maths.ts';
export { enumeratePolicies, type Layout, type ModelShape, makeLayout } from './model.ts';

/**
 * spm_MDP_G as pymdp uses it, summed per modality: sum_m [ sum_{s: q(s) > e^-16} q(s) sum_o
 * A_m[o, s] ln(A_m[o, s] + e^-16) - qo_m . ln(qo_m + 1e-16) ], q the joint of the factor marginals
 * `x` and qo_m = sum over those same states of q(s) A_m[:, s]. General (unbatched) version.
 */
export function spmMdpG(A: readonly Tensor[], x: readonly ArrayLike<number>[]): number {
  const ns = x.map((v) => v.length);
  const S = ns.reduce((a, b) => a * b, 1);
  // The joint q(s) of the marginals, packed one factor after another.
  const offsets = Int32Array.from(ns, (_, f) => ns.slice(0, f).reduce((a, b) => a + b, 0));
  const packed = new Float64Array(ns.reduce((a, b) => a + b, 0));
  for (let f = 0; f < x.length; f++) packed.set(x[f], offsets[f]);
  const qx = jointPosterior(packed, 0, offsets, ns, new Float64Array(S));
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

/** Which parts of -G are computed. */
export interface EfeTerms {
  readonly utility: boolean;
  readonly stateInfoGain: boolean;
  /** Novelty of A and B (only where the agent has pA / pB). */
  readonly paramInfoGain: boolean;
}

/** The model arrays the policy evaluator reads (model.ts's ModelArrays; ln A is inference's). */
export type EfeParams = Omit<ModelArrays, 'lnA'>;

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
          } else predictStates(Bf, bBase, n_f, nuf, a, parentQs, pOff + off, curQs, cOff + off);
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
        jointPosterior(curQs, cOff, lay.qsOffset, ns, qx);
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
