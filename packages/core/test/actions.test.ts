/**
 * validateActions, the contract's one check of `step`'s actions, and stepAfterDone: random specs,
 * actions and alive masks (fast-check); it accepts exactly the valid ones, and its message names
 * the group, the slot, the value and the range.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  allocActions,
  type EnvSpec,
  GibbsError,
  stepAfterDone,
  validateActions,
} from '../src/index.ts';

const specArb = fc
  .array(
    fc.record({
      capacity: fc.integer({ min: 1, max: 12 }),
      actions: fc.integer({ min: 1, max: 9 }),
    }),
    { minLength: 1, maxLength: 4 },
  )
  .map(
    (groups): EnvSpec => ({
      name: 'w',
      maxSteps: 10,
      grid: null,
      groups: groups.map((g, i) => ({ name: `g${i}`, view: null, features: 0, ...g })),
    }),
  );

/** A spec, actions around its ranges (some out of range) and an alive mask (or null: all live). */
const caseArb = specArb.chain((spec) =>
  fc.record({
    spec: fc.constant(spec),
    actions: fc.tuple(
      ...spec.groups.map((g) =>
        fc
          .array(
            fc.oneof(
              fc.integer({ min: 0, max: g.actions - 1 }),
              fc.integer({ min: -3, max: g.actions + 3 }),
            ),
            {
              minLength: g.capacity,
              maxLength: g.capacity,
            },
          )
          .map((a) => Int32Array.from(a)),
      ),
    ),
    alive: fc.option(
      fc.tuple(
        ...spec.groups.map((g) =>
          fc.option(
            fc
              .array(fc.integer({ min: 0, max: 1 }), {
                minLength: g.capacity,
                maxLength: g.capacity,
              })
              .map((a) => Uint8Array.from(a)),
            { freq: 4 },
          ),
        ),
      ),
      { freq: 3 },
    ),
  }),
);

/** The first live slot holding an out-of-range action, in group then slot order; or null. */
function firstBad(
  spec: EnvSpec,
  actions: readonly Int32Array[],
  alive: readonly (Uint8Array | null)[] | null,
): { g: number; i: number; v: number } | null {
  for (let g = 0; g < spec.groups.length; g++)
    for (let i = 0; i < spec.groups[g].capacity; i++) {
      const mask = alive?.[g];
      const live = !mask || mask[i] === 1;
      const v = actions[g][i];
      if (live && !(v >= 0 && v < spec.groups[g].actions)) return { g, i, v };
    }
  return null;
}

function thrown(fn: () => void): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('validateActions', () => {
  it('accepts exactly the actions valid on live slots; the error names group, slot, value, range', () => {
    fc.assert(
      fc.property(caseArb, ({ spec, actions, alive }) => {
        const bad = firstBad(spec, actions, alive);
        const err = thrown(() => validateActions(spec, actions, alive));
        if (bad === null) {
          expect(err).toBeUndefined();
          return;
        }
        expect(err).toBeInstanceOf(GibbsError);
        const g = spec.groups[bad.g];
        const e = err as GibbsError;
        expect(e.message).toBe(
          `w: actions[${g.name}][${bad.i}] = ${bad.v}: expected an integer in [0, ${g.actions}) for a live slot`,
        );
        expect(e.field).toBe(`actions[${g.name}][${bad.i}]`);
        expect(e.value).toBe(bad.v);
      }),
      { numRuns: 500 },
    );
  });

  it('ignores dead slots whatever they hold', () => {
    fc.assert(
      fc.property(specArb, fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), (spec, v) => {
        const actions = allocActions(spec).map((a) => a.fill(v));
        const dead = spec.groups.map((g) => new Uint8Array(g.capacity));
        expect(() => validateActions(spec, actions, dead)).not.toThrow();
      }),
    );
  });

  it('checks the number of arrays and each array: an Int32Array of the capacity', () => {
    fc.assert(
      fc.property(specArb, fc.nat(), (spec, pick) => {
        const g = pick % spec.groups.length;
        const name = spec.groups[g].name;
        const cap = spec.groups[g].capacity;
        const fewer = allocActions(spec).slice(1);
        expect(() => validateActions(spec, fewer, null)).toThrow(
          new RegExp(
            `^w: actions: got ${fewer.length} array\\(s\\), expected ${spec.groups.length} Int32Array\\(s\\), one per group \\(g0`,
          ),
        );
        for (const wrong of [
          new Int32Array(cap + 1),
          Array.from({ length: cap }, () => 0),
          new Uint8Array(cap),
        ]) {
          const actions = allocActions(spec);
          actions[g] = wrong as Int32Array;
          const err = thrown(() => validateActions(spec, actions, null)) as GibbsError;
          expect(err).toBeInstanceOf(GibbsError);
          expect(err.message).toMatch(
            new RegExp(
              `^w: actions\\[${name}\\]: got \\w+\\(\\d+\\), expected an Int32Array of length ${cap} \\(the group's capacity\\)$`,
            ),
          );
        }
      }),
    );
    const spec: EnvSpec = {
      name: 'w',
      maxSteps: 1,
      grid: null,
      groups: [{ name: 'a', capacity: 1, view: null, features: 0, actions: 2 }],
    };
    expect(() => validateActions(spec, null as unknown as Int32Array[], null)).toThrow(
      /^w: actions: got null, expected 1 Int32Array\(s\), one per group \(a\)$/,
    );
  });

  it('the message of the contract', () => {
    const spec: EnvSpec = {
      name: 'battle',
      maxSteps: 1,
      grid: null,
      groups: [
        { name: 'red', capacity: 20, view: null, features: 0, actions: 21 },
        { name: 'blue', capacity: 20, view: null, features: 0, actions: 21 },
      ],
    };
    const actions = allocActions(spec);
    actions[0][17] = 21;
    expect(() => validateActions(spec, actions, null)).toThrow(
      'battle: actions[red][17] = 21: expected an integer in [0, 21) for a live slot',
    );
  });
});

describe('stepAfterDone', () => {
  it('a GibbsError that says to call reset', () => {
    const spec: EnvSpec = { name: 'w', maxSteps: 1, grid: null, groups: [] };
    const err = stepAfterDone(spec, 12);
    expect(err).toBeInstanceOf(GibbsError);
    expect(err.message).toBe(
      'w: step after the episode ended (done at step 12); call reset(seed) first',
    );
  });
});
