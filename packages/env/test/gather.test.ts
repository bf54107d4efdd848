import { checkEnv } from '@gibbs/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  FOOD_HP,
  GATHER_MOVES,
  Gather,
  type GatherConfig,
  gatherMagentLayout,
} from '../src/gather.ts';

const STAY = 14;
const N = 29;
const W_ = 30;
const E = 31;
const S = 32;
/** Action index of the move (dx, dy). */
function move(dx: number, dy: number): number {
  for (let k = 0; k < GATHER_MOVES.length / 2; k++)
    if (GATHER_MOVES[2 * k] === dx && GATHER_MOVES[2 * k + 1] === dy) return k;
  throw new Error(`no move ${dx},${dy}`);
}

function world(layout: GatherConfig['layout'], extra: Partial<GatherConfig> = {}): Gather {
  return new Gather({ map: 12, layout, ...extra });
}

/** Index of channel c of cell (dx, dy) of slot i's 15x15x5 view. */
function viewAt(i: number, dx: number, dy: number, c: number): number {
  return i * 1125 + ((dy + 7) * 15 + (dx + 7)) * 5 + c;
}

describe('gather', () => {
  it('has the spec of MAgent2 gather_v5 (495 foragers on 200x200, 15x15x5 views, 33 actions)', () => {
    const g = new Gather();
    const [f] = g.spec.groups;
    expect(f.capacity).toBe(495);
    expect(f.view).toMatchObject({ height: 15, width: 15, channels: 5 });
    expect(f.actions).toBe(33);
    expect(f.features).toBe(36);
    expect(g.spec.maxSteps).toBe(500);
    expect(move(0, 0)).toBe(STAY);
    expect(f.actionNames?.slice(29)).toEqual(['attack N', 'attack W', 'attack E', 'attack S']);
    const l = gatherMagentLayout(200);
    expect(new Set([...l.agents, ...l.food]).size).toBe(l.agents.length + l.food.length);
  });

  it('eating: five attacks of 6 break a food cell of hp 25; +0.5 each, +5 for the last', () => {
    const g = world({ agents: [[5, 5]], food: [[5, 4]] });
    let out = g.reset(1);
    const hp: number[] = [];
    const rewards: number[] = [];
    for (let t = 0; t < 5; t++) {
      out = g.step([Int32Array.of(N)]);
      hp.push(g.foodHp[4 * 12 + 5]);
      rewards.push(out.groups[0].reward[0]);
    }
    expect(hp).toEqual([19, 13, 7, 1, 0]);
    for (const r of rewards.slice(0, 4)) expect(r).toBeCloseTo(-0.01 - 0.1 + 0.5, 6);
    expect(rewards[4]).toBeCloseTo(-0.01 - 0.1 + 0.5 + 5, 6);
    expect(out.info['food.eaten']).toBe(1);
    expect(out.info['food.left']).toBe(0);
    expect(g.food).toBe(0);
    // The cell is empty now: the forager can walk into it.
    out = g.step([Int32Array.of(move(0, -1))]);
    expect([g.x[0], g.y[0]]).toEqual([5, 4]);
    expect(out.groups[0].reward[0]).toBeCloseTo(-0.01, 6);
  });

  it('attacks on empty or off-map cells cost only the penalty; food hp from the layout', () => {
    const g = world({ agents: [[0, 0]], food: [[1, 0]], foodHp: [7] });
    g.reset(1);
    let out = g.step([Int32Array.of(N)]); // off the map
    expect(out.groups[0].reward[0]).toBeCloseTo(-0.11, 6);
    out = g.step([Int32Array.of(S)]); // empty cell (0, 1)
    expect(out.groups[0].reward[0]).toBeCloseTo(-0.11, 6);
    out = g.step([Int32Array.of(E)]); // food 7 -> 1
    expect(g.foodHp[1]).toBe(1);
    out = g.step([Int32Array.of(E)]); // eaten
    expect(out.groups[0].reward[0]).toBeCloseTo(-0.11 + 0.5 + 5, 6);
    expect(out.info).toMatchObject({ 'food.eaten': 1, 'food.attacks': 1, attacks: 1 });
  });

  it('one attack kills a forager (-1 to it, nothing but the penalty to the attacker)', () => {
    const g = world({
      agents: [
        [5, 5],
        [6, 5],
      ],
      food: [],
    });
    g.reset(1);
    const out = g.step([Int32Array.of(E, STAY)]);
    const o = out.groups[0];
    expect(Array.from(o.alive)).toEqual([1, 0]);
    expect(Array.from(o.terminated)).toEqual([0, 1]);
    expect(o.reward[0]).toBeCloseTo(-0.11, 6);
    expect(o.reward[1]).toBeCloseTo(-1.01, 6);
    expect(out.info.kills).toBe(1);
    expect(out.done).toBe(false);
    expect(g.render().agents.count).toBe(1);
  });

  it('mutual attacks: the first in the seeded order kills, the victim never strikes', () => {
    const survivors = new Set<number>();
    for (let seed = 0; seed < 12; seed++) {
      const g = world({
        agents: [
          [5, 5],
          [6, 5],
        ],
        food: [],
      });
      g.reset(seed);
      const o = g.step([Int32Array.of(E, W_)]).groups[0];
      expect(o.alive[0] + o.alive[1]).toBe(1);
      const winner = o.alive[0] ? 0 : 1;
      survivors.add(winner);
      expect(o.reward[winner]).toBeCloseTo(-0.11, 6);
      expect(o.reward[1 - winner]).toBeCloseTo(-1.01, 6);
      // Same seed, same outcome.
      const h = world({
        agents: [
          [5, 5],
          [6, 5],
        ],
        food: [],
      });
      h.reset(seed);
      expect(h.step([Int32Array.of(E, W_)]).groups[0].alive[winner]).toBe(1);
    }
    expect(survivors).toEqual(new Set([0, 1]));
  });

  it('moves: up to radius 3, blocked by food, foragers and the map edge; one mover per cell', () => {
    const g = world({
      agents: [
        [5, 5],
        [0, 0],
        [9, 5],
      ],
      food: [[5, 2]],
    });
    g.reset(3);
    g.step([Int32Array.of(move(0, -3), move(-1, 0), move(3, 0))]);
    expect([g.x[0], g.y[0]]).toEqual([5, 5]); // food at (5, 2)
    expect([g.x[1], g.y[1]]).toEqual([0, 0]); // off the map
    expect([g.x[2], g.y[2]]).toEqual([9, 5]); // (12, 5) is off a 12-wide map
    g.step([Int32Array.of(move(2, 1), STAY, move(-2, 1))]);
    // Both aim at (7, 6): one gets it, the other stays where it was.
    const at = (i: number) => `${g.x[i]},${g.y[i]}`;
    expect([at(0), at(2)].sort()).toEqual(g.x[0] === 7 ? ['7,6', '9,5'] : ['5,5', '7,6']);
    const r = g.render();
    expect(r.cells[6 * 12 + 7]).toBe(2);
    expect(r.agents.count).toBe(3);
    expect(r.cells[2 * 12 + 5]).toBe(1);
  });

  it('two foragers aiming at one cell: exactly one gets it, decided by the seed', () => {
    const winners = new Set<number>();
    for (let seed = 0; seed < 12; seed++) {
      const g = world({
        agents: [
          [4, 5],
          [6, 5],
        ],
        food: [],
      });
      g.reset(seed);
      g.step([Int32Array.of(move(1, 0), move(-1, 0))]);
      const moved = [g.x[0] === 5 ? 1 : 0, g.x[1] === 5 ? 1 : 0];
      expect(moved[0] + moved[1]).toBe(1);
      winners.add(moved[0] ? 0 : 1);
    }
    expect(winners).toEqual(new Set([0, 1]));
  });

  it('observes a 15x15x5 circle: obstacle off the map, foragers and food with hp, zero outside', () => {
    const g = world({
      agents: [
        [0, 0],
        [2, 1],
      ],
      food: [[1, 0]],
      foodHp: [10],
    });
    const v = g.reset(1).groups[0].view;
    expect(v[viewAt(0, 0, 0, 1)]).toBe(1); // itself
    expect(v[viewAt(0, 0, 0, 2)]).toBe(1); // full hp
    expect(v[viewAt(0, 1, 0, 3)]).toBe(1); // food
    expect(v[viewAt(0, 1, 0, 4)]).toBeCloseTo(10 / 25, 6);
    expect(v[viewAt(0, 2, 1, 1)]).toBe(1); // the other forager
    expect(v[viewAt(0, -1, 0, 0)]).toBe(1); // off the map
    expect(v[viewAt(0, -7, 0, 0)]).toBe(1); // off the map, on the circle
    expect(v[viewAt(0, -7, -7, 0)]).toBe(0); // outside the circle
    expect(v[viewAt(0, 5, 5, 0)]).toBe(0); // on the map, empty
    expect(v[viewAt(0, 1, 1, 0)]).toBe(0);
    // Forager 1 sees forager 0 at (-2, -1) and the food at (-1, -1).
    expect(v[viewAt(1, -2, -1, 1)]).toBe(1);
    expect(v[viewAt(1, -1, -1, 3)]).toBe(1);
    let sum = 0;
    for (let k = 0; k < 1125; k++) sum += v[k];
    // Obstacle cells of the circle (r = 7) off the map for an agent at (0, 0): 149 - 8 * 8 + ...
    let off = 0;
    for (let dy = -7; dy <= 7; dy++)
      for (let dx = -7; dx <= 7; dx++) if (dx * dx + dy * dy <= 49 && (dx < 0 || dy < 0)) off++;
    expect(sum).toBeCloseTo(off + 1 + 1 + 1 + 0.4 + 1 + 1, 5);
  });

  it('features: last action one-hot, last reward, normalised position', () => {
    const g = world({ agents: [[11, 0]], food: [] });
    g.reset(1);
    const f = g.step([Int32Array.of(S)]).groups[0].features;
    expect(
      Array.from(f.slice(0, 33))
        .map((v, k) => (v ? k : -1))
        .filter((k) => k >= 0),
    ).toEqual([S]);
    expect(f[33]).toBeCloseTo(-0.11, 6);
    expect(f[34]).toBe(1);
    expect(f[35]).toBe(0);
  });

  it('starvation with stepRecover -1: hp 3 -> dead on step 3, episode over', () => {
    const g = world({ agents: [[3, 3]], food: [] }, { stepRecover: -1 });
    g.reset(1);
    const rewards: number[] = [];
    let out = g.step([Int32Array.of(STAY)]);
    rewards.push(out.groups[0].reward[0]);
    expect(g.hp[0]).toBe(2);
    out = g.step([Int32Array.of(STAY)]);
    expect(g.hp[0]).toBe(1);
    out = g.step([Int32Array.of(STAY)]);
    expect(out.groups[0].alive[0]).toBe(0);
    expect(out.groups[0].terminated[0]).toBe(1);
    expect(out.groups[0].reward[0]).toBeCloseTo(-1.01, 6);
    expect(out.info.starved).toBe(1);
    expect(out.done).toBe(true);
    expect(rewards[0]).toBeCloseTo(-0.01, 6);
  });

  it('truncates every live forager at maxSteps', () => {
    const g = world(
      {
        agents: [
          [3, 3],
          [8, 8],
        ],
        food: [],
      },
      { maxSteps: 2 },
    );
    g.reset(1);
    expect(g.step([Int32Array.of(STAY, STAY)]).done).toBe(false);
    const out = g.step([Int32Array.of(STAY, STAY)]);
    expect(out.done).toBe(true);
    expect(Array.from(out.groups[0].truncated)).toEqual([1, 1]);
    expect(Array.from(out.groups[0].terminated)).toEqual([0, 0]);
  });

  it('rejects bad actions and layouts with GibbsErrors naming the slot or cell', () => {
    const g = world({ agents: [[3, 3]], food: [] });
    g.reset(1);
    expect(() => g.step([Int32Array.of(33)])).toThrow(
      /^gather: actions\[foragers\]\[0\] = 33: expected an integer in \[0, 33\) for a live slot$/,
    );
    expect(() => g.step([new Int32Array(2)])).toThrow(
      /^gather: actions\[foragers\]: got Int32Array\(2\), expected an Int32Array of length 1/,
    );
    expect(() => world({ agents: [[12, 0]], food: [] })).toThrow(
      /layout\.agents\[0\]: got array\(2\)/,
    );
    expect(() => world({ agents: [[1, 1]], food: [[1, 1]] })).toThrow(/distinct cells/);
    expect(() => new Gather({ map: 10, placement: 'random', agents: 70, food: 20 })).toThrow(
      /at most 80 %/,
    );
  });

  it('passes the checker (random and magent layouts, stochastic under the seed)', () => {
    const small = { map: 24, placement: 'random' as const, agents: 30, food: 60, maxSteps: 40 };
    expect(checkEnv(() => new Gather(small), { stochastic: true })).toEqual([]);
    expect(checkEnv(() => new Gather({ map: 30, maxSteps: 20 }), { stochastic: true })).toEqual([]);
    expect(
      checkEnv(() => new Gather({ ...small, stepRecover: -0.5, maxSteps: 10 }), {
        stochastic: true,
      }),
    ).toEqual([]);
  });

  it('keeps its invariants under random actions (one forager per cell, hp in [0, 3], food hp only falls)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1e6 }),
        fc.integer({ min: 0, max: 1e6 }),
        (seed, aseed) => {
          const g = new Gather({
            map: 10,
            placement: 'random',
            agents: 12,
            food: 20,
            maxSteps: 25,
          });
          let out = g.reset(seed);
          let rng = aseed;
          const acts = new Int32Array(12);
          let prevAlive = 12;
          let prevFood = Float32Array.from(g.foodHp);
          while (!out.done) {
            for (let i = 0; i < 12; i++) {
              rng = (Math.imul(rng, 1103515245) + 12345) >>> 0;
              acts[i] = rng % 33;
            }
            out = g.step([acts]);
            const o = out.groups[0];
            const cells = new Set<number>();
            let alive = 0;
            for (let i = 0; i < 12; i++) {
              if (!o.alive[i]) continue;
              alive++;
              expect(g.hp[i]).toBeGreaterThan(0);
              expect(g.hp[i]).toBeLessThanOrEqual(3);
              const c = g.y[i] * 10 + g.x[i];
              expect(cells.has(c)).toBe(false);
              expect(g.foodHp[c]).toBe(0);
              cells.add(c);
            }
            expect(alive).toBeLessThanOrEqual(prevAlive);
            for (let c = 0; c < 100; c++) expect(g.foodHp[c]).toBeLessThanOrEqual(prevFood[c]);
            prevAlive = alive;
            prevFood = Float32Array.from(g.foodHp);
          }
          expect(FOOD_HP).toBe(25);
        },
      ),
      { numRuns: 25 },
    );
  });
});
