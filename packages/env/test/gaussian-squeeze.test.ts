import { checkEnv } from '@gibbs/core';
import { describe, expect, it } from 'vitest';
import { GaussianSqueeze, squeezeOptimum, squeezeReward } from '../src/gaussian-squeeze.ts';

describe('gaussian squeeze', () => {
  it('is non-spatial: no grid, no view, features only', () => {
    const env = new GaussianSqueeze();
    expect(env.spec.grid).toBeNull();
    expect(env.spec.groups[0]).toMatchObject({
      capacity: 100,
      view: null,
      features: 2,
      actions: 10,
    });
    const f = env.render();
    expect([f.width, f.height, f.cells.length]).toEqual([0, 0, 0]);
  });

  it('pays everyone G(x) = x exp(-(x - mu)^2 / sigma^2) of the sum of the amounts', () => {
    const env = new GaussianSqueeze({ agents: 3, actions: 4, mu: 5, sigma: 2 });
    env.reset(0);
    let out = env.step([Int32Array.of(1, 2, 3)]);
    const g6 = 6 * Math.exp(-0.25);
    expect(out.info.x).toBe(6);
    expect(out.info.G).toBeCloseTo(g6, 12);
    for (const r of out.groups[0].reward) expect(r).toBeCloseTo(g6, 5);
    // Features: total / (N (K-1)) = 6 / 9, own amount / (K-1).
    expect(Array.from(out.groups[0].features)).toEqual(
      [6 / 9, 1 / 3, 6 / 9, 2 / 3, 6 / 9, 1].map((v) => Math.fround(v)),
    );
    out = env.step([Int32Array.of(0, 0, 0)]);
    expect(out.info.G).toBe(0);
    // unit scales the amounts: 3 units of 2.5 each side of mu = 5.
    const u = new GaussianSqueeze({ agents: 2, actions: 3, unit: 2.5, mu: 5, sigma: 2 });
    u.reset(0);
    expect(u.step([Int32Array.of(2, 2)]).info.G).toBeCloseTo(10 * Math.exp(-25 / 4), 12);
  });

  it('has its optimum at x* = (mu + sqrt(mu^2 + 2 sigma^2)) / 2 (444.95 for mu 400, sigma 200)', () => {
    const x = squeezeOptimum(400, 200);
    expect(x).toBeCloseTo((400 + Math.sqrt(240000)) / 2, 10);
    expect(x).toBeCloseTo(444.949, 3);
    const g = squeezeReward(x, 400, 200);
    expect(g).toBeGreaterThan(squeezeReward(x - 0.01, 400, 200));
    expect(g).toBeGreaterThan(squeezeReward(x + 0.01, 400, 200));
    expect(g).toBeCloseTo(423.03, 2); // 444.949 * exp(-(44.949 / 200)^2)
  });

  it('truncates every agent at maxSteps and rejects bad actions', () => {
    const env = new GaussianSqueeze({ agents: 2, maxSteps: 2 });
    env.reset(0);
    expect(() => env.step([Int32Array.of(0, 10)])).toThrow(
      /^gaussian-squeeze: actions\[agents\]\[1\] = 10: expected an integer in \[0, 10\) for a live slot$/,
    );
    expect(env.step([Int32Array.of(1, 1)]).done).toBe(false);
    const out = env.step([Int32Array.of(1, 1)]);
    expect(out.done).toBe(true);
    expect(Array.from(out.groups[0].truncated)).toEqual([1, 1]);
  });

  it('passes the checker as a deterministic world', () => {
    expect(
      checkEnv(() => new GaussianSqueeze({ agents: 50, maxSteps: 20 }), { stochastic: false }),
    ).toEqual([]);
  });
});
