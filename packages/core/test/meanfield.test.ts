import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GibbsError } from '../src/errors.ts';
import {
  groupMeanAction,
  LocalMeanField,
  type LocalMeanFieldOptions,
  localMeanActionReference,
} from '../src/meanfield.ts';

describe('groupMeanAction', () => {
  it('averages one-hot actions over live agents only', () => {
    const actions = Int32Array.from([0, 2, 2, 1, 2]);
    const alive = Uint8Array.from([1, 1, 0, 1, 1]);
    expect(Array.from(groupMeanAction(actions, alive, 3))).toEqual([0.25, 0.25, 0.5]);
  });

  it('gives zeros when nobody is alive and rejects bad actions of live agents', () => {
    const out = Float32Array.from([9, 9]);
    groupMeanAction(Int32Array.from([1, 5]), Uint8Array.from([0, 0]), 2, out);
    expect(Array.from(out)).toEqual([0, 0]);
    expect(() => groupMeanAction(Int32Array.from([1, 5]), Uint8Array.from([1, 1]), 2)).toThrow(
      /actions\[1\]: got 5, expected an action in \[0, 2\)/,
    );
  });
});

describe('LocalMeanField', () => {
  it('matches a hand-worked 3x3 case (radius 1, walls)', () => {
    // Agents at (0,0) a0, (1,0) a1, (2,2) a1, (1,1) a0 dead.
    const mf = new LocalMeanField({ width: 3, height: 3, actions: 2, radius: 1 });
    const out = new Float32Array(8);
    mf.compute(
      Int32Array.from([0, 1, 2, 1]),
      Int32Array.from([0, 0, 2, 1]),
      Uint8Array.from([1, 1, 1, 0]),
      Int32Array.from([0, 1, 1, 0]),
      out,
    );
    // (0,0) sees (1,0) only; (1,0) sees (0,0) only; (2,2) sees nobody (dead (1,1) ignored).
    expect(Array.from(out)).toEqual([0, 1, 1, 0, 0, 0, 0, 0]);
  });

  it('wraps around a torus: the corners of a 4x4 grid are neighbours', () => {
    const mf = new LocalMeanField({ width: 4, height: 4, actions: 2, radius: 1, wrap: true });
    const out = new Float32Array(4);
    mf.compute(
      Int32Array.from([0, 3]),
      Int32Array.from([0, 3]),
      Uint8Array.from([1, 1]),
      Int32Array.from([0, 1]),
      out,
    );
    expect(Array.from(out)).toEqual([0, 1, 1, 0]);
  });

  it('names the field of a bad input', () => {
    expect(() => new LocalMeanField({ width: 0, height: 3, actions: 2, radius: 1 })).toThrow(
      GibbsError,
    );
    const mf = new LocalMeanField({ width: 3, height: 3, actions: 2, radius: 1 });
    expect(() =>
      mf.compute(
        Int32Array.from([3]),
        Int32Array.from([0]),
        Uint8Array.from([1]),
        Int32Array.from([0]),
        new Float32Array(2),
      ),
    ).toThrow(/x\[0\]: got 3, expected a column in \[0, 3\)/);
  });

  const world = fc
    .record({
      width: fc.integer({ min: 1, max: 12 }),
      height: fc.integer({ min: 1, max: 12 }),
      actions: fc.integer({ min: 1, max: 5 }),
      radius: fc.integer({ min: 0, max: 8 }),
      wrap: fc.boolean(),
      n: fc.integer({ min: 0, max: 40 }),
    })
    .chain((w) =>
      fc.record({
        opts: fc.constant(w as LocalMeanFieldOptions & { n: number }),
        agents: fc.array(
          fc.tuple(
            fc.integer({ min: 0, max: w.width - 1 }),
            fc.integer({ min: 0, max: w.height - 1 }),
            fc.boolean(),
            fc.integer({ min: 0, max: w.actions - 1 }),
          ),
          { minLength: w.n, maxLength: w.n },
        ),
      }),
    );

  it('equals the brute-force reference on random maps (fast-check)', () => {
    fc.assert(
      fc.property(world, ({ opts, agents }) => {
        const n = agents.length;
        const x = Int32Array.from(agents.map((a) => a[0]));
        const y = Int32Array.from(agents.map((a) => a[1]));
        const alive = Uint8Array.from(agents.map((a) => (a[2] ? 1 : 0)));
        const act = Int32Array.from(agents.map((a) => a[3]));
        const got = new LocalMeanField(opts).compute(
          x,
          y,
          alive,
          act,
          new Float32Array(n * opts.actions),
        );
        const want = localMeanActionReference(
          opts,
          x,
          y,
          alive,
          act,
          new Float32Array(n * opts.actions),
        );
        for (let i = 0; i < got.length; i++) expect(got[i]).toBeCloseTo(want[i], 6);
        // Each live agent's row is a distribution (or zeros when it has no neighbour).
        for (let i = 0; i < n; i++) {
          let s = 0;
          for (let a = 0; a < opts.actions; a++) s += got[i * opts.actions + a];
          expect(s === 0 || Math.abs(s - 1) < 1e-5).toBe(true);
        }
      }),
      { numRuns: 400, seed: 42 },
    );
  });

  it('reuses its table across calls (second call on another map is still exact)', () => {
    const opts = { width: 6, height: 5, actions: 3, radius: 2 };
    const mf = new LocalMeanField(opts);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(5), fc.nat(4), fc.nat(2)), { minLength: 1, maxLength: 20 }),
        (ag) => {
          const x = Int32Array.from(ag.map((a) => a[0]));
          const y = Int32Array.from(ag.map((a) => a[1]));
          const alive = new Uint8Array(ag.length).fill(1);
          const act = Int32Array.from(ag.map((a) => a[2]));
          const got = mf.compute(x, y, alive, act, new Float32Array(ag.length * 3));
          const want = localMeanActionReference(
            opts,
            x,
            y,
            alive,
            act,
            new Float32Array(ag.length * 3),
          );
          expect(Array.from(got)).toEqual(Array.from(want));
        },
      ),
      { numRuns: 100, seed: 7 },
    );
  });
});
