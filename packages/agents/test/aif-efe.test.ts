/**
 * Each term of the expected free energy on a model small enough to work on paper, and property
 * tests of the policy posterior.
 *
 * The model: one factor with 2 states, one modality with 2 outcomes, 2 actions, policy_len 1.
 *   pA = [[9, 1], [1, 3]]        -> A = [[0.9, 0.25], [0.1, 0.75]]  (columns = states)
 *   pB[:, :, 0] = [[3, 1], [1, 3]] -> B0 = [[0.75, 0.25], [0.25, 0.75]]
 *   pB[:, :, 1] = [[1, 4], [2, 1]] -> B1 = [[1/3, 0.8], [2/3, 0.2]]
 *   C = [0, 1] -> softmax = [1/(1+e), e/(1+e)], ln = [-ln(1+e), 1 - ln(1+e)] = [-1.3132617, -0.3132617]
 *   current beliefs q = [0.7, 0.3]
 *
 * Policy 0 (action 0): qs_pi = B0 q = [0.75*0.7 + 0.25*0.3, 0.25*0.7 + 0.75*0.3] = [0.6, 0.4]
 *                      qo = A qs_pi = [0.9*0.6 + 0.25*0.4, 0.1*0.6 + 0.75*0.4] = [0.64, 0.36]
 * Policy 1 (action 1): qs_pi = B1 q = [0.7/3 + 0.8*0.3, 1.4/3 + 0.2*0.3] = [0.473333, 0.526667]
 *                      qo = [0.9*0.473333 + 0.25*0.526667, 0.1*0.473333 + 0.75*0.526667]
 *                         = [0.557667, 0.442333]
 *
 * Expected utility qo . lnC = qo_1 - ln(1+e) (since qo_0 + qo_1 = 1):
 *   pi0: 0.36 - 1.3132617 = -0.9532617;   pi1: 0.442333 - 1.3132617 = -0.8709284
 * State information gain sum_s qs_pi(s) sum_o A ln A - qo . ln qo, with
 *   sum_o A ln A = [0.9 ln 0.9 + 0.1 ln 0.1, 0.25 ln 0.25 + 0.75 ln 0.75] = [-0.3250830, -0.5623351]
 *   pi0: H(qo) = -(0.64 ln 0.64 + 0.36 ln 0.36) = 0.6534182; 0.6*-0.3250830 + 0.4*-0.5623351 = -0.4199838
 *        -> 0.2334344
 *   pi1: H(qo) = 0.6864815; 0.473333*-0.3250830 + 0.526667*-0.5623351 = -0.4500358 -> 0.2364457
 * Novelty of A: W = 1/colsum(pA) - 1/pA = [[1/10 - 1/9, 1/4 - 1], [1/10 - 1, 1/4 - 1/3]]
 *                 = [[-0.0111111, -0.75], [-0.9, -0.0833333]];  term = -qo . (W qs_pi)
 *   pi0: W qs_pi = [-0.0066667 - 0.3, -0.54 - 0.0333333] = [-0.3066667, -0.5733333]
 *        -> 0.64*0.3066667 + 0.36*0.5733333 = 0.1962667 + 0.2064 = 0.4026667
 *   pi1: W qs_pi = [-0.4002593, -0.4698889] -> 0.557667*0.4002593 + 0.442333*0.4698889 = 0.4310588
 * Novelty of B: WB_a = 1/colsum(pB_a) - 1/pB_a; term = -qs_pi . (WB_a q)
 *   WB_0 = [[1/4 - 1/3, 1/4 - 1], [1/4 - 1, 1/4 - 1/3]] = [[-0.0833333, -0.75], [-0.75, -0.0833333]]
 *   pi0: WB_0 q = [-0.0583333 - 0.225, -0.525 - 0.025] = [-0.2833333, -0.55]
 *        -> 0.6*0.2833333 + 0.4*0.55 = 0.17 + 0.22 = 0.39
 *   WB_1 = [[1/3 - 1, 1/5 - 1/4], [1/3 - 1/2, 1/5 - 1]] = [[-0.6666667, -0.05], [-0.1666667, -0.8]]
 *   pi1: WB_1 q = [-0.4666667 - 0.015, -0.1166667 - 0.24] = [-0.4816667, -0.3566667]
 *        -> 0.473333*0.4816667 + 0.526667*0.3566667 = 0.2279889 + 0.1878444 = 0.4158333
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AifAgents } from '../src/aif/agent.ts';
import { tensor } from '../src/aif/maths.ts';
import type { AgentConfig, GenerativeModel } from '../src/aif/model.ts';

const pA = tensor([2, 2], [9, 1, 1, 3]);
// [next, prev, action] flat: entry (i, j, a) at (i * 2 + j) * 2 + a.
const pB = tensor([2, 2, 2], [3, 1, 1, 4, 1, 2, 3, 1]);
const A = tensor([2, 2], [0.9, 0.25, 0.1, 0.75]);
const B = tensor([2, 2, 2], [0.75, 1 / 3, 0.25, 0.8, 0.25, 2 / 3, 0.75, 0.2]);
const tiny: GenerativeModel = {
  A: [A],
  B: [B],
  C: [Float64Array.from([0, 1])],
  D: [Float64Array.from([0.7, 0.3])],
  pA: [pA],
  pB: [pB],
};
const config = (over: Partial<AgentConfig>): AgentConfig => ({
  policyLen: 1,
  gamma: 16,
  alpha: 16,
  useUtility: true,
  useStatesInfoGain: true,
  useParamInfoGain: true,
  actionSelection: 'deterministic',
  inference: { algo: 'fpi', numIter: 10, dFTol: 0.001 },
  ...over,
});

/** Policies of the tiny model evaluated at q = D = [0.7, 0.3] (no observation). */
function evalTiny(over: Partial<AgentConfig>, model: GenerativeModel = tiny) {
  const a = new AifAgents({ model, config: config(over), count: 1 });
  a.inferPolicies();
  return a.efe;
}

const near = (got: ArrayLike<number>, want: number[], tol = 1e-6) => {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i])).toBeLessThan(tol);
};

describe('expected free energy, worked by hand on a 2-state 2-outcome model', () => {
  it('expected utility', () => {
    const e = evalTiny({ useStatesInfoGain: false, useParamInfoGain: false });
    near(e.utility, [0.36 - Math.log(1 + Math.E), 0.4423333333 - Math.log(1 + Math.E)]);
    near(e.utility, [-0.9532617, -0.8709284]);
    near(e.stateInfoGain, [0, 0]);
    near(e.paramInfoGain, [0, 0]);
  });
  it('state information gain', () => {
    const e = evalTiny({ useUtility: false, useParamInfoGain: false });
    near(e.stateInfoGain, [0.2334344, 0.2364457]);
    near(e.utility, [0, 0]);
  });
  it('novelty of A alone (pB absent)', () => {
    const e = evalTiny({ useUtility: false, useStatesInfoGain: false }, { ...tiny, pB: null });
    near(e.paramInfoGain, [0.4026667, 0.4310588]);
  });
  it('novelty of B alone (pA absent)', () => {
    const e = evalTiny({ useUtility: false, useStatesInfoGain: false }, { ...tiny, pA: null });
    near(e.paramInfoGain, [0.39, 0.4158333]);
  });
  it('all terms, and q(pi) = softmax(gamma (-G) + ln E)', () => {
    const E = Float64Array.from([0.25, 0.75]);
    const a = new AifAgents({ model: { ...tiny, E }, config: config({ gamma: 2 }), count: 1 });
    a.inferPolicies();
    const neg = [
      -0.9532617 + 0.2334344 + 0.4026667 + 0.39,
      -0.8709284 + 0.2364457 + 0.4310588 + 0.4158333,
    ];
    near(a.efe.negEfe, neg);
    const z = [2 * neg[0] + Math.log(0.25), 2 * neg[1] + Math.log(0.75)];
    const q1 = 1 / (1 + Math.exp(z[0] - z[1]));
    near(a.efe.qPi, [1 - q1, q1]);
    near(a.efe.marginals, [1 - q1, q1]);
  });
});

/** A random model: F factors and M modalities with random sizes and columns. */
const arbModel = fc
  .record({
    ns: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 2 }),
    nu: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 2, maxLength: 2 }),
    no: fc.array(fc.integer({ min: 2, max: 3 }), { minLength: 1, maxLength: 2 }),
    seed: fc.integer({ min: 1, max: 1e9 }),
    policyLen: fc.integer({ min: 1, max: 2 }),
  })
  .map(({ ns, nu, no, seed, policyLen }) => {
    let s = seed;
    const rand = () => {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      return 0.05 + (s / 2 ** 32) * 0.95;
    };
    const cols = (shape: number[]) => {
      const t = tensor(shape);
      const n0 = shape[0];
      const c = t.data.length / n0;
      for (let j = 0; j < c; j++) {
        let z = 0;
        for (let i = 0; i < n0; i++) z += t.data[i * c + j] = rand();
        for (let i = 0; i < n0; i++) t.data[i * c + j] /= z;
      }
      return t;
    };
    const dist = (n: number) => {
      const v = Float64Array.from({ length: n }, rand);
      const z = v.reduce((a, b) => a + b, 0);
      return v.map((x) => x / z);
    };
    const model: GenerativeModel = {
      A: no.map((o) => cols([o, ...ns])),
      B: ns.map((n, f) => cols([n, n, nu[f]])),
      C: no.map((o) => Float64Array.from({ length: o }, () => 4 * rand() - 2)),
      D: ns.map(dist),
      pA: no.map((o) => {
        const t = tensor([o, ...ns]);
        for (let i = 0; i < t.data.length; i++) t.data[i] = 0.5 + 5 * rand();
        return t;
      }),
    };
    const obs = Int32Array.from(no, (o) => Math.floor(rand() * o) % o);
    return { model, obs, policyLen };
  });

describe('policy posterior properties', () => {
  it('q(pi) and each action marginal sum to one; -G is the sum of its parts', () => {
    fc.assert(
      fc.property(
        arbModel,
        fc.double({ min: 0.1, max: 32, noNaN: true }),
        ({ model, obs, policyLen }, gamma) => {
          const a = new AifAgents({ model, config: config({ policyLen, gamma }), count: 2 });
          a.step(Int32Array.from([...obs, ...obs]));
          const { P, F, U, uOffset, numControls } = a.layout;
          for (let n = 0; n < 2; n++) {
            let s = 0;
            for (let p = 0; p < P; p++) {
              s += a.efe.qPi[n * P + p];
              const parts =
                a.efe.utility[n * P + p] +
                a.efe.stateInfoGain[n * P + p] +
                a.efe.paramInfoGain[n * P + p];
              expect(Math.abs(parts - a.efe.negEfe[n * P + p])).toBeLessThan(1e-12);
            }
            expect(Math.abs(s - 1)).toBeLessThan(1e-12);
            for (let f = 0; f < F; f++) {
              let m = 0;
              for (let u = 0; u < numControls[f]; u++) m += a.efe.marginals[n * U + uOffset[f] + u];
              expect(Math.abs(m - 1)).toBeLessThan(1e-12);
            }
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('switching off one term zeroes that term and changes no other', () => {
    const terms = ['useUtility', 'useStatesInfoGain', 'useParamInfoGain'] as const;
    const parts = ['utility', 'stateInfoGain', 'paramInfoGain'] as const;
    fc.assert(
      fc.property(arbModel, fc.integer({ min: 0, max: 2 }), ({ model, obs, policyLen }, k) => {
        const run = (over: Partial<AgentConfig>) => {
          const a = new AifAgents({ model, config: config({ policyLen, ...over }), count: 1 });
          a.inferStates(obs);
          a.inferPolicies();
          return a.efe;
        };
        const all = run({});
        const off = run({ [terms[k]]: false });
        parts.forEach((part, j) => {
          if (j === k) expect(Array.from(off[part]).every((v) => v === 0)).toBe(true);
          else expect(Array.from(off[part])).toEqual(Array.from(all[part]));
        });
      }),
      { numRuns: 60 },
    );
  });
});

describe('preferences per future step (C of shape [outcome, step], as pymdp allows)', () => {
  it('utility uses column tau at step tau; equal columns equal a 1-D C', () => {
    const C2 = tensor([2, 2], [0, 1, 1, 0]); // step 1 prefers outcome 1, step 2 outcome 0
    const run = (C: GenerativeModel['C']) => {
      const a = new AifAgents({
        model: { ...tiny, C, pA: null, pB: null },
        config: config({ policyLen: 2, useStatesInfoGain: false, useParamInfoGain: false }),
        count: 1,
      });
      a.inferPolicies();
      return Array.from(a.efe.utility);
    };
    const lnSoft = (c: number[]) => {
      const z = Math.log(Math.exp(c[0]) + Math.exp(c[1]));
      return c.map((v) => v - z);
    };
    const mat = (M: Float64Array, a: number, q: number[]) =>
      [0, 1].map((i) => M[(i * 2 + 0) * 2 + a] * q[0] + M[(i * 2 + 1) * 2 + a] * q[1]);
    const Aq = (q: number[]) => [0.9 * q[0] + 0.25 * q[1], 0.1 * q[0] + 0.75 * q[1]];
    const want: number[] = [];
    for (let a0 = 0; a0 < 2; a0++) {
      for (let a1 = 0; a1 < 2; a1++) {
        const s1 = mat(B.data, a0, [0.7, 0.3]);
        const s2 = mat(B.data, a1, s1);
        const [o1, o2] = [Aq(s1), Aq(s2)];
        const l1 = lnSoft([0, 1]);
        const l2 = lnSoft([1, 0]);
        want.push(o1[0] * l1[0] + o1[1] * l1[1] + o2[0] * l2[0] + o2[1] * l2[1]);
      }
    }
    near(run([C2]), want, 1e-9);
    near(run([tensor([2, 2], [0, 0, 1, 1])]), run([Float64Array.from([0, 1])]), 1e-12);
  });
  it('a C with fewer columns than the policy length is rejected', () => {
    expect(
      () =>
        new AifAgents({
          model: { ...tiny, C: [tensor([2, 1], [0, 1])] },
          config: config({ policyLen: 2 }),
          count: 1,
        }),
    ).not.toThrow();
    expect(
      () =>
        new AifAgents({
          model: { ...tiny, C: [tensor([2, 2], [0, 1, 0, 1])] },
          config: config({ policyLen: 3 }),
          count: 1,
        }),
    ).toThrow(/C\[0\]/);
  });
});
