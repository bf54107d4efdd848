/**
 * pymdp conformance: every case of test/conformance/pymdp replayed through the case runner
 * (the code path of `gibbs aif replay`), compared to rtol 1e-4, atol 1e-6; actions exactly.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AifAgents } from '../src/aif/agent.ts';
import { parseCase } from '../src/aif/model.ts';
import { replayJson } from '../src/aif/replay.ts';

const DIR = resolve(import.meta.dirname, 'conformance/pymdp');
const files = readdirSync(DIR).filter((f) => f.endsWith('.json'));

function close(got: number, want: number, what: string): void {
  if (!(Math.abs(got - want) <= 1e-6 + 1e-4 * Math.abs(want)))
    expect.fail(`${what}: got ${got}, expected ${want}`);
}

describe('pymdp cases through gibbs aif replay', () => {
  it('finds the cases', () => expect(files.length).toBeGreaterThanOrEqual(6));
  for (const file of files) {
    it(file, () => {
      const c = JSON.parse(readFileSync(resolve(DIR, file), 'utf8'));
      const out = replayJson(c);
      const exp = c.expected;
      expect(out.steps.length).toBe(exp.steps.length);
      exp.steps.forEach((e: Record<string, number[] & number[][]>, t: number) => {
        const g = out.steps[t];
        for (const k of [
          'q_pi',
          'neg_efe',
          'utility',
          'state_info_gain',
          'param_info_gain',
        ] as const) {
          expect(g[k].length).toBe(e[k].length);
          for (let i = 0; i < e[k].length; i++) close(g[k][i], e[k][i], `step ${t} ${k}[${i}]`);
        }
        e.qs.forEach((q: number[], f: number) => {
          for (let i = 0; i < q.length; i++) close(g.qs[f][i], q[i], `step ${t} qs[${f}][${i}]`);
        });
        expect(g.action).toEqual(e.action);
        expect(Number.isFinite(g.F)).toBe(true);
      });
    });
  }

  it('policies, fixed-point iterations and action marginals match too', () => {
    for (const file of files) {
      const c = JSON.parse(readFileSync(resolve(DIR, file), 'utf8'));
      const parsed = parseCase(c);
      const a = new AifAgents({ model: parsed.model, config: parsed.config, count: 1 });
      const { P, policyLen: L, F, U } = a.layout;
      const pols = Array.from({ length: P }, (_, p) =>
        Array.from({ length: L }, (_, tau) =>
          Array.from(a.layout.policies.subarray((p * L + tau) * F, (p * L + tau + 1) * F)),
        ),
      );
      expect(pols).toEqual(c.expected.policies);
      const obs = new Int32Array(a.layout.M);
      c.expected.steps.forEach(
        (e: { fpi_iterations: number; action_marginals: number[][] }, t: number) => {
          obs.set(parsed.observations[t]);
          a.step(obs);
          expect(a.iterations[0]).toBe(e.fpi_iterations);
          expect(e.action_marginals.flat().length).toBe(U);
          const want = e.action_marginals.flat();
          for (let i = 0; i < U; i++)
            close(a.efe.marginals[i], want[i], `${file} step ${t} marginal ${i}`);
        },
      );
    }
  });

  it('a batch of agents gives every agent the single-agent answer', () => {
    const c = JSON.parse(readFileSync(resolve(DIR, 'f2m2_unctrl_len2_g4.json'), 'utf8'));
    const parsed = parseCase(c);
    const N = 5;
    const a = new AifAgents({ model: parsed.model, config: parsed.config, count: N });
    const M = a.layout.M;
    const obs = new Int32Array(N * M);
    c.expected.steps.forEach((e: { q_pi: number[] }, t: number) => {
      for (let n = 0; n < N; n++) obs.set(parsed.observations[t], n * M);
      a.step(obs);
      for (let n = 0; n < N; n++)
        e.q_pi.forEach((v, i) => {
          close(a.efe.qPi[n * a.numPolicies + i], v, `agent ${n} q_pi[${i}]`);
        });
    });
  });
});

describe('bad models and observations', () => {
  const base = () => JSON.parse(readFileSync(resolve(DIR, 'tmaze_len1.json'), 'utf8'));
  const msg = (
    mutate: (c: { model: Record<string, unknown>; observations: number[][] }) => void,
  ): string => {
    const c = base();
    mutate(c);
    try {
      replayJson(c);
    } catch (err) {
      expect((err as Error).name).toBe('GibbsError');
      return (err as Error).message;
    }
    return expect.fail('no error');
  };
  it('wrong shape of A names the array and the expected shape', () => {
    const m = msg((c) => {
      (c.model.A as number[][][][])[1] = (c.model.A as number[][][][])[1].map((r) => r.slice(0, 3));
    });
    expect(m).toContain('A[1]');
    expect(m).toContain('[3, 3, 2]');
    expect(m).toContain('[any, 4, 2]');
  });
  it('a column of B that does not sum to one names the column', () => {
    const m = msg((c) => {
      (c.model.B as number[][][][])[0][0][2][1] = 0.5;
    });
    expect(m).toContain('B[0][:, 2, 1]');
    expect(m).toContain('sums to 1.5');
  });
  it('negative Dirichlet counts name the entry', () => {
    const m = msg((c) => {
      const pA = structuredClone(c.model.A) as number[][][][];
      pA[2][1][3][0] = -1;
      c.model.pA = pA;
    });
    expect(m).toContain('pA[2][1, 3, 0]');
    expect(m).toContain('non-negative');
  });
  it('an observation out of range names step, modality and range', () => {
    const m = msg((c) => {
      c.observations[2][1] = 3;
    });
    expect(m).toContain('observations[2][1]');
    expect(m).toContain('[0, 3)');
  });
  it('D that is not a distribution, and E of the wrong length', () => {
    expect(msg((c) => ((c.model.D as number[][])[1] = [0.5, 0.6]))).toContain('D[1]');
    expect(msg((c) => (c.model.E = [1, 1]))).toContain('[4]');
  });
});
