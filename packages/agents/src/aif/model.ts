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
 */
import { GibbsError } from '@gibbs/core';
import type { ModelShape } from './control.ts';
import { fmtShape, fromNested, numel, type Tensor } from './maths.ts';

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

/** Dirichlet counts normalised over axis 0 (an all-zero column becomes uniform). */
export function normaliseCounts(p: Tensor): Tensor {
  const n0 = p.shape[0];
  const cols = p.data.length / n0;
  const out = new Float64Array(p.data.length);
  for (let c = 0; c < cols; c++) {
    let s = 0;
    for (let i = 0; i < n0; i++) s += p.data[i * cols + c];
    for (let i = 0; i < n0; i++) out[i * cols + c] = s > 0 ? p.data[i * cols + c] / s : 1 / n0;
  }
  return { shape: p.shape, data: out };
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
