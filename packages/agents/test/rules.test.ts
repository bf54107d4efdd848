/** The learning rules on tiny cases worked out by hand. */
import { Rng } from '@gibbs/core';
import { initBackend } from '@gibbs/core/backend';
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  doubleQTarget,
  entropy,
  meanFieldAdvantage,
  meanFieldTarget,
  softmaxInto,
  temperatureAt,
} from '../src/policy.ts';
import { Replay } from '../src/replay.ts';

beforeAll(async () => {
  await initBackend();
});

const t1 = (x: number[]) => tf.tensor1d(x);
const t2 = (x: number[][]) => tf.tensor2d(x);

describe('Boltzmann policy', () => {
  it('pi(a) = exp(Q_a / T) / sum_b exp(Q_b / T): Q = [1, 2, 3], T = 0.5', () => {
    const p = new Float64Array(3);
    softmaxInto([1, 2, 3], 0, 3, 0.5, p);
    // exp(2), exp(4), exp(6) normalised: 0.01587, 0.11731, 0.86681
    const z = Math.exp(2) + Math.exp(4) + Math.exp(6);
    expect(p[0]).toBeCloseTo(Math.exp(2) / z, 12);
    expect(p[1]).toBeCloseTo(0.1173104, 6);
    expect(p[2]).toBeCloseTo(0.8668133, 6);
    // A huge temperature is uniform; entropy ln 3.
    softmaxInto([1, 2, 3], 0, 3, 1e9, p);
    expect(entropy(p)).toBeCloseTo(Math.log(3), 6);
  });

  it('does not overflow for large Q / T', () => {
    const p = new Float32Array(2);
    softmaxInto([1000, 0], 0, 2, 0.01, p);
    expect(p[0]).toBe(1);
    expect(p[1]).toBe(0);
  });
});

describe('one-step targets', () => {
  it('double-Q: the online net picks argmax, the target net values it', () => {
    // Row 0: online argmax = action 1, target Q there = 5 -> y = 1 + 0.9 * 5 = 5.5.
    // Row 1: done -> y = r = -2.
    const y = doubleQTarget(
      t1([1, -2]),
      t1([0, 1]),
      t2([
        [0, 3, 1],
        [9, 0, 0],
      ]),
      t2([
        [7, 5, 9],
        [4, 4, 4],
      ]),
      0.9,
    );
    const v = y.dataSync();
    expect(v[0]).toBeCloseTo(5.5, 6);
    expect(v[1]).toBeCloseTo(-2, 6);
  });

  it('mean-field value v^MF(s) = sum_a pi(a|s, abar) Q(s, a, abar) with the Boltzmann pi', () => {
    // Online Q' = [0, ln 3] at T = 1 -> pi = [1/4, 3/4]; target Q' = [4, 8] -> v = 1 + 6 = 7.
    // y = 0.5 + 0.95 * 7 = 7.15
    const y = meanFieldTarget(t1([0.5]), t1([0]), t2([[0, Math.log(3)]]), t2([[4, 8]]), 0.95, 1);
    expect(y.dataSync()[0]).toBeCloseTo(7.15, 5);
  });

  it('MF-AC advantage: Q(s, a, abar) - sum_b pi(b|s) Q(s, b, abar)', () => {
    // Q = [1, 2, 4], pi = [0.5, 0.25, 0.25] -> baseline 0.5 + 0.5 + 1 = 2; a = 2 -> A = 2; a = 0 -> -1.
    const q = t2([
      [1, 2, 4],
      [1, 2, 4],
    ]);
    const pi = t2([
      [0.5, 0.25, 0.25],
      [0.5, 0.25, 0.25],
    ]);
    const adv = meanFieldAdvantage(q, pi, tf.tensor1d([2, 0], 'int32')).dataSync();
    expect(adv[0]).toBeCloseTo(2, 6);
    expect(adv[1]).toBeCloseTo(-1, 6);
  });
});

describe('temperature schedules', () => {
  it('simulated annealing cools exponentially to its floor', () => {
    const s = { kind: 'anneal', start: 1, decay: 0.5, floor: 0.2 } as const;
    expect(temperatureAt(s, 0)).toBe(1);
    expect(temperatureAt(s, 1)).toBe(0.5);
    expect(temperatureAt(s, 2)).toBe(0.25);
    expect(temperatureAt(s, 3)).toBe(0.2);
    expect(temperatureAt(s, 100)).toBe(0.2);
  });
  it('piecewise linear as mfrl (1 -> 0.2 at 80% -> 0.1)', () => {
    const s = {
      kind: 'linear',
      points: [
        [0, 1],
        [80, 0.2],
        [100, 0.1],
      ],
    } as { kind: 'linear'; points: [number, number][] };
    expect(temperatureAt(s, 40)).toBeCloseTo(0.6, 12);
    expect(temperatureAt(s, 90)).toBeCloseTo(0.15, 12);
    expect(temperatureAt(s, 500)).toBe(0.1);
  });
});

function filled(prioritized: boolean, n: number): Replay {
  const r = new Replay(
    { capacity: 8, viewSize: 0, features: 1, meanSize: 0 },
    { alpha: prioritized ? 1 : 0, eps: 0 },
  );
  const f = new Float32Array(1);
  for (let i = 0; i < n; i++) {
    f[0] = i;
    const row = r.write(f, f, 0, null, i % 3);
    r.finish(row, i);
  }
  return r;
}

describe('replay memory', () => {
  it('importance weights w_i = (N P(i))^-beta / max w: priorities 1 and 3', () => {
    const r = filled(true, 2);
    // Priorities |delta| + 0 with alpha = 1: P = [1/4, 3/4]; N = 2, beta = 1:
    // w = [(0.5)^-1, (1.5)^-1] = [2, 2/3] -> normalised [1, 1/3]; ESS = (4/3)^2 / (1 + 1/9) = 1.6.
    r.updatePriorities(new Int32Array([0, 1]), new Float32Array([1, 3]));
    expect(r.probability(0)).toBeCloseTo(0.25, 12);
    const s = r.sample(64, 1, new Rng(1));
    for (let k = 0; k < 64; k++) expect(s.weights[k]).toBeCloseTo(s.rows[k] === 0 ? 1 : 1 / 3, 6);
    // Stratified draws: 16 of the 64 strata fall in row 0's quarter of the mass.
    expect(Array.from(s.rows).filter((x) => x === 0).length).toBe(16);
    expect(s.ess).toBeCloseTo((16 + 48 / 3) ** 2 / (16 + 48 / 9), 4);
    const r2 = filled(true, 2);
    r2.updatePriorities(new Int32Array([0, 1]), new Float32Array([1, 3]));
    const pair = r2.sample(2, 1, new Rng(2));
    const w = Array.from(pair.weights).sort();
    expect(w[0]).toBeCloseTo(1 / 3, 6);
    expect(w[1]).toBeCloseTo(1, 6);
    expect(pair.ess).toBeCloseTo(1.6, 5);
  });

  it('uniform replay: weights 1, ESS = batch size, only ready rows drawn', () => {
    const r = filled(false, 5);
    const f = new Float32Array(1);
    r.write(f, f, 0, null, 0); // not ready: waits for its successor
    const s = r.sample(40, 0.4, new Rng(3));
    expect(s.ess).toBeCloseTo(40, 9);
    for (const row of s.rows) expect(row).toBeLessThan(5);
  });

  it('links rows to successors; a wrapped ring never points at overwritten rows', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 1, maxLength: 60 }),
        (ops) => {
          const r = new Replay({ capacity: 8, viewSize: 0, features: 1, meanSize: 0 });
          const f = new Float32Array(1);
          let prev = -1;
          let stamp = 0;
          for (const op of ops) {
            f[0] = ++stamp;
            const row = r.write(f, f, 0, null, 0);
            if (prev >= 0) r.link(prev, 0, row);
            prev = row;
            if (op === 0) {
              r.finish(row, 0);
              prev = -1;
            }
          }
          // Every ready, non-terminal row links to a row written later (larger stamp).
          for (let i = 0; i < r.capacity; i++) {
            if (!r.ready[i] || r.done[i]) continue;
            expect(r.features[r.next[i]]).toBeGreaterThan(r.features[i]);
          }
          const ready = r.readyRows().length;
          expect(ready).toBe(r.readySize);
        },
      ),
    );
  });

  it('snapshot and restore give the same memory and the same draws', () => {
    const a = filled(true, 6);
    a.updatePriorities(new Int32Array([1, 2]), new Float32Array([0.5, 4]));
    const snap = a.snapshot();
    const copy = Object.fromEntries(
      Object.entries(snap.arrays).map(([k, v]) => [k, (v as Float32Array).slice()]),
    );
    const b = new Replay(a.shape, a.priority);
    b.restore({ ...snap.scalars }, copy);
    const sa = a.sample(10, 0.5, new Rng(9));
    const sb = b.sample(10, 0.5, new Rng(9));
    expect(Array.from(sb.rows)).toEqual(Array.from(sa.rows));
    expect(Array.from(sb.weights)).toEqual(Array.from(sa.weights));
  });
});
