import { describe, expect, it } from 'vitest';
import { crossPlay } from '../src/crossplay.ts';
import { type GroupAgent, LOCAL } from '../src/policy.ts';
import { DuelEnv } from './duel-env.ts';

/** A scripted side: every agent always takes `action` (its policy: one-hot). */
function always(action: number): GroupAgent {
  return {
    shape: { view: null, features: 3, actions: 4, meanAction: false },
    compute: LOCAL,
    policyRows(_obs, lo, hi, _t, probs) {
      for (let i = lo; i < hi; i++)
        for (let a = 0; a < 4; a++) probs[i * 4 + a] = a === action ? 1 : 0;
    },
  } as Partial<GroupAgent> as GroupAgent;
}

const duel = () => new DuelEnv({ agents: 6, cells: 3, maxSteps: 20 });

describe('cross-play', () => {
  it('plays every episode, scores kills as deaths of the other side, and is a function of its seed', async () => {
    const run = (parallel: number, seed: number) =>
      crossPlay(duel, [always(3), always(0)], {
        episodes: 7,
        parallel,
        seed,
        temperatures: [1, 1],
      });
    const a = await run(3, 5);
    expect(a).toHaveLength(7);
    for (const e of a) {
      // Blue never attacks: it kills nobody and never wins; red's kills are blue's dead.
      expect(e.blue.kills).toBe(0);
      expect(e.winner).not.toBe('blue');
      expect(e.red.kills).toBe(6 - e.blue.alive);
      expect(e.winner).toBe(e.red.kills > 0 ? 'red' : 'draw');
    }
    expect(a.reduce((s, e) => s + e.red.kills, 0)).toBeGreaterThan(0);
    expect(await run(3, 5)).toEqual(a);
    expect(new Set(a.map((e) => e.seed)).size).toBe(7);
    // Side by side or one at a time, the same seeds are played, and with scripted sides an
    // episode depends on its seed alone, whichever copy of the world plays it.
    const one = await run(1, 5);
    const bySeed = (xs: typeof a) => [...xs].sort((x, y) => x.seed - y.seed);
    expect(bySeed(one)).toEqual(bySeed(a));
  });
});
