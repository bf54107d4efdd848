import { Rng, type StepOutput } from '@gibbs/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Battle, drawInt, VIEW_SIZE } from '../src/battle.ts';

/** A small hand-built world: distinct interior cells split between the groups, random hp. */
const world = fc
  .integer({ min: 6, max: 14 })
  .chain((map) => {
    const interior = (map - 2) * (map - 2);
    return fc.record({
      map: fc.constant(map),
      cells: fc.uniqueArray(fc.integer({ min: 0, max: interior - 1 }), {
        minLength: 2,
        maxLength: Math.min(interior, 40),
      }),
      split: fc.double({ min: 0.1, max: 0.9, noNaN: true }),
      hp: fc.array(fc.double({ min: 0, max: 10, noNaN: true }), {
        minLength: 40,
        maxLength: 40,
      }),
      seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      actions: fc.array(
        fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 40, maxLength: 40 }),
        {
          minLength: 1,
          maxLength: 25,
        },
      ),
    });
  })
  .map(({ map, cells, split, hp, seed, actions }) => {
    const nRed = Math.min(cells.length - 1, Math.max(1, Math.round(cells.length * split)));
    const agent = (c: number, i: number) => ({
      x: 1 + (c % (map - 2)),
      y: 1 + Math.floor(c / (map - 2)),
      hp: hp[i],
    });
    return {
      map,
      red: cells.slice(0, nRed).map(agent),
      blue: cells.slice(nRed).map((c, i) => agent(c, nRed + i)),
      seed,
      actions,
    };
  });

type World = ReturnType<typeof world.generate>['value'];

function make(w: World, threads = 1) {
  return new Battle({
    map: w.map,
    placement: 'explicit',
    explicit: { red: w.red, blue: w.blue },
    threads,
  });
}

/** The step's actions for every slot: red takes the first entries, blue the next ones. */
function actionsFor(env: Battle, row: number[]): Int32Array[] {
  const n0 = env.spec.groups[0].capacity;
  return [
    Int32Array.from({ length: n0 }, (_, i) => row[i]),
    Int32Array.from({ length: env.spec.groups[1].capacity }, (_, i) => row[n0 + i]),
  ];
}

/** An agent's 13x13x5 view built from scratch from the world (the reference for the copy). */
function referenceView(env: Battle, g: number, slot: number): Float32Array {
  const v = new Float32Array(VIEW_SIZE);
  const me = env.agent(g, slot);
  const W = env.width;
  for (let dy = -6; dy <= 6; dy++)
    for (let dx = -6; dx <= 6; dx++) {
      if (dx * dx + dy * dy > 36) continue;
      const x = me.x + dx;
      const y = me.y + dy;
      const at = ((dy + 6) * 13 + dx + 6) * 5;
      const off = x < 0 || y < 0 || x >= W || y >= W;
      if (off || x === 0 || y === 0 || x === W - 1 || y === W - 1) v[at] = 1;
      if (off) continue;
      const who = env.at(x, y);
      if (typeof who !== 'object') continue;
      const ch = who.group === g ? 1 : 3;
      v[at + ch] = 1;
      v[at + ch + 1] = env.agent(who.group, who.slot).hp / 10;
    }
  return v;
}

function digest(out: StepOutput): string {
  let h = 2166136261;
  for (const g of out.groups)
    for (const a of [g.view, g.features, g.reward, g.alive, g.terminated, g.truncated]) {
      const u = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
      for (let i = 0; i < u.length; i++) h = Math.imul(h ^ u[i], 16777619);
    }
  return `${h >>> 0}:${out.step}:${out.done}:${JSON.stringify(out.info)}`;
}

describe('battle: drawInt', () => {
  it('draws exactly what Rng.int draws from the same stream', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 1, max: 3_000_000 }), (seed, n) => {
        const a = new Rng(seed);
        const b = new Rng(seed);
        for (let i = 0; i < 50; i++) expect(drawInt(a, n)).toBe(b.int(n));
      }),
      { numRuns: 300 },
    );
  });
});

describe('battle: invariants under random actions (fast-check)', () => {
  it('keeps hp in [0, 10], one agent per cell, views exact, and never raises alive counts', () => {
    fc.assert(
      fc.property(world, (w) => {
        const env = make(w);
        let out = env.reset(w.seed);
        const prev = [out.info['alive.red'], out.info['alive.blue']];
        const wasDead = [new Uint8Array(w.red.length), new Uint8Array(w.blue.length)];
        for (const row of w.actions) {
          if (out.done) break;
          out = env.step(actionsFor(env, row));
          const cells = new Set<number>();
          for (let g = 0; g < 2; g++) {
            const o = out.groups[g];
            let live = 0;
            for (let s = 0; s < o.alive.length; s++) {
              expect(Number.isFinite(o.reward[s])).toBe(true);
              if (wasDead[g][s]) {
                // dead stays dead, earns nothing, has no flags
                expect(o.alive[s]).toBe(0);
                expect(o.reward[s]).toBe(0);
                expect(o.terminated[s] + o.truncated[s]).toBe(0);
                continue;
              }
              if (o.alive[s] === 0) {
                expect(o.terminated[s]).toBe(1);
                // a dead slot's observation is all zeros
                expect(
                  o.view.subarray(s * VIEW_SIZE, (s + 1) * VIEW_SIZE).some((x) => x !== 0),
                ).toBe(false);
                expect(o.features.subarray(s * 24, (s + 1) * 24).some((x) => x !== 0)).toBe(false);
                wasDead[g][s] = 1;
                continue;
              }
              live++;
              const a = env.agent(g, s);
              expect(a.hp).toBeGreaterThanOrEqual(0);
              expect(a.hp).toBeLessThanOrEqual(10);
              expect(env.at(a.x, a.y)).toEqual({ group: g, slot: s });
              cells.add(a.y * w.map + a.x);
              // its whole view equals one built from scratch from the world
              const got = o.view.subarray(s * VIEW_SIZE, (s + 1) * VIEW_SIZE);
              const want = referenceView(env, g, s);
              for (let i = 0; i < VIEW_SIZE; i++)
                if (got[i] !== want[i])
                  throw new Error(
                    `step ${out.step} ${g}/${s} view[${i}] (cell ${Math.floor(i / 5)}, channel ${i % 5}): ${got[i]} != ${want[i]}`,
                  );
            }
            const name = g === 0 ? 'red' : 'blue';
            expect(out.info[`alive.${name}`]).toBe(live);
            expect(live).toBeLessThanOrEqual(prev[g]);
            prev[g] = live;
          }
          expect(cells.size).toBe(prev[0] + prev[1]);
          expect(env.render().agents.count).toBe(cells.size);
          if (prev[0] === 0 || prev[1] === 0) expect(out.done).toBe(true);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('is deterministic under a seed', () => {
    fc.assert(
      fc.property(world, (w) => {
        const play = (env: Battle) => {
          const trace = [digest(env.reset(w.seed))];
          for (const row of w.actions) {
            const out = env.step(actionsFor(env, row));
            trace.push(digest(out));
            if (out.done) break;
          }
          return trace;
        };
        const env = make(w);
        const first = play(env);
        expect(play(env)).toEqual(first); // reset starts over
        expect(play(make(w))).toEqual(first); // a fresh instance
      }),
      { numRuns: 30 },
    );
  });

  it('random placement and long random play keep every agent on its own cell', () => {
    const env = new Battle({ map: 24, agents: 120, placement: 'random', maxSteps: 300 });
    const rng = new Rng(9);
    let out = env.reset(5);
    const acts = [new Int32Array(120), new Int32Array(120)];
    while (!out.done) {
      for (const a of acts) for (let i = 0; i < a.length; i++) a[i] = rng.int(21);
      out = env.step(acts);
    }
    const frame = env.render();
    let agentsOnMap = 0;
    for (const c of frame.cells) if (c >= 2) agentsOnMap++;
    expect(agentsOnMap).toBe(frame.agents.count);
    expect(frame.agents.count).toBe(out.info['alive.red'] + out.info['alive.blue']);
    expect(out.step).toBe(300);
  });
});
