/**
 * The generative model of a discrete active-inference agent, in pymdp's conventions:
 *
 *   A[m]  likelihood of modality m, shape [num_obs[m], num_states[0], ..., num_states[F-1]];
 *   B[f]  transitions of factor f, shape [next state, previous state, action];
 *   C[m]  log-preferences over outcomes (unnormalised; softmaxed before use);
 *   D[f]  prior over the initial state of factor f;
 *   E     habit prior over policies (optional; uniform when absent);
 *   pA, pB, pD  optional Dirichlet counts (learning and novelty).
 *
 * `validateModel` checks every shape, that every distribution sums to one, and that counts are
 * non-negative, with a GibbsError naming the array, the index and the expected shape.
 * `makeLayout` derives a batch's index tables from the model's shape, and `prepareModel` the
 * arrays a batch computes with (A from pA, ln A, ln softmax(C), novelty weights, sparse copies).
 */
import { GibbsError } from '@gibbs/core';
import { deriveFromCounts } from './learning.ts';
import {
  fmtShape,
  fromNested,
  LOG_EPS,
  negEntropyColumns,
  normCols,
  numel,
  type SparseColumns,
  softmax,
  sparseColumns,
  type Tensor,
} from './maths.ts';

export interface GenerativeModel {
  readonly A: readonly Tensor[];
  readonly B: readonly Tensor[];
  /** Per modality: [num_obs] (the same at every future step) or a tensor [num_obs, steps]. */
  readonly C: readonly (Float64Array | Tensor)[];
  readonly D: readonly Float64Array[];
  readonly E?: Float64Array | null;
  readonly pA?: readonly Tensor[] | null;
  readonly pB?: readonly Tensor[] | null;
  readonly pD?: readonly Float64Array[] | null;
}

export interface InferenceConfig {
  /** Fixed-point iteration on the current time step, or marginal message passing over a past window. */
  readonly algo: 'fpi' | 'mmp';
  readonly numIter: number;
  readonly dFTol: number;
  /** mmp only: number of past time points kept in the window (pymdp's inference_horizon). */
  readonly window?: number;
}

export interface LearningConfig {
  /** Learning rates of the Dirichlet counts (0 = not learned). */
  readonly lrA?: number;
  readonly lrB?: number;
  readonly lrD?: number;
  /**
   * Forgetting rate in [0, 1): before each update the counts decay towards their initial values,
   * p <- p0 + (1 - forget) (p - p0), so that old evidence fades and reversals are learned.
   */
  readonly forget?: number;
}

export interface AgentConfig {
  readonly policyLen: number;
  /** Policy precision. */
  readonly gamma: number;
  /** Action precision (stochastic selection). */
  readonly alpha: number;
  readonly useUtility: boolean;
  readonly useStatesInfoGain: boolean;
  readonly useParamInfoGain: boolean;
  readonly actionSelection: 'deterministic' | 'stochastic';
  readonly inference: InferenceConfig;
  readonly learning?: LearningConfig;
}

export const DEFAULT_CONFIG: AgentConfig = {
  policyLen: 1,
  gamma: 16,
  alpha: 16,
  useUtility: true,
  useStatesInfoGain: true,
  useParamInfoGain: false,
  actionSelection: 'deterministic',
  inference: { algo: 'fpi', numIter: 10, dFTol: 0.001 },
};

const SUM_TOL = 1e-6;

const axesOfA = (F: number) =>
  `[observation, ${Array.from({ length: F }, (_, f) => `state of factor ${f}`).join(', ')}]`;

function checkNonNegative(name: string, t: Tensor): void {
  for (let i = 0; i < t.data.length; i++) {
    if (!(t.data[i] >= 0)) {
      throw new GibbsError(
        `${name}${fmtIndex(t.shape, i)}: got ${t.data[i]}, expected a non-negative number (${name} has shape ${fmtShape(t.shape)})`,
        name,
        t.data[i],
        'a non-negative number',
      );
    }
  }
}

/** The index [i, j, ...] of flat position k in an array of this shape. */
export function fmtIndex(shape: readonly number[], k: number): string {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = k % shape[d];
    k = Math.floor(k / shape[d]);
  }
  return `[${idx.join(', ')}]`;
}

/** Every column (a slice along axis 0) of a conditional distribution sums to one. */
function checkColumns(name: string, t: Tensor): void {
  const n0 = t.shape[0];
  const cols = t.data.length / n0;
  for (let c = 0; c < cols; c++) {
    let s = 0;
    for (let i = 0; i < n0; i++) s += t.data[i * cols + c];
    if (Math.abs(s - 1) > SUM_TOL) {
      const rest = fmtIndex(t.shape.slice(1), c).slice(1, -1);
      throw new GibbsError(
        `${name}[:, ${rest}]: column sums to ${s}, expected 1 (${name} has shape ${fmtShape(t.shape)}; every column over axis 0 is a distribution)`,
        `${name}[:, ${rest}]`,
        s,
        'a column summing to 1',
      );
    }
  }
}

function checkDistribution(name: string, v: Float64Array): void {
  checkNonNegative(name, { shape: [v.length], data: v });
  let s = 0;
  for (const x of v) s += x;
  if (Math.abs(s - 1) > SUM_TOL) {
    throw new GibbsError(
      `${name}: sums to ${s}, expected 1 (shape [${v.length}])`,
      name,
      s,
      'a distribution summing to 1',
    );
  }
}

function expectShape(name: string, t: Tensor, shape: readonly number[], axes: string): void {
  const ok =
    t.shape.length === shape.length && t.shape.every((s, i) => shape[i] < 0 || s === shape[i]);
  if (!ok) {
    const want = shape.map((s) => (s < 0 ? 'any' : String(s)));
    throw new GibbsError(
      `${name}: got shape ${fmtShape(t.shape)}, expected [${want.join(', ')}] ${axes}`,
      name,
      fmtShape(t.shape),
      `[${want.join(', ')}]`,
    );
  }
}

/** Check a model and return its shape; `numPolicies` checks E when given. */
export function validateModel(
  model: GenerativeModel,
  numPolicies?: number,
  policyLen = 1,
): ModelShape {
  const { A, B, C, D } = model;
  if (!Array.isArray(B) || B.length === 0)
    throw GibbsError.invalid('B', B, 'a non-empty list (one array per factor)');
  if (!Array.isArray(A) || A.length === 0)
    throw GibbsError.invalid('A', A, 'a non-empty list (one array per modality)');
  const numStates: number[] = [];
  const numControls: number[] = [];
  B.forEach((b, f) => {
    if (b.shape.length !== 3 || b.shape[0] !== b.shape[1] || b.shape[0] < 1 || b.shape[2] < 1) {
      throw new GibbsError(
        `B[${f}]: got shape ${fmtShape(b.shape)}, expected [n, n, actions] ([next state, previous state, action])`,
        `B[${f}]`,
        fmtShape(b.shape),
        '[n, n, actions]',
      );
    }
    numStates.push(b.shape[0]);
    numControls.push(b.shape[2]);
    checkNonNegative(`B[${f}]`, b);
    checkColumns(`B[${f}]`, b);
  });
  const F = numStates.length;
  const numObs: number[] = [];
  A.forEach((a, m) => {
    expectShape(`A[${m}]`, a, [-1, ...numStates], axesOfA(F));
    numObs.push(a.shape[0]);
    checkNonNegative(`A[${m}]`, a);
    checkColumns(`A[${m}]`, a);
  });
  if (!Array.isArray(C) || C.length !== A.length) {
    throw GibbsError.invalid(
      'C',
      Array.isArray(C) ? `${C.length} arrays` : C,
      `${A.length} arrays (one per modality)`,
    );
  }
  C.forEach((c, m) => {
    const shape = c instanceof Float64Array ? [c.length] : c.shape;
    const ok =
      shape[0] === numObs[m] &&
      (shape.length === 1 || (shape.length === 2 && (shape[1] >= policyLen || shape[1] === 1)));
    if (!ok) {
      throw GibbsError.invalid(
        `C[${m}]`,
        `shape ${fmtShape(shape)}`,
        `[${numObs[m]}], [${numObs[m]}, 1] or [${numObs[m]}, steps >= policy_len = ${policyLen}] (one column per future step)`,
      );
    }
  });
  if (!Array.isArray(D) || D.length !== F) {
    throw GibbsError.invalid(
      'D',
      Array.isArray(D) ? `${D.length} arrays` : D,
      `${F} arrays (one per factor)`,
    );
  }
  D.forEach((d, f) => {
    if (d.length !== numStates[f])
      throw GibbsError.invalid(`D[${f}]`, `shape [${d.length}]`, `[${numStates[f]}]`);
    checkDistribution(`D[${f}]`, d);
  });
  if (model.E) {
    if (numPolicies !== undefined && model.E.length !== numPolicies) {
      throw GibbsError.invalid(
        'E',
        `shape [${model.E.length}]`,
        `[${numPolicies}] (one entry per policy)`,
      );
    }
    checkNonNegative('E', { shape: [model.E.length], data: model.E });
  }
  if (model.pA) {
    if (model.pA.length !== A.length)
      throw GibbsError.invalid('pA', `${model.pA.length} arrays`, `${A.length} (like A)`);
    model.pA.forEach((p, m) => {
      expectShape(`pA[${m}]`, p, A[m].shape, axesOfA(F));
      checkNonNegative(`pA[${m}]`, p);
    });
  }
  if (model.pB) {
    if (model.pB.length !== F)
      throw GibbsError.invalid('pB', `${model.pB.length} arrays`, `${F} (like B)`);
    model.pB.forEach((p, f) => {
      expectShape(`pB[${f}]`, p, B[f].shape, '[next state, previous state, action]');
      checkNonNegative(`pB[${f}]`, p);
    });
  }
  if (model.pD) {
    if (model.pD.length !== F)
      throw GibbsError.invalid('pD', `${model.pD.length} arrays`, `${F} (like D)`);
    model.pD.forEach((p, f) => {
      if (p.length !== numStates[f])
        throw GibbsError.invalid(`pD[${f}]`, `shape [${p.length}]`, `[${numStates[f]}]`);
      checkNonNegative(`pD[${f}]`, { shape: [p.length], data: p });
    });
  }
  return { numStates, numControls, numObs };
}

/** Dirichlet counts normalised over axis 0 (an all-zero column becomes uniform): maths.ts's normCols. */
export const normaliseCounts: (p: Tensor) => Tensor = normCols;

// ---------------------------------------------------------------------------------------------
// The model's shape and the index tables of a batch.

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

/**
 * The index tables of a batch: joint-state strides (factor 0 most significant, as pymdp's
 * spm_cross orders the joint), packed offsets of beliefs and action marginals, the joint actions
 * of one step and the policies (enumeratePolicies).
 */
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

// ---------------------------------------------------------------------------------------------
// The model prepared for a batch of agents.

/**
 * A generative model's arrays as a batch holds them: each a flat array of one block per agent
 * (stride = block size) where the agents learn it, else one block that all share (stride 0).
 */
export interface ModelArrays {
  /** A_m flat [o, joint state]. */
  readonly A: readonly Float64Array[];
  readonly aStride: readonly number[];
  /** ln(A_m + 1e-16), like A (the accuracy term of state inference). */
  readonly lnA: readonly Float64Array[];
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
  readonly sparseA: readonly (SparseColumns | null)[];
  /** Column-sparse copies of shared B_f, column a * ns + prev; null where dense. */
  readonly sparseB: readonly (SparseColumns | null)[];
}

/** What `prepareModel` gives a batch: its layout, arrays, priors D and Dirichlet counts. */
export interface PreparedModel {
  readonly layout: Layout;
  readonly params: ModelArrays;
  /** D_f, one block per agent (stride ns_f) where pD is learned, else shared (stride 0). */
  readonly D: readonly Float64Array[];
  readonly dStride: readonly number[];
  /** Dirichlet counts, one block per agent, and their initial values; null where not learned. */
  readonly pA: readonly Float64Array[] | null;
  readonly pA0: readonly Float64Array[] | null;
  readonly pB: readonly Float64Array[] | null;
  readonly pB0: readonly Float64Array[] | null;
  readonly pD: readonly Float64Array[] | null;
  readonly pD0: readonly Float64Array[] | null;
}

/** `blocks` copies of src, one after another. */
function tile(src: ArrayLike<number>, blocks: number): Float64Array {
  const out = new Float64Array(blocks * src.length);
  for (let b = 0; b < blocks; b++) out.set(src, b * src.length);
  return out;
}

/**
 * Check a model for a batch of `count` agents and prepare its arrays, as pymdp's Agent does on
 * construction:
 *   A = pA normalised over outcomes where pA is given (pymdp: A = norm_dist(pA)), with
 *       ln(A + 1e-16), negH (spm_MDP_G's ambiguity) and the novelty weights
 *       W_A = spm_wnorm(pA) * (pA > 0) (Friston et al. 2017, "Active inference, curiosity and
 *       insight", the novelty term);
 *   B = pB normalised over next states likewise, with W_B; D = pD normalised;
 *   ln C = ln(softmax(C) + 1e-16) per future step (pymdp's calc_expected_utility: a 1-D C is
 *       the same at every step, a 2-D C [outcome, step] gives one column per step).
 * An array the agents learn (a positive learning rate and its counts given) gets one block per
 * agent; the others one shared block, with a column-sparse copy where mostly zeros.
 */
export function prepareModel(
  model: GenerativeModel,
  config: AgentConfig,
  count: number,
): PreparedModel {
  if (!Number.isInteger(count) || count < 1)
    throw GibbsError.invalid('count', count, 'a positive integer (agents in the batch)');
  if (!Number.isInteger(config.policyLen) || config.policyLen < 1) {
    throw GibbsError.invalid('policyLen', config.policyLen, 'a positive integer');
  }
  const P = numPoliciesOf(model.B, config.policyLen);
  const shape = validateModel(model, P, config.policyLen);
  // Checked before the policies are enumerated (P x policyLen x factors entries).
  if (P > 1_000_000)
    throw GibbsError.invalid('policies', P, 'at most 1e6 policies (shorten policyLen)');
  const layout = makeLayout(shape, config.policyLen);
  const { S, F, M } = layout;
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
  const pA: Float64Array[] | null = learnA ? [] : null;
  const pA0: Float64Array[] | null = learnA ? [] : null;
  for (let m = 0; m < M; m++) {
    const no = layout.numObs[m];
    const size = no * S;
    const blocks = learnA ? count : 1;
    aStride.push(learnA ? size : 0);
    const src = model.pA ? model.pA[m].data : model.A[m].data;
    const counts = tile(src, blocks);
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
    for (let b = 0; b < blocks; b++) negEntropyColumns(a, b * size, no, S, negH[m], b * S);
    if (pA && pA0) {
      pA.push(counts);
      pA0.push(Float64Array.from(src));
    }
  }
  // Transitions: from pB likewise.
  const B: Float64Array[] = [];
  const bStride: number[] = [];
  const wB: (Float64Array | null)[] = [];
  const pB: Float64Array[] | null = learnB ? [] : null;
  const pB0: Float64Array[] | null = learnB ? [] : null;
  for (let f = 0; f < F; f++) {
    const ns = layout.numStates[f];
    const nu = layout.numControls[f];
    const size = ns * ns * nu;
    const blocks = learnB ? count : 1;
    bStride.push(learnB ? size : 0);
    const src = model.pB ? model.pB[f].data : model.B[f].data;
    const counts = tile(src, blocks);
    const bArr = new Float64Array(blocks * size);
    const w = model.pB && wantNovelty ? new Float64Array(blocks * size) : null;
    for (let b = 0; b < blocks; b++) {
      if (model.pB) deriveFromCounts(counts, b * size, ns, ns * nu, bArr, null, w);
      else bArr.set(src, b * size);
    }
    B.push(bArr);
    wB.push(w);
    if (pB && pB0) {
      pB.push(counts);
      pB0.push(Float64Array.from(src));
    }
  }
  // Initial states: from pD when it is learned.
  const D: Float64Array[] = [];
  const dStride: number[] = [];
  const pD: Float64Array[] | null = learnD ? [] : null;
  const pD0: Float64Array[] | null = learnD ? [] : null;
  for (let f = 0; f < F; f++) {
    const ns = layout.numStates[f];
    const blocks = learnD ? count : 1;
    dStride.push(learnD ? ns : 0);
    const d = new Float64Array(blocks * ns);
    if (learnD && model.pD && pD && pD0) {
      const counts = tile(model.pD[f], blocks);
      for (let b = 0; b < blocks; b++) deriveFromCounts(counts, b * ns, ns, 1, d, null, null);
      pD.push(counts);
      pD0.push(Float64Array.from(model.pD[f]));
    } else d.set(model.D[f]);
    D.push(d);
  }
  // ln(softmax(C) + 1e-16) for each future step: a 1-D C is the same at every step, a 2-D C
  // ([outcome, step]) gives one column per step (pymdp tiles / indexes C the same way).
  const lnC = model.C.map((c, m) => {
    const no = layout.numObs[m];
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
  const params: ModelArrays = {
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
      aStride[m] === 0 ? sparseColumns(a, layout.numObs[m], S, (r, c) => r * S + c) : null,
    ),
    sparseB: B.map((b, f) => {
      const ns = layout.numStates[f];
      const nu = layout.numControls[f];
      // Column a * ns + prev holds B[:, prev, a] at flat (next * ns + prev) * nu + a.
      return bStride[f] === 0
        ? sparseColumns(b, ns, ns * nu, (r, c) => (r * ns + (c % ns)) * nu + Math.floor(c / ns))
        : null;
    }),
  };
  return { layout, params, D, dStride, pA, pA0, pB, pB0, pD, pD0 };
}

// ---------------------------------------------------------------------------------------------
// The JSON case format (`gibbs aif replay`): snake_case keys, nested arrays.

export interface ReplayCase {
  readonly model: GenerativeModel;
  readonly config: AgentConfig;
  /** observations[t][m]: outcome index of modality m at step t. */
  readonly observations: readonly (readonly number[])[];
}

type Json = Record<string, unknown>;

function tensorList(json: Json, key: string, required: boolean): Tensor[] | null {
  const v = json[key];
  if (v === undefined || v === null) {
    if (required) throw GibbsError.invalid(`model.${key}`, v, 'a list of nested arrays');
    return null;
  }
  if (!Array.isArray(v)) throw GibbsError.invalid(`model.${key}`, v, 'a list of nested arrays');
  return v.map((x, i) => fromNested(x, `${key}[${i}]`));
}

function vectorList(json: Json, key: string, required: boolean): Float64Array[] | null {
  const ts = tensorList(json, key, required);
  if (!ts) return null;
  return ts.map((t, i) => {
    if (t.shape.length !== 1)
      throw GibbsError.invalid(
        `${key}[${i}]`,
        `shape ${fmtShape(t.shape)}`,
        'a flat list of numbers',
      );
    return t.data;
  });
}

function num(
  json: Json,
  key: string,
  dflt: number,
  check: (x: number) => boolean,
  expected: string,
): number {
  const v = json[key];
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !check(v)) throw GibbsError.invalid(`model.${key}`, v, expected);
  return v;
}

function bool(json: Json, key: string, dflt: boolean): boolean {
  const v = json[key];
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw GibbsError.invalid(`model.${key}`, v, 'true or false');
  return v;
}

/** Parse a case file's content (already JSON-parsed); unknown top-level keys are ignored. */
export function parseCase(json: unknown): ReplayCase {
  if (typeof json !== 'object' || json === null)
    throw GibbsError.invalid('case', json, 'a JSON object with model and observations');
  const root = json as Json;
  const m = root.model;
  if (typeof m !== 'object' || m === null || Array.isArray(m))
    throw GibbsError.invalid('model', m, 'an object');
  const mj = m as Json;
  const A = tensorList(mj, 'A', true) as Tensor[];
  const B = tensorList(mj, 'B', true) as Tensor[];
  const C: (Float64Array | Tensor)[] =
    tensorList(mj, 'C', false)?.map((t) => (t.shape.length === 1 ? t.data : t)) ??
    A.map((a) => new Float64Array(a.shape[0]));
  const D =
    vectorList(mj, 'D', false) ?? B.map((b) => new Float64Array(b.shape[0]).fill(1 / b.shape[0]));
  const E = mj.E === undefined || mj.E === null ? null : fromNested(mj.E, 'E');
  if (E && E.shape.length !== 1)
    throw GibbsError.invalid(
      'E',
      `shape ${fmtShape(E.shape)}`,
      'a flat list (one entry per policy)',
    );
  const pA = tensorList(mj, 'pA', false);
  const pB = tensorList(mj, 'pB', false);
  const pD = vectorList(mj, 'pD', false);
  const inf = (mj.inference ?? {}) as Json;
  const algo = inf.algo ?? 'fpi';
  if (algo !== 'fpi' && algo !== 'mmp')
    throw GibbsError.invalid('model.inference.algo', algo, '"fpi" or "mmp"');
  const sel = mj.action_selection ?? 'deterministic';
  if (sel !== 'deterministic' && sel !== 'stochastic') {
    throw GibbsError.invalid('model.action_selection', sel, '"deterministic" or "stochastic"');
  }
  const config: AgentConfig = {
    policyLen: num(
      mj,
      'policy_len',
      1,
      (x) => Number.isInteger(x) && x >= 1 && x <= 8,
      'an integer in [1, 8]',
    ),
    gamma: num(mj, 'gamma', 16, Number.isFinite, 'a finite number'),
    alpha: num(mj, 'alpha', 16, Number.isFinite, 'a finite number'),
    useUtility: bool(mj, 'use_utility', true),
    useStatesInfoGain: bool(mj, 'use_states_info_gain', true),
    useParamInfoGain: bool(mj, 'use_param_info_gain', false),
    actionSelection: sel,
    inference: {
      algo,
      numIter: num(inf, 'num_iter', 10, (x) => Number.isInteger(x) && x >= 1, 'a positive integer'),
      dFTol: num(inf, 'dF_tol', 0.001, (x) => x >= 0, 'a number >= 0'),
      window: num(inf, 'window', 3, (x) => Number.isInteger(x) && x >= 1, 'a positive integer'),
    },
  };
  const model: GenerativeModel = { A, B, C, D, E: E?.data ?? null, pA, pB, pD };
  const shape = validateModel(model, numPoliciesOf(B, config.policyLen), config.policyLen);
  const obs = root.observations;
  if (!Array.isArray(obs))
    throw GibbsError.invalid(
      'observations',
      obs,
      'a list over time of one outcome index per modality',
    );
  const observations = obs.map((o, t) => {
    if (!Array.isArray(o) || o.length !== shape.numObs.length) {
      throw GibbsError.invalid(
        `observations[${t}]`,
        o,
        `a list of ${shape.numObs.length} outcome indices (one per modality)`,
      );
    }
    return o.map((x, mm) => {
      if (!Number.isInteger(x) || x < 0 || x >= shape.numObs[mm]) {
        throw GibbsError.invalid(
          `observations[${t}][${mm}]`,
          x,
          `an integer in [0, ${shape.numObs[mm]}) (A[${mm}] has shape ${fmtShape(A[mm].shape)})`,
        );
      }
      return x as number;
    });
  });
  return { model, config, observations };
}

export function numPoliciesOf(B: readonly Tensor[], policyLen: number): number {
  return numel(B.map((b) => b.shape[2])) ** policyLen;
}
