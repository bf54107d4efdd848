/** The acceptance test: MF-Q on a 20x20 lattice orders at tau 0.6 and not at tau 2.0. */
import { parseParams, type Simulation } from '@gibbs/core';
import { describe, expect, it } from 'vitest';
import ising from './ising.ts';
import isingMcmc from './ising-mcmc.ts';

async function meanOrder(
  sim: Simulation,
  steps: number,
  window: number,
): Promise<{ order: number; last: number; energy: number }> {
  let order = 0;
  let energy = 0;
  let last = 0;
  for (let s = 1; s <= steps; s++) {
    await sim.advance();
    if (s > steps - window) {
      const v = sim.metrics().values;
      order += v.order;
      energy += v.energy;
      last = v.order;
    }
  }
  return { order: order / window, energy: energy / window, last };
}

describe('ising experiment (tabular MF-Q)', () => {
  for (const seed of [0, 1, 2]) {
    it(`size 20, seed ${seed}: order > 0.85 at tau 0.6, < 0.3 at tau 2.0`, async () => {
      const cold = await ising.create({
        params: parseParams(ising.params, { size: 20, temperature: 0.6 }, 'ising'),
        seed,
      });
      const c = await meanOrder(cold, 4000, 1000);
      expect(c.order).toBeGreaterThan(0.85);
      expect(c.last).toBeGreaterThan(0.85);
      const hot = await ising.create({
        params: parseParams(ising.params, { size: 20, temperature: 2 }, 'ising'),
        seed,
      });
      const h = await meanOrder(hot, 4000, 1000);
      expect(h.order).toBeLessThan(0.3);
      expect(h.last).toBeLessThan(0.3);
    });
  }

  it('logs order, energy and policy_entropy, and renders the lattice', async () => {
    const sim = await ising.create({
      params: parseParams(ising.params, { size: 6 }, 'ising'),
      seed: 0,
    });
    await sim.advance();
    const v = sim.metrics().values;
    for (const k of ['order', 'energy', 'policy_entropy', 'temperature'])
      expect(v[k]).toBeTypeOf('number');
    expect(v.policy_entropy).toBeCloseTo(Math.log(2), 9); // Q = 0: a fair coin
    expect(sim.frame()?.cells.length).toBe(36);
    expect(sim.inspect?.(0, 7)?.distributions.policy).toHaveLength(2);
  });

  it('is a pure function of seed and parameters', async () => {
    const run = async () => {
      const sim = await ising.create({
        params: parseParams(ising.params, { size: 8, temperature: 1.2 }, 'ising'),
        seed: 5,
      });
      for (let s = 0; s < 200; s++) await sim.advance();
      return sim.metrics();
    };
    expect(await run()).toEqual(await run());
  });
});

describe('mean-action indexing under the checkerboard schedule', () => {
  const trajectory = async (size: number, meanAction: 'current' | 'previous') => {
    const sim = await ising.create({
      params: parseParams(ising.params, { size, temperature: 1, meanAction }, 'ising'),
      seed: 4,
    });
    const out: number[] = [];
    for (let s = 0; s < 300; s++) {
      await sim.advance();
      out.push(sim.metrics().values.energy);
    }
    return out;
  };

  it('is the same entry on an even lattice (the neighbours of acting sites hold still)', async () => {
    expect(await trajectory(8, 'current')).toEqual(await trajectory(8, 'previous'));
  });

  it('differs on an odd lattice, where the colours meet across the boundary', async () => {
    expect(await trajectory(7, 'current')).not.toEqual(await trajectory(7, 'previous'));
  });
});

describe('ising-mcmc experiment', () => {
  it('tracks Onsager at tau 2.0 on a 32x32 lattice', async () => {
    const sim = await isingMcmc.create({
      params: parseParams(isingMcmc.params, { size: 32, temperature: 2 }, 'ising-mcmc'),
      seed: 0,
    });
    const r = await meanOrder(sim, 1200, 1000);
    expect(Math.abs(r.energy / sim.metrics().values.exact_energy - 1)).toBeLessThan(0.03);
    expect(r.order).toBeLessThan(0.2);
  });
});
