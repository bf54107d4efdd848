import { checkEnv } from '@gibbs/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import {
  DEER,
  TIGERS,
  TigerDeer,
  type TigerDeerConfig,
  type tigerDeerConfig,
} from '../src/tiger-deer.ts';

const STAY = 0;
const ATTACK = { N: 5, W: 6, E: 7, S: 8 };

type TigerDeerLayout = z.input<typeof tigerDeerConfig>['layout'];

function world(layout: TigerDeerLayout, extra: Partial<TigerDeerConfig> = {}): TigerDeer {
  return new TigerDeer({ map: 12, layout, ...extra });
}
const acts = (deer: number[], tigers: number[]) => [Int32Array.from(deer), Int32Array.from(tigers)];

describe('tiger-deer', () => {
  it('has two heterogeneous groups with the MAgent sizes (101 deer, 20 tigers, 81 walls on 45x45)', () => {
    const env = new TigerDeer();
    const [deer, tigers] = env.spec.groups;
    expect(deer).toMatchObject({ name: 'deer', capacity: 101, actions: 5, features: 8 });
    expect(deer.view).toMatchObject({ height: 3, width: 3, channels: 5 });
    expect(tigers).toMatchObject({ name: 'tigers', capacity: 20, actions: 9, features: 12 });
    expect(tigers.view).toMatchObject({ height: 9, width: 9, channels: 5 });
    env.reset(0);
    expect(Array.from(env.render().cells).filter((c) => c === 1)).toHaveLength(81);
  });

  it('a joint attack kills a deer of hp 5: +1 to each tiger, -0.1 per attack to the deer, +8 hp', () => {
    const env = world(
      {
        deer: [
          [5, 5],
          [10, 10],
        ],
        tigers: [
          [4, 5],
          [6, 5],
        ],
        tigerHp: [5, 9.5],
      },
      { walls: 0 },
    );
    env.reset(1);
    const out = env.step(acts([STAY, STAY], [ATTACK.E, ATTACK.W]));
    const [deer, tigers] = out.groups;
    expect(Array.from(deer.alive)).toEqual([0, 1]);
    expect(deer.terminated[0]).toBe(1);
    expect(deer.reward[0]).toBeCloseTo(-0.2, 6);
    expect(Array.from(tigers.reward)).toEqual([1, 1]);
    // 5 + 8 = 13 -> 10 (cap) -> 9.9; 9.5 + 8 -> 10 -> 9.9.
    expect(env.hp[TIGERS][0]).toBeCloseTo(9.9, 12);
    expect(env.hp[TIGERS][1]).toBeCloseTo(9.9, 12);
    expect(out.info).toMatchObject({ hunts: 2, 'deer.killed': 1, 'alive.deer': 1 });
    expect(out.done).toBe(false);
  });

  it('a lone attack wounds (hp 5 - 3 + 0.2) and pays the tiger nothing', () => {
    const env = world(
      {
        deer: [[5, 5]],
        tigers: [
          [5, 4],
          [1, 1],
        ],
      },
      { walls: 0 },
    );
    env.reset(1);
    const out = env.step(acts([STAY], [ATTACK.S, STAY]));
    expect(out.groups[DEER].reward[0]).toBeCloseTo(-0.1, 6);
    expect(Array.from(out.groups[TIGERS].reward)).toEqual([0, 0]);
    expect(env.hp[DEER][0]).toBeCloseTo(2.2, 12);
    expect(env.hp[TIGERS][0]).toBeCloseTo(9.9, 12);
    // The deer's own 3x3 view shows the tiger north of it with hp 9.9 / 10.
    const v = out.groups[DEER].view;
    expect(v[(0 * 3 + 1) * 5 + 3]).toBe(1);
    expect(v[(0 * 3 + 1) * 5 + 4]).toBeCloseTo(0.99, 6);
    expect(v[(1 * 3 + 1) * 5 + 2]).toBeCloseTo(2.2 / 5, 6);
  });

  it('tigers starve: hp 10 at -0.1 a step dies on step 100; the last tiger ends the game', () => {
    const env = world({ deer: [[10, 10]], tigers: [[1, 1]] }, { walls: 0, maxSteps: 500 });
    env.reset(1);
    let out = env.step(acts([STAY], [STAY]));
    for (let t = 2; t < 100; t++) out = env.step(acts([STAY], [STAY]));
    expect(out.groups[TIGERS].alive[0]).toBe(1);
    out = env.step(acts([STAY], [STAY]));
    expect(out.step).toBe(100);
    expect(out.groups[TIGERS].alive[0]).toBe(0);
    expect(out.info['tigers.starved']).toBe(1);
    expect(out.done).toBe(true);
    // The surviving deer's game ended too: terminated while alive.
    expect(out.groups[DEER].alive[0]).toBe(1);
    expect(out.groups[DEER].terminated[0]).toBe(1);
    // Deer hp never exceeds 5.
    expect(env.hp[DEER][0]).toBe(5);
  });

  it('moves go around walls and agents; bad actions name the group and slot', () => {
    const env = world({ deer: [[3, 3]], tigers: [[5, 5]], walls: [[3, 2]] }, { walls: 0 });
    env.reset(1);
    env.step(acts([1], [3])); // deer N into the wall: stays; tiger E
    expect([env.x[DEER][0], env.y[DEER][0]]).toEqual([3, 3]);
    expect([env.x[TIGERS][0], env.y[TIGERS][0]]).toEqual([6, 5]);
    expect(() => env.step(acts([5], [0]))).toThrow(
      /^tiger-deer: actions\[deer\]\[0\] = 5: expected an integer in \[0, 5\) for a live slot$/,
    );
    expect(() => env.step(acts([0], [9]))).toThrow(/actions\[tigers\]\[0\] = 9/);
  });

  it('passes the checker', () => {
    expect(
      checkEnv(() => new TigerDeer({ map: 20, deer: 20, tigers: 8, maxSteps: 120 }), {
        stochastic: true,
      }),
    ).toEqual([]);
  });

  it('keeps its invariants under random actions (one agent per cell, hp bounds, no revival)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1e6 }),
        fc.integer({ min: 1, max: 1e6 }),
        (seed, aseed) => {
          const env = new TigerDeer({ map: 10, deer: 12, tigers: 6, walls: 0.05, maxSteps: 40 });
          let out = env.reset(seed);
          let s = aseed;
          const acts = [new Int32Array(12), new Int32Array(6)];
          const was = [new Uint8Array(12), new Uint8Array(6)];
          while (!out.done) {
            for (let g = 0; g < 2; g++) {
              was[g].set(out.groups[g].alive);
              for (let i = 0; i < acts[g].length; i++) {
                s = (Math.imul(s, 1103515245) + 12345) >>> 0;
                acts[g][i] = (s >>> 8) % (g === DEER ? 5 : 9);
              }
            }
            out = env.step(acts);
            const cells = env.render().cells;
            const seen = new Set<number>();
            for (let g = 0; g < 2; g++)
              for (let i = 0; i < acts[g].length; i++) {
                const alive = out.groups[g].alive[i];
                if (!was[g][i]) expect(alive).toBe(0);
                if (!alive) continue;
                const c = env.y[g][i] * 10 + env.x[g][i];
                expect(seen.has(c)).toBe(false);
                seen.add(c);
                expect(cells[c]).toBe(2 + g);
                expect(env.hp[g][i]).toBeGreaterThan(0);
                expect(env.hp[g][i]).toBeLessThanOrEqual(g === DEER ? 5 : 10);
              }
          }
        },
      ),
      { numRuns: 12 },
    );
  });
});
