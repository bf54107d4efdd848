/**
 * SPM conformance: every file of test/conformance/spm reproduced to np.isclose's defaults
 * (rtol 1e-5, atol 1e-8), following that folder's README.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { spmMdpG } from '../src/aif/control.ts';
import {
  dirichletLogEvidence,
  fromNested,
  softmax,
  spmCross,
  spmDot,
  spmLog,
  spmWnorm,
  type Tensor,
  tensor,
} from '../src/aif/maths.ts';
import { runMmp } from '../src/aif/mmp.ts';

const SPM = resolve(import.meta.dirname, 'conformance/spm');
// biome-ignore lint/suspicious/noExplicitAny: JSON of the conformance files
const load = (name: string): any => JSON.parse(readFileSync(resolve(SPM, `${name}.json`), 'utf8'));
const T = (x: unknown, name = 'x'): Tensor => fromNested(x, name);

/** np.isclose(a, b) elementwise with rtol 1e-5, atol 1e-8; reports the worst entry. */
function expectClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  rtol = 1e-5,
  atol = 1e-8,
) {
  expect(actual.length).toBe(expected.length);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < actual.length; i++) {
    const excess = Math.abs(actual[i] - expected[i]) - (atol + rtol * Math.abs(expected[i]));
    if (!(excess <= 0) && (worst < 0 || excess > worstExcess)) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) expect.fail(`entry ${worst}: got ${actual[worst]}, expected ${expected[worst]}`);
}

describe('spm_cross', () => {
  it('cross_a: the cross of one vector is itself', () => {
    const d = load('cross_a');
    const r = spmCross(T(d.s[0]));
    expect(r.shape).toEqual([5]);
    expectClose(r.data, T(d.result1).data);
    expectClose(r.data, T(d.result2).data);
  });
  it('cross_b: two vectors', () => {
    const d = load('cross_b');
    const r = spmCross(T(d.s[0]), T(d.s[1]));
    expect(r.shape).toEqual([5, 2]);
    expectClose(r.data, T(d.result1).data);
    expectClose(r.data, T(d.result2).data);
  });
  it('cross_c: a vector and a matrix', () => {
    const d = load('cross_c');
    const r = spmCross(T(d.random_vec), T(d.random_matrix));
    expect(r.shape).toEqual([5, 3, 2]);
    expectClose(r.data, T(d.result1).data);
  });
  it('cross_d: a vector and a cell of three', () => {
    const d = load('cross_d');
    const r = spmCross(T(d.random_vec), ...d.s.map((x: unknown) => T(x)));
    expect(r.shape).toEqual([5, 4, 3, 2]);
    expectClose(r.data, T(d.result1).data);
  });
  it('cross_e: two cells', () => {
    const d = load('cross_e');
    const r = spmCross(...d.s1.map((x: unknown) => T(x)), ...d.s2.map((x: unknown) => T(x)));
    expect(r.shape).toEqual([5, 2, 3, 5]);
    expectClose(r.data, T(d.result1).data);
  });
});

describe('spm_dot', () => {
  for (const name of ['dot_a', 'dot_b', 'dot_c', 'dot_d', 'dot_e']) {
    it(`${name}: contract outcomes, all states, all states but the first`, () => {
      const d = load(name);
      const A = T(d.A);
      // dot_a/b store s as one 1x2 row (factor 1 only); c/d/e as a cell of rows.
      const states: Tensor[] =
        name === 'dot_a' || name === 'dot_b' ? [T(d.s)] : d.s.map((x: unknown) => T(x));
      expectClose(spmDot(A, T(d.o)).data, T(d.result1).data);
      expectClose(spmDot(A, states).data, T(d.result2).data);
      expectClose(spmDot(A, states, 0).data, T(d.result3).data);
    });
  }
});

describe('spm_wnorm', () => {
  it('wnorm_a', () => {
    const d = load('wnorm_a');
    expectClose(spmWnorm(T(d.A)).data, T(d.result).data);
  });
  it('wnorm_b', () => {
    const d = load('wnorm_b');
    expectClose(spmWnorm(T(d.A[0])).data, T(d.result_1).data);
    expectClose(spmWnorm(T(d.A[1])).data, T(d.result_2).data);
  });
});

describe('Bayesian model reduction (spm_MDP_log_evidence)', () => {
  it('bmr_test_a: F over a 128 x 128 grid of posteriors', () => {
    const d = load('bmr_test_a');
    const x = Array.from({ length: 128 }, (_, i) => 1 + (31 * i) / 127);
    const F = new Float64Array(128 * 128);
    const p = tensor([2, 1], [1, 1]);
    const r = tensor([2, 1], [1, 8]);
    for (let i = 0; i < 128; i++)
      for (let j = 0; j < 128; j++)
        F[i * 128 + j] = dirichletLogEvidence(tensor([2, 1], [x[i], x[j]]), p, r).F[0];
    expectClose(F, T(d.F).data);
  });
  it('bmr_test_b: three reduced models', () => {
    const d = load('bmr_test_b');
    const q = T(d.q_dir).data;
    const p = T(d.p_dir).data;
    const r = T(d.r_dir);
    const tile = (v: Float64Array) =>
      tensor(
        [8, 3],
        Array.from({ length: 24 }, (_, k) => v[Math.floor(k / 3)]),
      );
    const out = dirichletLogEvidence(tile(q), tile(p), r);
    expectClose(out.F, T(d.F).data);
    expectClose(out.s.data, T(d.s_dir).data);
  });
});

describe('marginal message passing (run_mmp)', () => {
  for (const name of ['mmp_a', 'mmp_b', 'mmp_c', 'mmp_d']) {
    it(`${name}: posterior at the last updated time point`, () => {
      const d = load(name);
      const A: Tensor[] = d.A.map((a: unknown, m: number) => fromNested(a, `A[${m}]`));
      const B: Tensor[] = d.B.map((b: unknown, f: number) => fromNested(b, `B[${f}]`));
      const F = B.length;
      const t: number = d.t[0][0];
      const W: number = d.t_horizon[0][0];
      const obs: number[][] = d.obs_idx;
      // L_j = prod_g A_g[obs_g(j)], checked against the file's likelihoods.
      const likelihoods: Float64Array[] = [];
      for (let j = 0; j <= t; j++) {
        const S = A[0].data.length / A[0].shape[0];
        const L = new Float64Array(S).fill(1);
        A.forEach((Ag, g) => {
          const o = obs[g][j];
          for (let s = 0; s < S; s++) L[s] *= Ag.data[o * S + s];
        });
        expectClose(L, T(d.likelihoods[j]).data);
        likelihoods.push(L);
      }
      const prev: number[][] = Array.isArray(d.previous_actions) ? d.previous_actions : [];
      const policy: number[] = d.policy[0];
      const P = name === 'mmp_d' ? prev : [...prev, policy];
      const last = P.length;
      const res = runMmp({
        likelihoods,
        B,
        transitions: P,
        D: B.map((b) => new Float64Array(b.shape[0]).fill(1 / b.shape[0])),
        t,
        start: Math.max(0, t - W),
        last,
        numIter: 5,
        tau: 0.25,
      });
      for (let f = 0; f < F; f++) expectClose(res.x[f][last], T(d.qs[f]).data);
    });
  }
});

describe('spm_MDP_VB_X run (vbx_test_1a)', () => {
  it('reproduces every xn/vn message and the 9 actions', () => {
    const d = load('vbx_test_1a');
    const A = T(d.A[0]);
    const B = T(d.B[0]);
    const Craw = T(d.C[0]);
    const [no, ns] = A.shape;
    const xn = T(d.xn[0]); // [iter][state][j][t][k], shape 10x3x10x10x3
    const vn = T(d.vn[0]);
    const obs: number[] = d.obs[0];
    const W: number = d.t_horizon[0][0];
    const Tn = 10;
    const K = 3;
    // lnC per time column: spm_log(softmax(C[:, j]))
    const lnC: Float64Array[] = [];
    for (let j = 0; j < Tn; j++) {
      const col = Float64Array.from({ length: no }, (_, o) => Craw.data[o * Tn + j]);
      lnC.push(Float64Array.from(softmax(col), spmLog));
    }
    const D = new Float64Array(ns).fill(1 / ns);
    const uniform = () => Array.from({ length: Tn }, () => new Float64Array(ns).fill(1 / ns));
    const pm: number[][] = [[0, 1, 2]];
    let x: Float64Array[][] = [uniform(), uniform(), uniform()]; // x[k][j]
    let dsep: Float64Array[] = [0, 1, 2].map(() => new Float64Array(ns).fill(1 / ns));
    const likelihoods = obs.map((o) =>
      Float64Array.from({ length: ns }, (_, s) => A.data[o * ns + s]),
    );
    const actions: number[] = [];
    const idx = (it: number, s: number, j: number, t: number, k: number) =>
      (((it * ns + s) * Tn + j) * Tn + t) * K + k;
    let checked = 0;
    for (let t = 0; t < Tn; t++) {
      const S = pm.length;
      const start = Math.max(0, t - W + 1);
      const Q = new Float64Array(K);
      const Fk = new Float64Array(K);
      for (let k = 0; k < K; k++) {
        x[k][0] = D.slice();
        const res = runMmp(
          {
            likelihoods,
            B: [B],
            transitions: pm.map((row) => [row[k]]),
            D: [D],
            t,
            start,
            last: S,
            numIter: 10,
            tau: 0.25,
            startPrior: start > 0 ? [dsep[k]] : undefined,
            backwardLog: 'spmLog',
            onUpdate: (it, j, _f, sx, v) => {
              for (let s = 0; s < ns; s++) {
                expect(Math.abs(sx[s] - xn.data[idx(it, s, j, t, k)])).toBeLessThanOrEqual(
                  1e-8 + 1e-5 * Math.abs(xn.data[idx(it, s, j, t, k)]),
                );
                expect(Math.abs(v[s] - vn.data[idx(it, s, j, t, k)])).toBeLessThanOrEqual(
                  1e-8 + 1e-5 * Math.abs(vn.data[idx(it, s, j, t, k)]),
                );
                checked++;
              }
            },
          },
          [x[k]],
        );
        Fk[k] = res.F;
        // Q_k = sum_{j=t..S} G(x_j) + (A x_j).lnC_j
        for (let j = t; j <= S; j++) {
          const xj = x[k][j];
          Q[k] += spmMdpG([A], [xj]);
          for (let o = 0; o < no; o++) {
            let qo = 0;
            for (let s = 0; s < ns; s++) qo += A.data[o * ns + s] * xj[s];
            Q[k] += qo * lnC[j][o];
          }
        }
      }
      const qpi = softmax(Array.from({ length: K }, (_, k) => 16 * Q[k] - Fk[k]));
      if (t < Tn - 1) {
        const Pu = new Float64Array(3);
        for (let k = 0; k < K; k++) Pu[pm[t][k]] += qpi[k];
        let a = 0;
        for (let u = 1; u < 3; u++) if (Pu[u] > Pu[a]) a = u;
        actions.push(a);
        pm[t] = [a, a, a];
        if (t + 2 < Tn) pm.push([0, 1, 2]);
        if (t - W + 1 >= 0) dsep = [0, 1, 2].map((k) => x[k][t - W + 1].slice());
        x = [uniform(), uniform(), uniform()];
      }
    }
    expect(checked).toBeGreaterThan(1000);
    expect(actions).toEqual(d.actions[0]);
  });
});
