import { assertEnv, GibbsError } from '@gibbs/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { environments } from '../src/index.ts';
import { energyPerSite, IsingEnv, isingConfig, neighbourField } from '../src/ising.ts';

function env(size: number, init: 'random' | 'up' | 'down' = 'random', maxSteps = 10) {
  return new IsingEnv(isingConfig.parse({ size, init, maxSteps }));
}

describe('ising environment', () => {
  it('is registered and passes the environment checker', () => {
    expect(environments.ising.create(isingConfig.parse({ size: 4 })).spec.name).toBe('ising');
    assertEnv(() => env(5, 'random', 60), { stochastic: true });
    assertEnv(() => env(4, 'up', 30), { stochastic: false });
  });

  it('pays 0.5 * s_i * (sum of 4 neighbours) on a hand-built 3x3 lattice', () => {
    const e = env(3);
    e.reset(1);
    // Spins after the step (row-major), up = 1:
    //   1 1 0
    //   1 0 0
    //   0 0 0
    const a = Int32Array.from([1, 1, 0, 1, 0, 0, 0, 0, 0]);
    const out = e.step([a]);
    const g = out.groups[0];
    // Site 0 (up): neighbours (periodic) right 1, left site 2 (down), down site 3 (up),
    // up site 6 (down): h = 1 - 1 + 1 - 1 = 0 -> r = 0.
    // Site 1 (up): left 0 up, right 2 down, down 4 down, up 7 down: h = -2 -> r = -1.
    // Site 4 (down): left 3 up, right 5 down, up 1 up, down 7 down: h = 0 -> r = 0.
    // Site 8 (down): left 7, right 6, up 5, down 2: all down, h = -4 -> r = +2.
    expect(g.reward[0]).toBe(0);
    expect(g.reward[1]).toBe(-1);
    expect(g.reward[4]).toBe(-0);
    expect(g.reward[8]).toBe(2);
    // Features: own spin and the number of up neighbours.
    expect(Array.from(g.features.subarray(0, 4))).toEqual([1, 2, 1, 1]);
    expect(Array.from(g.features.subarray(16, 18))).toEqual([-1, 0]);
    // Metrics: 3 up, 6 down; energy = -(sum of rewards) / N.
    let sum = 0;
    for (const r of g.reward) sum += r;
    expect(out.info.energy).toBeCloseTo(-sum / 9, 12);
    expect(out.info.order).toBeCloseTo(3 / 9, 12);
    expect(out.info.magnetisation).toBeCloseTo(-3 / 9, 12);
    expect(out.info.energy).toBeCloseTo(energyPerSite(e.spins, 3), 12);
  });

  it('has energy -2 and order 1 when all spins agree', () => {
    const e = env(4, 'up');
    const out = e.reset(0);
    expect(out.info.energy).toBe(-2);
    expect(out.info.order).toBe(1);
    const o2 = e.step([new Int32Array(16)]);
    expect(o2.info.magnetisation).toBe(-1);
    expect(Array.from(o2.groups[0].reward)).toEqual(new Array(16).fill(2));
  });

  it('has energy +2 and order 0 on a checkerboard', () => {
    const e = env(4);
    e.reset(0);
    const a = new Int32Array(16);
    for (let i = 0; i < 16; i++) a[i] = ((i % 4) + Math.floor(i / 4)) % 2;
    const out = e.step([a]);
    expect(out.info.energy).toBe(2);
    expect(out.info.order).toBe(0);
  });

  it('truncates at maxSteps and is reproducible from a seed', () => {
    const e = env(5, 'random', 2);
    const s0 = Int8Array.from(e.reset(7).groups[0].features.filter((_, i) => i % 2 === 0));
    const f = new IsingEnv(isingConfig.parse({ size: 5, maxSteps: 2 }));
    const s1 = Int8Array.from(f.reset(7).groups[0].features.filter((_, i) => i % 2 === 0));
    expect(Array.from(s0)).toEqual(Array.from(s1));
    const a = new Int32Array(25);
    expect(e.step([a]).done).toBe(false);
    const last = e.step([a]);
    expect(last.done).toBe(true);
    expect(last.groups[0].truncated[3]).toBe(1);
  });

  it('rejects a bad action naming the slot and value', () => {
    const e = env(3);
    e.reset(0);
    const a = new Int32Array(9);
    a[4] = 2;
    expect(() => e.step([a])).toThrow(GibbsError);
    expect(() => e.step([a])).toThrow(
      /^ising: actions\[spins\]\[4\] = 2: expected an integer in \[0, 2\) for a live slot$/,
    );
    expect(() => e.step([new Int32Array(3)])).toThrow(/length 9/);
    expect(() => new IsingEnv({ size: 1, maxSteps: 5, init: 'up' })).toThrow(/ising.size: got 1/);
  });

  it('renders cells as spin up / spin down', () => {
    const e = env(3, 'up');
    e.reset(0);
    const f = e.render();
    expect(f.legend[f.cells[0]]).toBe('spin up');
    expect(f.agents.count).toBe(9);
    expect(f.agents.x[5]).toBe(2);
    expect(f.agents.y[5]).toBe(1);
  });

  it('computes neighbour fields on a periodic lattice', () => {
    const s = Int8Array.from([1, -1, -1, -1]);
    // 2x2 periodic: each neighbour counted twice (left = right, up = down); site 1 sees sites
    // 0 and 3 twice each.
    expect(Array.from(neighbourField(s, 2, new Int8Array(4)))).toEqual([-4, 0, 0, -4]);
  });

  it('keeps sum of rewards = -N * energy and features consistent with the spins (fast-check)', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 2, max: 9 })
          .chain((L) =>
            fc.tuple(
              fc.constant(L),
              fc.array(fc.integer({ min: 0, max: 1 }), { minLength: L * L, maxLength: L * L }),
            ),
          ),
        ([L, acts]) => {
          const e = env(L);
          e.reset(0);
          const out = e.step([Int32Array.from(acts)]);
          const g = out.groups[0];
          let sum = 0;
          let up = 0;
          for (let i = 0; i < L * L; i++) {
            sum += g.reward[i];
            up += acts[i];
            expect(g.features[2 * i]).toBe(acts[i] ? 1 : -1);
            // reward = 0.5 * s * (2k - 4) with k the feature's up count
            expect(g.reward[i]).toBe(0.5 * g.features[2 * i] * (2 * g.features[2 * i + 1] - 4));
          }
          expect(out.info.energy).toBeCloseTo(-sum / (L * L), 12);
          expect(out.info.energy).toBeCloseTo(energyPerSite(e.spins, L), 12);
          expect(out.info.order).toBeCloseTo(Math.abs(2 * up - L * L) / (L * L), 12);
        },
      ),
      { numRuns: 200, seed: 3 },
    );
  });
});
