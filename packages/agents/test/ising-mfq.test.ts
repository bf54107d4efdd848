import { describe, expect, it } from 'vitest';
import { IsingMfq, isingReward } from '../src/ising-mfq.ts';

/** Features [spin, up count] for a 2x2 lattice given spins and counts. */
function feats(spins: number[], ups: number[]): Float32Array {
  const f = new Float32Array(2 * spins.length);
  spins.forEach((s, i) => {
    f[2 * i] = s;
    f[2 * i + 1] = ups[i];
  });
  return f;
}

describe('tabular MF-Q on Ising', () => {
  it('uses the Boltzmann policy on the Q-table', () => {
    const m = new IsingMfq({ size: 2, seed: 0 });
    // Site 1, k = 3: Q(down) = -1, Q(up) = 1 at tau 0.5 -> P(up) = e^2 / (e^-2 + e^2).
    m.q[(1 * 5 + 3) * 2] = -1;
    m.q[(1 * 5 + 3) * 2 + 1] = 1;
    expect(m.probUp(1, 3, 0.5)).toBeCloseTo(Math.exp(2) / (Math.exp(-2) + Math.exp(2)), 12);
    expect(m.probUp(0, 3, 0.5)).toBe(0.5);
    // Huge Q/tau does not overflow.
    m.q[(1 * 5 + 3) * 2 + 1] = 1e6;
    expect(m.probUp(1, 3, 1e-3)).toBe(1);
  });

  it('equals the heat-bath rule once Q holds the rewards 0.5 s h', () => {
    const m = new IsingMfq({ size: 2, seed: 0 });
    for (let k = 0; k <= 4; k++) {
      m.q[k * 2] = isingReward(k, 0);
      m.q[k * 2 + 1] = isingReward(k, 1);
      const h = 2 * k - 4;
      const tau = 0.7;
      const heatBath =
        Math.exp(h / (2 * tau)) / (Math.exp(h / (2 * tau)) + Math.exp(-h / (2 * tau)));
      expect(m.probUp(0, k, tau)).toBeCloseTo(heatBath, 6);
    }
    expect(isingReward(4, 1)).toBe(2);
    expect(isingReward(4, 0)).toBe(-2);
    expect(isingReward(1, 1)).toBe(-1);
  });

  it('updates Q += alpha (r - Q) at the up-count after the step (current) or before (previous)', () => {
    for (const meanAction of ['current', 'previous'] as const) {
      const m = new IsingMfq({ size: 2, seed: 1, alpha: 0.1, meanAction, schedule: 'synchronous' });
      const before = feats([1, 1, 1, 1], [2, 2, 2, 2]);
      const actions = new Int32Array(4);
      m.act(before, 1, actions);
      const after = feats([1, 1, 1, 1], [4, 4, 4, 4]);
      const rewards = Float32Array.from([2, 2, 2, 2]);
      m.learn(after, rewards);
      const k = meanAction === 'current' ? 4 : 2;
      const o = (0 * 5 + k) * 2 + actions[0];
      expect(m.q[o]).toBeCloseTo(0.2, 6);
      rewards.fill(-1);
      m.act(before, 1, actions);
      const a0 = actions[0];
      m.learn(after, rewards);
      const o2 = (0 * 5 + k) * 2 + a0;
      // Second update on the same entry: 0.2 + 0.1 (-1 - 0.2) = 0.08; on a fresh one: -0.1.
      expect(m.q[o2]).toBeCloseTo(o2 === o ? 0.08 : -0.1, 6);
    }
  });

  it('lets one checkerboard colour sample per step; the other repeats its spin', () => {
    const m = new IsingMfq({ size: 2, seed: 3 });
    const f = feats([1, -1, -1, 1], [0, 0, 0, 0]);
    const a = new Int32Array(4);
    m.act(f, 1, a);
    // Step 0: colour 0 = sites (0,0) and (1,1) sample; sites 1 and 2 hold spin -1 -> action 0.
    expect(Array.from(m.acted)).toEqual([1, 0, 0, 1]);
    expect([a[1], a[2]]).toEqual([0, 0]);
    m.act(f, 1, a);
    expect(Array.from(m.acted)).toEqual([0, 1, 1, 0]);
    expect([a[0], a[3]]).toEqual([1, 1]);
  });

  it('returns the mean policy entropy of the agents that sampled', () => {
    const m = new IsingMfq({ size: 2, seed: 3, schedule: 'synchronous' });
    const a = new Int32Array(4);
    expect(m.act(feats([1, 1, 1, 1], [2, 2, 2, 2]), 1, a)).toBeCloseTo(Math.log(2), 12);
  });

  it('rejects bad options and inputs by name', () => {
    expect(() => new IsingMfq({ size: 4, seed: 0, alpha: 0 })).toThrow(/alpha: got 0/);
    const m = new IsingMfq({ size: 2, seed: 0 });
    expect(() => m.act(new Float32Array(8), 0, new Int32Array(4))).toThrow(/temperature: got 0/);
    expect(() => m.act(new Float32Array(4), 1, new Int32Array(4))).toThrow(/features/);
    expect(() => m.act(feats([1, 1, 1, 1], [2, 5, 2, 2]), 1, new Int32Array(4))).toThrow(
      /features\[3\] \(up neighbours of site 1\): got 5, expected 0..4/,
    );
  });
});
