import { checkEnv } from '@gibbs/core';
import { describe, expect, it } from 'vitest';
import {
  PREDATORS,
  PREY,
  PURSUIT_ATTACKS,
  PURSUIT_MOVES,
  Pursuit,
  type PursuitConfig,
} from '../src/pursuit.ts';

function moveOf(g: number, dx: number, dy: number): number {
  const m = PURSUIT_MOVES[g];
  for (let k = 0; k < m.length / 2; k++) if (m[2 * k] === dx && m[2 * k + 1] === dy) return k;
  return -1;
}
function attack(dx: number, dy: number): number {
  for (let k = 0; k < 8; k++)
    if (PURSUIT_ATTACKS[2 * k] === dx && PURSUIT_ATTACKS[2 * k + 1] === dy) return 5 + k;
  throw new Error('no such attack');
}
function world(layout: PursuitConfig['layout'], extra: Partial<PursuitConfig> = {}): Pursuit {
  return new Pursuit({ map: 12, layout, ...extra });
}

describe('pursuit', () => {
  it('carries two heterogeneous groups: views, features and action counts differ', () => {
    const p = new Pursuit();
    const [pred, prey] = p.spec.groups;
    expect(pred).toMatchObject({ name: 'predators', capacity: 25, actions: 13, features: 16 });
    expect(pred.view).toMatchObject({ height: 11, width: 11, channels: 3 });
    expect(prey).toMatchObject({ name: 'prey', capacity: 50, actions: 9, features: 12 });
    expect(prey.view).toMatchObject({ height: 9, width: 9, channels: 3 });
    const out = p.reset(0);
    expect(out.groups[0].view.length).toBe(25 * 11 * 11 * 3);
    expect(out.groups[1].view.length).toBe(50 * 9 * 9 * 3);
    // Predators move along the axes only; prey also diagonally.
    expect(moveOf(PREDATORS, 1, 1)).toBe(-1);
    expect(moveOf(PREY, 1, 1)).toBeGreaterThan(0);
    expect(pred.actionNames?.[0]).toBe('stay');
  });

  it('tags: +1 - 0.2 to the predator, -1 to the prey per tag; a miss costs 0.2', () => {
    const p = world({
      predators: [
        [5, 5],
        [7, 5],
        [2, 2],
      ],
      prey: [[6, 5]],
      walls: [],
    });
    p.reset(1);
    const out = p.step([
      Int32Array.of(attack(1, 0), attack(-1, 0), attack(0, 1)),
      Int32Array.of(0),
    ]);
    const [pred, prey] = out.groups;
    expect(pred.reward[0]).toBeCloseTo(0.8, 6);
    expect(pred.reward[1]).toBeCloseTo(0.8, 6);
    expect(pred.reward[2]).toBeCloseTo(-0.2, 6);
    expect(prey.reward[0]).toBe(-2);
    expect(out.info).toMatchObject({ tags: 2, attacks: 3 });
    // Nobody dies.
    expect(Array.from(prey.alive)).toEqual([1]);
    // Diagonal tag.
    const q = world({ predators: [[5, 5]], prey: [[6, 6]], walls: [] });
    q.reset(1);
    const o2 = q.step([Int32Array.of(attack(1, 1)), Int32Array.of(0)]);
    expect(o2.groups[1].reward[0]).toBe(-1);
  });

  it('moves are blocked by walls, agents and the edge; views see walls, predators and prey', () => {
    const p = world({ predators: [[0, 0]], prey: [[3, 3]], walls: [[1, 0]] });
    let out = p.reset(1);
    // Predator view 11x11x3 centred at (0, 0): wall at dx=1, prey at (3, 3).
    const pv = (dx: number, dy: number, c: number) =>
      out.groups[0].view[((dy + 5) * 11 + dx + 5) * 3 + c];
    expect(pv(1, 0, 0)).toBe(1);
    expect(pv(-1, 0, 0)).toBe(1);
    expect(pv(0, 0, 1)).toBe(1);
    expect(pv(3, 3, 2)).toBe(1);
    expect(pv(-5, -5, 0)).toBe(0); // outside the circle
    // Prey view 9x9x3 centred at (3, 3): predator at (-3, -3), which is inside radius 4? 18 > 16: no.
    const qv = (dx: number, dy: number, c: number) =>
      out.groups[1].view[((dy + 4) * 9 + dx + 4) * 3 + c];
    expect(qv(-3, -3, 1)).toBe(0);
    expect(qv(-3, -3, 0)).toBe(0);
    expect(qv(-2, -3, 0)).toBe(1); // the wall at (1, 0)
    out = p.step([Int32Array.of(moveOf(PREDATORS, 1, 0)), Int32Array.of(moveOf(PREY, -1, -1))]);
    expect([p.x[0][0], p.y[0][0]]).toEqual([0, 0]);
    expect([p.x[1][0], p.y[1][0]]).toEqual([2, 2]);
    expect(qv(-2, -2, 1)).toBe(1);
    out = p.step([Int32Array.of(moveOf(PREDATORS, 0, -1)), Int32Array.of(moveOf(PREY, 1, 1))]);
    expect([p.x[0][0], p.y[0][0]]).toEqual([0, 0]);
    expect([p.x[1][0], p.y[1][0]]).toEqual([3, 3]);
    // Features: last action one-hot, last reward, position.
    const f = out.groups[1].features;
    expect(f[moveOf(PREY, 1, 1)]).toBe(1);
    expect(f[10]).toBeCloseTo(3 / 11, 6);
  });

  it('truncates both groups at maxSteps', () => {
    const p = world({ predators: [[1, 1]], prey: [[8, 8]], walls: [] }, { maxSteps: 2 });
    p.reset(1);
    const acts = [Int32Array.of(0), Int32Array.of(0)];
    expect(p.step(acts).done).toBe(false);
    const out = p.step(acts);
    expect(out.done).toBe(true);
    expect(out.groups.map((g) => g.truncated[0])).toEqual([1, 1]);
  });

  it('rejects bad actions per group with the group name and slot', () => {
    const p = world({ predators: [[1, 1]], prey: [[8, 8]], walls: [] });
    p.reset(1);
    expect(() => p.step([Int32Array.of(0), Int32Array.of(9)])).toThrow(
      /^pursuit: actions\[prey\]\[0\] = 9: expected an integer in \[0, 9\) for a live slot$/,
    );
    expect(() => p.step([Int32Array.of(13), Int32Array.of(0)])).toThrow(
      /actions\[predators\]\[0\] = 13/,
    );
    expect(() => world({ predators: [[1, 1]], prey: [[1, 1]], walls: [] })).toThrow(
      /layout\.prey\[0\].*not used twice/,
    );
  });

  it('passes the checker', () => {
    expect(
      checkEnv(() => new Pursuit({ map: 20, predators: 6, prey: 12, maxSteps: 30 }), {
        stochastic: true,
      }),
    ).toEqual([]);
  });
});
