import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Environment,
  type EnvSpec,
  EpisodeLoop,
  episodeSeed,
  type StepOutput,
} from '../src/index.ts';

describe('episodeSeed', () => {
  it('is a bijection of the episode for one seed: no two episodes share a start', () => {
    fc.assert(
      fc.property(fc.nat(2 ** 32 - 1), fc.nat(2 ** 32 - 2), fc.nat(2 ** 32 - 2), (s, a, b) => {
        fc.pre(a !== b);
        expect(episodeSeed(s, a)).not.toBe(episodeSeed(s, b));
      }),
    );
  });

  it('is a u32, a pure function, and unrelated across neighbouring seeds', () => {
    const seen = new Set<number>();
    for (let s = 0; s < 100; s++) {
      for (let e = 0; e < 100; e++) {
        const v = episodeSeed(s, e);
        expect(Number.isInteger(v) && v >= 0 && v < 2 ** 32).toBe(true);
        expect(episodeSeed(s, e)).toBe(v);
        seen.add(v);
      }
    }
    // 10,000 draws of 32 bits: a collision is a 1% event; more than one would be a bad mix.
    expect(seen.size).toBeGreaterThanOrEqual(9_999);
  });
});

describe('EpisodeLoop', () => {
  it('starts episode e from env.reset(episodeSeed(seed, e))', () => {
    const resets: number[] = [];
    const spec: EnvSpec = {
      name: 'tick',
      maxSteps: 3,
      grid: null,
      groups: [
        {
          name: 'a',
          capacity: 1,
          view: { height: 1, width: 1, channels: 1, channelNames: ['x'] },
          features: 0,
          actions: 1,
        },
      ],
    };
    let t = 0;
    const out = (): StepOutput => ({
      groups: [
        {
          view: new Float32Array(1),
          features: new Float32Array(0),
          reward: new Float32Array(1),
          alive: Uint8Array.of(1),
          terminated: new Uint8Array(1),
          truncated: Uint8Array.of(t >= 3 ? 1 : 0),
        },
      ],
      step: t,
      done: t >= 3,
      info: {},
    });
    const env = {
      spec,
      reset(seed: number) {
        resets.push(seed);
        t = 0;
        return out();
      },
      step() {
        t++;
        return out();
      },
      render: () => ({}) as never,
    } as unknown as Environment;
    const loop = new EpisodeLoop(env, 42);
    for (let i = 0; i < 9; i++) loop.advance(() => {});
    expect(resets).toEqual([0, 1, 2].map((e) => episodeSeed(42, e)));
    expect(loop.drainEpisodes().map((e) => e.length)).toEqual([3, 3, 3]);
  });
});
