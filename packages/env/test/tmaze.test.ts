/** The T-maze world: contract, and the outcome rules worked by hand. */
import { assertEnv } from '@gibbs/core';
import { describe, expect, it } from 'vitest';
import {
  TMAZE_CENTRE,
  TMAZE_CUE,
  TMAZE_LEFT,
  TMAZE_LOSS,
  TMAZE_NONE,
  TMAZE_REWARD,
  TMAZE_RIGHT,
  TmazeEnv,
} from '../src/tmaze.ts';

const make = (agents = 64, rewardProb = 0.98, maxSteps = 3) =>
  new TmazeEnv({ agents, rewardProb, maxSteps });

describe('tmaze environment', () => {
  it('passes the environment checker (stochastic)', () => {
    assertEnv(() => make(16), { stochastic: true });
  });

  it('starts at the centre with no reward; the cue shows the context', () => {
    const env = make(200);
    const out = env.reset(7);
    const f = out.groups[0].features;
    for (let i = 0; i < 200; i++) {
      expect(f[3 * i]).toBe(TMAZE_CENTRE);
      expect(f[3 * i + 1]).toBe(TMAZE_NONE);
    }
    const step = env.step([new Int32Array(200).fill(TMAZE_CUE)]);
    for (let i = 0; i < 200; i++) {
      expect(step.groups[0].features[3 * i]).toBe(TMAZE_CUE);
      expect(step.groups[0].features[3 * i + 2]).toBe(env.context[i]);
      expect(step.groups[0].reward[i]).toBe(0);
    }
  });

  it('with reward probability 1, the rewarded arm always pays and the other always loses', () => {
    const env = make(100, 1);
    env.reset(3);
    env.step([new Int32Array(100).fill(TMAZE_CUE)]);
    const go = Int32Array.from({ length: 100 }, (_, i) =>
      i % 2 ? env.rewardedArm(i) : 3 - env.rewardedArm(i),
    );
    const out = env.step([go]);
    for (let i = 0; i < 100; i++) {
      const good = i % 2 === 1;
      expect(out.groups[0].features[3 * i + 1]).toBe(good ? TMAZE_REWARD : TMAZE_LOSS);
      expect(out.groups[0].reward[i]).toBe(good ? 1 : -1);
      expect(env.cueThenReward(i)).toBe(good);
    }
  });

  it('going to an arm first is not cue-first, even if the cue comes later', () => {
    const env = make(1, 1, 3);
    env.reset(1);
    env.step([Int32Array.of(TMAZE_RIGHT)]);
    env.step([Int32Array.of(TMAZE_CUE)]);
    env.step([Int32Array.of(TMAZE_LEFT)]);
    expect(env.firstVisit[0]).toBe(TMAZE_RIGHT);
    expect(env.cueThenReward(0)).toBe(false);
  });

  it('rejects an action out of range, naming the slot', () => {
    const env = make(4);
    env.reset(0);
    expect(() => env.step([Int32Array.of(0, 1, 4, 0)])).toThrow(
      /^tmaze: actions\[agents\]\[2\] = 4: expected an integer in \[0, 4\)/,
    );
  });
});
