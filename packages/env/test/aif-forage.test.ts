/** The aif-forage world: contract, smell levels and the food economy, worked by hand. */
import { assertEnv } from '@gibbs/core';
import { describe, expect, it } from 'vitest';
import {
  AifForageEnv,
  SMELL_FAINT,
  SMELL_NONE,
  SMELL_STRONG,
  smellLevel,
} from '../src/aif-forage.ts';

const make = (over: Partial<ConstructorParameters<typeof AifForageEnv>[0]> = {}) =>
  new AifForageEnv({
    width: 12,
    height: 10,
    agents: 8,
    food: 6,
    smellNoise: 0,
    maxSteps: 30,
    ...over,
  });

describe('aif-forage environment', () => {
  it('passes the environment checker (stochastic)', () => {
    assertEnv(() => make({ smellNoise: 0.1 }), { stochastic: true });
  });

  it('smell levels: strong at distance <= 1, faint at <= 3, none beyond', () => {
    expect([0, 1, 2, 3, 4, 9].map(smellLevel)).toEqual([
      SMELL_STRONG,
      SMELL_STRONG,
      SMELL_FAINT,
      SMELL_FAINT,
      SMELL_NONE,
      SMELL_NONE,
    ]);
  });

  it('distances are toroidal Manhattan distances to the nearest food, and smell reads them', () => {
    const env = make();
    const out = env.reset(4);
    const { width, height } = env.config;
    for (let c = 0; c < width * height; c++) {
      const cx = c % width;
      const cy = Math.floor(c / width);
      let best = Number.POSITIVE_INFINITY;
      for (let f = 0; f < width * height; f++) {
        if (!env.foodMap[f]) continue;
        const dx = Math.abs((f % width) - cx);
        const dy = Math.abs(Math.floor(f / width) - cy);
        best = Math.min(best, Math.min(dx, width - dx) + Math.min(dy, height - dy));
      }
      expect(env.distance[c]).toBe(best);
    }
    for (let i = 0; i < 8; i++) {
      expect(out.groups[0].features[2 * i + 1]).toBe(
        smellLevel(env.distance[env.y[i] * width + env.x[i]]),
      );
    }
  });

  it('an agent stepping onto food eats it (+1, cell = 1) and the amount of food stays constant', () => {
    const env = make({ agents: 1 });
    env.reset(2);
    const { width, height } = env.config;
    // Put the agent left of a food item whose left neighbour is empty, and step right.
    let f = -1;
    for (let c = 0; c < width * height && f < 0; c++) {
      const left = Math.floor(c / width) * width + (((c % width) + width - 1) % width);
      if (env.foodMap[c] && !env.foodMap[left]) f = c;
    }
    expect(f).toBeGreaterThanOrEqual(0);
    env.x[0] = ((f % width) + width - 1) % width;
    env.y[0] = Math.floor(f / width);
    const out = env.step([Int32Array.of(2)]);
    expect(out.groups[0].reward[0]).toBe(1);
    expect(out.groups[0].features[0]).toBe(1);
    expect(out.info.food_eaten).toBe(1);
    expect(env.eaten[0]).toBe(1);
    expect(env.foodMap.reduce((a, b) => a + b, 0)).toBe(6);
  });

  it('moves wrap around the edges', () => {
    const env = make({ agents: 1 });
    env.reset(0);
    env.x[0] = 0;
    env.y[0] = 0;
    env.step([Int32Array.of(4)]); // left
    expect(env.x[0]).toBe(11);
    env.step([Int32Array.of(1)]); // up
    expect(env.y[0]).toBe(9);
  });

  it('rejects an action out of range and too much food', () => {
    const env = make();
    env.reset(0);
    expect(() => env.step([Int32Array.of(0, 0, 5, 0, 0, 0, 0, 0)])).toThrow(
      /^aif-forage: actions\[foragers\]\[2\] = 5: expected an integer in \[0, 5\) for a live slot$/,
    );
    expect(() => make({ food: 120 })).toThrow(/food/);
  });
});

describe('aif-forage with rivals (a second group)', () => {
  it('passes the checker; both groups eat from the same food', () => {
    assertEnv(() => make({ rivals: 5, smellNoise: 0.1 }), { stochastic: true });
    const env = make({ rivals: 5 });
    const out = env.reset(9);
    expect(env.spec.groups.map((g) => g.name)).toEqual(['foragers', 'rivals']);
    expect(out.groups[1].features).toHaveLength(10);
    let eaten = 0;
    for (let s = 0; s < 30; s++) {
      const o = env.step([new Int32Array(8).fill(2), new Int32Array(5).fill(3)]);
      eaten += o.info.food_eaten + o.info.food_eaten_rivals;
      expect(env.foodMap.reduce((a, b) => a + b, 0)).toBe(6);
    }
    expect(eaten).toBe(env.eaten.reduce((a, b) => a + b, 0));
  });
});
