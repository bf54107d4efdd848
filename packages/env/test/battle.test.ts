import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { checkEnv, GibbsError, Rng, type StepOutput } from '@gibbs/core';
import { describe, expect, it } from 'vitest';
import {
  ACTION_DX,
  ACTION_DY,
  ACTION_NAMES,
  Battle,
  battle,
  defaultAgents,
  maxAgents,
  N_ACTIONS,
  N_FEATURES,
  STAY,
  VIEW_SIZE,
} from '../src/battle.ts';

const f = Math.fround;
/** float32 sum, left to right, as the environment (and MAgent) accumulates rewards. */
const f32sum = (...xs: number[]) => xs.reduce((s, x) => f(s + f(x)), 0);

type Agent = { x: number; y: number; hp?: number };

function explicit(red: Agent[], blue: Agent[], map = 12, extra: Record<string, unknown> = {}) {
  return new Battle({ map, placement: 'explicit', explicit: { red, blue }, ...extra });
}

/** Index of action "move by (dx, dy)" or "attack (dx, dy)". */
function move(dx: number, dy: number): number {
  const a = ACTION_NAMES.indexOf(dx === 0 && dy === 0 ? 'stay' : `move ${dx},${dy}`);
  if (a < 0) throw new Error(`no move ${dx},${dy}`);
  return a;
}
function attack(dx: number, dy: number): number {
  const a = ACTION_NAMES.indexOf(`attack ${dx},${dy}`);
  if (a < 0) throw new Error(`no attack ${dx},${dy}`);
  return a;
}

/** Actions for every slot: `stay` unless given. */
function acts(env: Battle, red: number[] = [], blue: number[] = []): Int32Array[] {
  return [red, blue].map((given, g) => {
    const a = new Int32Array(env.spec.groups[g].capacity).fill(STAY);
    a.set(given);
    return a;
  });
}

/** View value of slot `slot` of group `g` at offset (dx, dy) from the agent, channel c. */
function view(out: StepOutput, g: number, slot: number, dx: number, dy: number, c: number) {
  return out.groups[g].view[slot * VIEW_SIZE + ((dy + 6) * 13 + dx + 6) * 5 + c];
}

describe('battle: action table (MAgent CircleRange order)', () => {
  it('has 13 moves within radius 2 (6 = stay) then the 8 neighbours', () => {
    expect(N_ACTIONS).toBe(21);
    expect(STAY).toBe(6);
    const offsets = Array.from(ACTION_DX, (dx, i) => [dx, ACTION_DY[i]]);
    expect(offsets.slice(0, 13)).toEqual([
      [0, -2],
      [-1, -1],
      [0, -1],
      [1, -1],
      [-2, 0],
      [-1, 0],
      [0, 0],
      [1, 0],
      [2, 0],
      [-1, 1],
      [0, 1],
      [1, 1],
      [0, 2],
    ]);
    expect(offsets.slice(13)).toEqual([
      [-1, -1],
      [0, -1],
      [1, -1],
      [-1, 0],
      [1, 0],
      [-1, 1],
      [0, 1],
      [1, 1],
    ]);
  });

  it('declares the spec: two groups, 13x13x5 views, 24 features, 21 actions', () => {
    const env = new Battle();
    expect(env.spec.name).toBe('battle');
    expect(env.spec.maxSteps).toBe(1000);
    expect(env.spec.grid).toEqual({ width: 45, height: 45 });
    for (const [g, name] of ['red', 'blue'].entries()) {
      const spec = env.spec.groups[g];
      expect(spec.name).toBe(name);
      expect(spec.capacity).toBe(81);
      expect(spec.view).toMatchObject({ height: 13, width: 13, channels: 5 });
      expect(spec.features).toBe(N_FEATURES);
      expect(N_FEATURES).toBe(24);
      expect(spec.actions).toBe(21);
    }
  });
});

describe('battle: placement', () => {
  it('defaults to MAgent agent counts: int(sqrt(0.04 s^2))^2 per side', () => {
    expect(defaultAgents(45)).toBe(81);
    expect(defaultAgents(500)).toBe(10000);
    expect(defaultAgents(3200)).toBe(409600);
    expect(defaultAgents(46)).toBe(81);
    // MAgent drops block cells that fall on the walls: on 30x30 the left block loses a column
    expect(defaultAgents(30)).toBe(30);
    expect(maxAgents(30, 'block')).toBe(30);
    expect(defaultAgents(12)).toBe(2);
    expect(maxAgents(45, 'block')).toBe(90); // k = 10, its first column clipped
    expect(maxAgents(45, 'random')).toBe(Math.floor((43 * 43) / 2));
  });

  it('block reproduces MAgent generate_map on a 45x45 map', () => {
    // generate_map in magent2/environments/battle/battle.py, transcribed
    const width = 45;
    const side = Math.floor(Math.sqrt(width * width * 0.04)) * 2;
    const half = Math.floor(width / 2);
    const y0 = Math.floor((width - side) / 2);
    const expected = (x0: number) => {
      const pos: [number, number][] = [];
      for (let x = x0; x < x0 + side; x += 2)
        for (let y = y0; y < y0 + side; y += 2) pos.push([x, y]);
      return pos;
    };
    const env = new Battle({ map: 45 });
    env.reset(0);
    const got = (g: number) =>
      Array.from({ length: 81 }, (_, s) => {
        const a = env.agent(g, s);
        return [a.x, a.y];
      });
    expect(got(0)).toEqual(expected(half - 3 - side));
    expect(got(1)).toEqual(expected(half + 3));
  });

  it('random puts every agent on its own interior cell, slots in row-major order, by seed', () => {
    const env = new Battle({ map: 20, agents: 50, placement: 'random' });
    const positions = (seed: number) => {
      env.reset(seed);
      return [0, 1].map((g) =>
        Array.from({ length: 50 }, (_, s) => {
          const a = env.agent(g, s);
          return a.y * 20 + a.x;
        }),
      );
    };
    const p1 = positions(1);
    expect(new Set([...p1[0], ...p1[1]]).size).toBe(100);
    for (const cells of p1) {
      expect([...cells].sort((a, b) => a - b)).toEqual(cells);
      for (const c of cells) {
        const x = c % 20;
        const y = Math.floor(c / 20);
        expect(x >= 1 && x <= 18 && y >= 1 && y <= 18).toBe(true);
      }
    }
    expect(positions(1)).toEqual(p1);
    expect(positions(2)).not.toEqual(p1);
    // dense maps (more than half full) take the shuffle path; still one agent per cell
    const dense = new Battle({ map: 8, agents: 18, placement: 'random' });
    dense.reset(3);
    const cells = new Set<number>();
    for (const g of [0, 1])
      for (let s = 0; s < 18; s++) cells.add(dense.agent(g, s).y * 8 + dense.agent(g, s).x);
    expect(cells.size).toBe(36);
  });

  it('rejects a map too small for the agents, naming agents, map and the maximum', () => {
    const err = (() => {
      try {
        new Battle({ map: 45, agents: 100 });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(GibbsError);
    expect((err as Error).message).toMatch(/100 agents per side.*45x45.*at most 90 per side/);
    expect(() => new Battle({ map: 10, agents: 33, placement: 'random' })).toThrow(/at most 32/);
    expect(() => new Battle({ map: 10 })).toThrow(GibbsError);
  });

  it('refuses the wasm kernel for a state over 4 GiB (before allocating anything)', () => {
    expect(
      () => new Battle({ map: 3600, agents: 600_000, placement: 'random', kernel: 'wasm' }),
    ).toThrow(/more than the 4 GiB a wasm32 memory holds/);
  });

  it('rejects explicit agents on walls or on one cell', () => {
    expect(() => explicit([{ x: 0, y: 3 }], [{ x: 5, y: 5 }]).reset(0)).toThrow(
      /explicit\.red\[0\].*\(0, 3\).*inside the walls/,
    );
    expect(() => explicit([{ x: 4, y: 4 }], [{ x: 4, y: 4 }]).reset(0)).toThrow(
      /explicit\.blue\[0\].*red\[0\] is there/,
    );
  });
});

describe('battle: moves', () => {
  it('moves to each of the 13 cells within radius 2', () => {
    for (let a = 0; a < 13; a++) {
      const env = explicit([{ x: 5, y: 5 }], [{ x: 9, y: 9 }]);
      env.reset(0);
      env.step(acts(env, [a]));
      expect(env.agent(0, 0)).toMatchObject({ x: 5 + ACTION_DX[a], y: 5 + ACTION_DY[a] });
    }
  });

  it('cannot enter the walls or an occupied cell, but jumps over agents', () => {
    const env = explicit(
      [
        { x: 1, y: 1 },
        { x: 5, y: 5 },
        { x: 7, y: 5 },
      ],
      [
        { x: 5, y: 6 },
        { x: 10, y: 10 },
      ],
    );
    env.reset(0);
    const out = env.step(
      acts(env, [move(-1, 0), move(0, 1), move(-2, 0)], [move(0, -1), move(1, 0)]),
    );
    expect(env.agent(0, 0)).toMatchObject({ x: 1, y: 1 }); // wall at x = 0
    expect(env.agent(0, 1)).toMatchObject({ x: 5, y: 5 }); // blue 0 is below
    expect(env.agent(1, 0)).toMatchObject({ x: 5, y: 6 }); // red 1 is above
    expect(env.agent(1, 1)).toMatchObject({ x: 10, y: 10 }); // wall at x = 11
    expect(env.agent(0, 2)).toMatchObject({ x: 7, y: 5 }); // (5,5) is taken
    expect(out.info['moves.red']).toBe(0);
    // a jump of 2 over an agent into a free cell succeeds
    env.step(acts(env, [STAY, move(0, 2)], [move(2, 0)]));
    expect(env.agent(1, 0)).toMatchObject({ x: 7, y: 6 });
    expect(env.agent(0, 1)).toMatchObject({ x: 5, y: 7 });
    expect(env.at(5, 7)).toEqual({ group: 0, slot: 1 });
    expect(env.at(5, 5)).toBe('empty');
    expect(env.at(0, 4)).toBe('wall');
  });

  it('resolves two agents moving into one cell by the drawn order: one gets it, by seed', () => {
    const winners = new Set<string>();
    for (let seed = 0; seed < 40; seed++) {
      const env = explicit([{ x: 4, y: 5 }], [{ x: 6, y: 5 }]);
      env.reset(seed);
      env.step(acts(env, [move(1, 0)], [move(-1, 0)]));
      const r = env.agent(0, 0);
      const b = env.agent(1, 0);
      const redWon = r.x === 5;
      const blueWon = b.x === 5;
      expect(redWon !== blueWon).toBe(true);
      winners.add(redWon ? 'red' : 'blue');
      // the same seed gives the same winner
      const again = explicit([{ x: 4, y: 5 }], [{ x: 6, y: 5 }]);
      again.reset(seed);
      again.step(acts(again, [move(1, 0)], [move(-1, 0)]));
      expect(again.agent(0, 0).x).toBe(r.x);
    }
    expect(winners).toEqual(new Set(['red', 'blue']));
  });

  it('lets an agent enter a cell left earlier in the order, not later', () => {
    const outcomes = new Set<string>();
    for (let seed = 0; seed < 40; seed++) {
      // red 0 follows red 1 to the right
      const env = explicit(
        [
          { x: 4, y: 5 },
          { x: 5, y: 5 },
        ],
        [{ x: 9, y: 9 }],
      );
      env.reset(seed);
      env.step(acts(env, [move(1, 0), move(1, 0)]));
      expect(env.agent(0, 1).x).toBe(6);
      outcomes.add(env.agent(0, 0).x === 5 ? 'followed' : 'blocked');
    }
    expect(outcomes).toEqual(new Set(['followed', 'blocked']));
  });
});

describe('battle: attacks, damage, recovery, rewards', () => {
  const rStep = f(-0.005);

  it('damages an adjacent enemy by 2 and rewards the hit; the victim recovers 0.1', () => {
    const env = explicit([{ x: 5, y: 5 }], [{ x: 6, y: 6 }]);
    env.reset(0);
    const out = env.step(acts(env, [attack(1, 1)]));
    expect(env.agent(1, 0).hp).toBe(f(8 + f(0.1)));
    expect(out.groups[0].reward[0]).toBe(f32sum(-0.005, -0.1, 0.2));
    expect(out.groups[1].reward[0]).toBe(rStep);
    expect(out.info['hits.red']).toBe(1);
    expect(out.info['attacks.red']).toBe(1);
    // the attacker is at full hp: recovery is capped at 10
    expect(env.agent(0, 0).hp).toBe(10);
    // recovery over steps: 8.1 -> 8.2 -> 8.3 (float32 sums)
    env.step(acts(env));
    env.step(acts(env));
    expect(env.agent(1, 0).hp).toBe(f(f(f(8 + f(0.1)) + f(0.1)) + f(0.1)));
  });

  it('caps recovery at 10', () => {
    const env = explicit([{ x: 5, y: 5, hp: 9.95 }], [{ x: 8, y: 8 }]);
    env.reset(0);
    env.step(acts(env));
    expect(env.agent(0, 0).hp).toBe(10);
  });

  it('charges the attack penalty for hitting nothing, a wall or a friend, with no damage', () => {
    const env = explicit(
      [
        { x: 1, y: 5 },
        { x: 2, y: 5 },
      ],
      [{ x: 8, y: 8 }],
    );
    env.reset(0);
    const out = env.step(acts(env, [attack(-1, 0), attack(-1, 0)], [attack(0, -1)]));
    const penalty = f32sum(-0.005, -0.1);
    expect(out.groups[0].reward[0]).toBe(penalty); // wall
    expect(out.groups[0].reward[1]).toBe(penalty); // friend
    expect(out.groups[1].reward[0]).toBe(penalty); // empty cell
    expect(env.agent(0, 0).hp).toBe(10);
    expect(out.info['hits.red']).toBe(0);
  });

  it('kills when hp falls below 0: +5 to the killer, -0.1 to the dead, and ends the episode', () => {
    const env = explicit([{ x: 5, y: 5 }], [{ x: 5, y: 6, hp: 1 }]);
    env.reset(0);
    const out = env.step(acts(env, [attack(0, 1)], [move(1, 0)]));
    expect(out.groups[1].alive[0]).toBe(0);
    expect(out.groups[1].terminated[0]).toBe(1);
    expect(out.groups[1].reward[0]).toBe(f(-0.1)); // the death penalty replaces the rest
    expect(out.groups[0].reward[0]).toBe(f32sum(-0.005, -0.1, 5));
    expect(out.info['kills.red']).toBe(1);
    expect(out.info['alive.blue']).toBe(0);
    expect(env.at(5, 6)).toBe('empty'); // the dead agent left the map (and did not move)
    // blue is wiped out: the game ends, the survivor terminates too
    expect(out.done).toBe(true);
    expect(out.groups[0].terminated[0]).toBe(1);
    expect(out.groups[0].truncated[0]).toBe(0);
    // the dead slot's observation is cleared
    expect(out.groups[1].view.every((v) => v === 0)).toBe(true);
    expect(out.groups[1].features.every((v) => v === 0)).toBe(true);
    expect(() => env.step(acts(env))).toThrow(/after the episode ended/);
  });

  it('keeps an agent at exactly 0 hp alive (MAgent: dead when hp < 0)', () => {
    const env = explicit([{ x: 5, y: 5 }], [{ x: 5, y: 6, hp: 2 }]);
    env.reset(0);
    const out = env.step(acts(env, [attack(0, 1)]));
    expect(out.groups[1].alive[0]).toBe(1);
    expect(env.agent(1, 0).hp).toBe(f(0.1));
    expect(out.groups[0].reward[0]).toBe(f32sum(-0.005, -0.1, 0.2));
  });

  it('adds up simultaneous attacks in the drawn order: the fatal blow gets the kill', () => {
    const killers = new Set<number>();
    for (let seed = 0; seed < 30; seed++) {
      const env = explicit(
        [
          { x: 4, y: 5 },
          { x: 6, y: 5 },
        ],
        [
          { x: 5, y: 5, hp: 3 },
          { x: 9, y: 9 },
        ],
      );
      env.reset(seed);
      const out = env.step(acts(env, [attack(1, 0), attack(-1, 0)]));
      expect(out.groups[1].alive[0]).toBe(0);
      const r = out.groups[0].reward;
      const kill = f32sum(-0.005, -0.1, 5);
      const hit = f32sum(-0.005, -0.1, 0.2);
      expect([r[0], r[1]].sort()).toEqual([kill, hit].sort());
      killers.add(r[0] === kill ? 0 : 1);
      expect(out.info['kills.red']).toBe(1);
      expect(out.info['hits.red']).toBe(2);
      expect(out.done).toBe(false);
    }
    expect(killers).toEqual(new Set([0, 1]));
  });

  it('resolves a mutual kill by the order: the first attacker kills, the dead does not attack', () => {
    const survivors = new Set<string>();
    for (let seed = 0; seed < 30; seed++) {
      const env = explicit(
        [
          { x: 5, y: 5, hp: 1 },
          { x: 2, y: 2 },
        ],
        [
          { x: 6, y: 5, hp: 1 },
          { x: 9, y: 9 },
        ],
      );
      env.reset(seed);
      const out = env.step(acts(env, [attack(1, 0)], [attack(-1, 0)]));
      const redAlive = out.groups[0].alive[0];
      const blueAlive = out.groups[1].alive[0];
      expect(redAlive + blueAlive).toBe(1);
      survivors.add(redAlive ? 'red' : 'blue');
      expect(out.info['kills.red'] + out.info['kills.blue']).toBe(1);
    }
    expect(survivors).toEqual(new Set(['red', 'blue']));
  });

  it('gives a dying agent -0.1, plus +0.2 if it damaged an enemy earlier in the order', () => {
    const seen = new Set<number>();
    for (let seed = 0; seed < 40; seed++) {
      // red 0 (hp 1) attacks blue 0 (full hp); blue 1 kills red 0
      const env = explicit(
        [
          { x: 5, y: 5, hp: 1 },
          { x: 2, y: 2 },
        ],
        [
          { x: 6, y: 5 },
          { x: 5, y: 6 },
        ],
      );
      env.reset(seed);
      const out = env.step(acts(env, [attack(1, 0)], [STAY, attack(0, -1)]));
      expect(out.groups[0].alive[0]).toBe(0);
      const r = out.groups[0].reward[0];
      const blueHp = env.agent(1, 0).hp;
      if (blueHp < 10)
        expect(r).toBe(f(f(-0.1) + f(0.2))); // red hit first, then died
      else expect(r).toBe(f(-0.1)); // red died before its attack
      seen.add(r);
    }
    expect(seen.size).toBe(2);
  });
});

describe('battle: episode end', () => {
  it('truncates every live agent at maxSteps', () => {
    const env = explicit([{ x: 5, y: 5 }], [{ x: 8, y: 8 }], 12, { maxSteps: 3 });
    let out = env.reset(0);
    for (let t = 1; t <= 2; t++) {
      out = env.step(acts(env));
      expect(out.done).toBe(false);
      expect(out.step).toBe(t);
      expect(out.groups[0].truncated[0]).toBe(0);
    }
    out = env.step(acts(env));
    expect(out.done).toBe(true);
    expect(out.groups[0].truncated[0]).toBe(1);
    expect(out.groups[1].truncated[0]).toBe(1);
    expect(out.groups[0].terminated[0]).toBe(0);
    out = env.reset(0);
    expect(out.step).toBe(0);
    expect(out.done).toBe(false);
    expect(out.groups[0].truncated[0]).toBe(0);
  });

  it('refuses to step before reset', () => {
    const env = explicit([{ x: 5, y: 5 }], [{ x: 8, y: 8 }]);
    expect(() => env.step(acts(env))).toThrow(/before reset/);
  });
});

describe('battle: observations and features', () => {
  const setup = () =>
    explicit(
      [
        { x: 3, y: 3 },
        { x: 3, y: 5, hp: 5 },
      ],
      [{ x: 5, y: 4, hp: 6 }],
    );

  it('shows obstacles, own group and the other group with normalised hp', () => {
    const env = setup();
    const out = env.reset(0);
    // red 0 at (3,3): itself at the centre, its friend at (0,+2), the enemy at (+2,+1)
    expect(view(out, 0, 0, 0, 0, 1)).toBe(1);
    expect(view(out, 0, 0, 0, 0, 2)).toBe(1);
    expect(view(out, 0, 0, 0, 2, 1)).toBe(1);
    expect(view(out, 0, 0, 0, 2, 2)).toBe(f(0.5));
    expect(view(out, 0, 0, 2, 1, 3)).toBe(1);
    expect(view(out, 0, 0, 2, 1, 4)).toBe(f(0.6));
    expect(view(out, 0, 0, 2, 1, 1)).toBe(0);
    // walls at x = 0 and y = 0, 11; off the map (x < 0) reads as obstacle too
    expect(view(out, 0, 0, -3, 0, 0)).toBe(1); // (0, 3): wall
    expect(view(out, 0, 0, 0, -3, 0)).toBe(1); // (3, 0): wall
    expect(view(out, 0, 0, -5, 0, 0)).toBe(1); // (-2, 3): off the map
    expect(view(out, 0, 0, -2, 0, 0)).toBe(0); // (1, 3): floor
    expect(view(out, 0, 0, 1, 0, 0)).toBe(0);
    // outside the view circle: nothing, even on walls (dx = -5, dy = -4: 25 + 16 > 36)
    for (let c = 0; c < 5; c++) expect(view(out, 0, 0, -5, -4, c)).toBe(0);
    expect(view(out, 0, 0, -4, -4, 0)).toBe(1); // 32 <= 36: inside, off the map
    // blue's perspective: itself in channels 1-2, reds in channels 3-4
    expect(view(out, 1, 0, 0, 0, 1)).toBe(1);
    expect(view(out, 1, 0, 0, 0, 2)).toBe(f(0.6));
    expect(view(out, 1, 0, -2, -1, 3)).toBe(1);
    expect(view(out, 1, 0, -2, -1, 4)).toBe(1);
    expect(view(out, 1, 0, -2, 1, 4)).toBe(f(0.5));
    // exactly 113 cells of each view lie in the circle; obstacle/presence sums count them
    let inCircle = 0;
    for (let dy = -6; dy <= 6; dy++)
      for (let dx = -6; dx <= 6; dx++) if (dx * dx + dy * dy <= 36) inCircle++;
    expect(inCircle).toBe(113);
  });

  it('follows moves, hits and deaths in the next observation', () => {
    const env = setup();
    env.reset(0);
    // red 0 moves right by 1; blue moves up by 1 to (5,3); red 1 stays
    const out = env.step(acts(env, [move(1, 0)], [move(0, -1)]));
    expect(env.agent(0, 0)).toMatchObject({ x: 4, y: 3 });
    expect(view(out, 0, 0, 0, 0, 1)).toBe(1);
    expect(view(out, 0, 0, -1, 0, 1)).toBe(0); // the cell it left
    expect(view(out, 0, 0, 1, 0, 3)).toBe(1); // blue now at (5,3)
    expect(view(out, 0, 0, 1, 0, 4)).toBe(f(f(6 + f(0.1)) / 10));
    // red 1 (hp 5 -> 5.1) sees red 0 at (+1, -2)
    expect(view(out, 0, 1, 1, -2, 1)).toBe(1);
    expect(view(out, 0, 1, 0, 0, 2)).toBe(f(f(5 + f(0.1)) / 10));
  });

  it('features: one-hot of the action just taken, its reward, x / map and y / map', () => {
    const env = setup();
    let out = env.reset(0);
    const feat = (g: number, s: number) =>
      Array.from(out.groups[g].features.subarray(s * 24, (s + 1) * 24));
    expect(feat(0, 0)).toEqual([...new Array(21).fill(0), 0, f(3 / 12), f(3 / 12)]);
    out = env.step(acts(env, [attack(0, 1), move(0, 2)]));
    const one = (a: number) => Array.from({ length: 21 }, (_, i) => (i === a ? 1 : 0));
    expect(feat(0, 0)).toEqual([...one(attack(0, 1)), f32sum(-0.005, -0.1), f(3 / 12), f(3 / 12)]);
    expect(feat(0, 1)).toEqual([...one(move(0, 2)), f(-0.005), f(3 / 12), f(7 / 12)]);
    expect(feat(1, 0)).toEqual([...one(STAY), f(-0.005), f(5 / 12), f(4 / 12)]);
  });
});

describe('battle: bad actions', () => {
  it('names group, slot and value for an out-of-range action, length for a wrong array', () => {
    const env = explicit(
      [
        { x: 3, y: 3 },
        { x: 5, y: 5 },
      ],
      [{ x: 8, y: 8 }],
    );
    env.reset(0);
    const bad = (a: Int32Array[]) => {
      try {
        env.step(a);
      } catch (e) {
        expect(e).toBeInstanceOf(GibbsError);
        return (e as Error).message;
      }
      throw new Error('no error');
    };
    expect(bad(acts(env, [0, 21]))).toBe(
      'battle: actions[red][1] = 21: expected an integer in [0, 21) for a live slot',
    );
    expect(bad(acts(env, [], [-1]))).toMatch(/^battle: actions\[blue\]\[0\] = -1: /);
    expect(bad([new Int32Array(3), new Int32Array(1)])).toBe(
      "battle: actions[red]: got Int32Array(3), expected an Int32Array of length 2 (the group's capacity)",
    );
    expect(bad([new Int32Array(2)])).toBe(
      'battle: actions: got 1 array(s), expected 2 Int32Array(s), one per group (red, blue)',
    );
    const floats = [Float64Array.of(0.5, 1), new Int32Array(1)] as unknown as Int32Array[];
    expect(bad(floats)).toMatch(
      /^battle: actions\[red\]: got Float64Array\(2\), expected an Int32Array/,
    );
    // nothing happened: the step counter did not move
    expect(env.step(acts(env)).step).toBe(1);
  });

  it('ignores the action of a dead slot', () => {
    const env = explicit(
      [{ x: 5, y: 5 }],
      [
        { x: 5, y: 6, hp: 1 },
        { x: 9, y: 9 },
      ],
    );
    env.reset(0);
    env.step(acts(env, [attack(0, 1)]));
    expect(env.agent(1, 0).alive).toBe(false);
    expect(() => env.step(acts(env, [], [99]))).not.toThrow();
  });
});

describe('battle: render and registry', () => {
  it('renders walls, agents and their state', () => {
    const env = explicit([{ x: 3, y: 3 }], [{ x: 5, y: 4, hp: 6 }]);
    env.reset(0);
    const frame = env.render();
    expect(frame.width).toBe(12);
    expect(frame.legend).toEqual(['empty', 'wall', 'red', 'blue']);
    expect(frame.cells[0]).toBe(1);
    expect(frame.cells[3 * 12 + 3]).toBe(2);
    expect(frame.cells[4 * 12 + 5]).toBe(3);
    expect(frame.cells[6 * 12 + 6]).toBe(0);
    expect(frame.agents.count).toBe(2);
    expect(Array.from(frame.agents.hp)).toEqual([1, f(0.6)]);
    expect(Array.from(frame.agents.action)).toEqual([-1, -1]);
  });

  it('is registered with a config schema and passes the environment checker', () => {
    const config = battle.config.parse({ map: 20, agents: 16, placement: 'random', maxSteps: 60 });
    const problems = checkEnv(() => battle.create(config), { stochastic: true });
    expect(problems.map((p) => p.message)).toEqual([]);
    const blocks = checkEnv(() => new Battle({ map: 30, maxSteps: 40 }));
    expect(blocks.map((p) => p.message)).toEqual([]);
  });
});

describe('battle: the step allocates nothing', () => {
  it('leaves the heap where it was over 500 steps of random play', () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const env = new Battle({ map: 60, agents: 400, placement: 'random', maxSteps: 5000 });
    const rng = new Rng(1);
    const table = Int32Array.from({ length: 4096 }, () => rng.int(21));
    const acts = [new Int32Array(400), new Int32Array(400)];
    let k = 0;
    const play = (steps: number) => {
      for (let t = 0; t < steps; t++) {
        for (let g = 0; g < 2; g++) {
          const a = acts[g];
          for (let i = 0; i < a.length; i++) a[i] = table[k++ & 4095];
        }
        env.step(acts);
      }
    };
    env.reset(1);
    play(1000); // warm up the JIT (compiled code lives on the heap too)
    // The least growth over a few rounds: the JIT may still install code during one of them.
    let least = Number.POSITIVE_INFINITY;
    for (let round = 0; round < 4; round++) {
      gc();
      const before = process.memoryUsage().heapUsed;
      play(500);
      least = Math.min(least, (process.memoryUsage().heapUsed - before) / 500);
    }
    // Bytes per step: ~3 outside vitest (the measuring itself), up to ~20 under its runner;
    // one typed-array view is ~100, one allocation per agent 400 x 16 or more.
    expect(least).toBeLessThan(64);
  });
});
