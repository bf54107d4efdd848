import { createHash } from 'node:crypto';
import { Rng, type StepOutput } from '@gibbs/core';
import { describe, expect, it } from 'vitest';
import { Battle, type BattleConfigInput } from '../src/battle.ts';

/**
 * Pinned trajectories: a SHA-256 of every output of 300 seeded random steps (views, features,
 * rewards, flags, info, counts and render()), across resets. A change meant to keep behaviour (a
 * refactor, a faster kernel) must keep these hashes; a change of the rules or of the drawn order
 * changes them, and then the new hashes go in the same commit, saying why.
 */
function trajectory(env: Battle, steps: number): string {
  const h = createHash('sha256');
  const bytes = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const feed = (out: StepOutput) => {
    h.update(`${out.step} ${out.done} ${JSON.stringify(out.info)}`);
    for (const g of out.groups)
      for (const k of ['view', 'features', 'reward', 'alive', 'terminated', 'truncated'] as const)
        h.update(bytes(g[k]));
    const { agents, cells, ...rest } = env.render();
    h.update(JSON.stringify(rest));
    h.update(bytes(cells));
    for (const [k, v] of Object.entries(agents)) {
      h.update(k);
      h.update(bytes(v as ArrayBufferView));
    }
    h.update(JSON.stringify(env.counts()));
  };
  const rng = new Rng(7);
  const acts = env.spec.groups.map((g) => new Int32Array(g.capacity));
  let seed = 100;
  let out = env.reset(seed);
  feed(out);
  for (let t = 0; t < steps; t++) {
    if (out.done) out = env.reset(++seed);
    else {
      for (const a of acts) for (let i = 0; i < a.length; i++) a[i] = rng.int(21);
      out = env.step(acts);
    }
    feed(out);
  }
  return h.digest('hex').slice(0, 16);
}

const cases: [string, BattleConfigInput, string][] = [
  // 2 episodes and a half (maxSteps 120); the JS kernel gives the same bytes
  ['block, wasm', { map: 40, kernel: 'wasm', maxSteps: 120 }, 'aba365b3bdd14ff8'],
  ['block, js', { map: 40, kernel: 'js', maxSteps: 120 }, 'aba365b3bdd14ff8'],
  ['random', { map: 40, placement: 'random', maxSteps: 120 }, '4370604b97573a55'],
  [
    'random on 80x80, 2 threads',
    { map: 80, placement: 'random', threads: 2, maxSteps: 120 },
    'a1438040e4ea983b',
  ],
  // dense: many kills in one episode
  [
    'random, 900 a side, 2 threads, js',
    { map: 80, placement: 'random', agents: 900, threads: 2, kernel: 'js' },
    '936b6b3aed5b84da',
  ],
  [
    'explicit, with hp',
    {
      map: 12,
      placement: 'explicit',
      maxSteps: 50,
      explicit: {
        red: [
          { x: 2, y: 2 },
          { x: 3, y: 5, hp: 3 },
          { x: 6, y: 6 },
        ],
        blue: [
          { x: 3, y: 2, hp: 1 },
          { x: 4, y: 5 },
          { x: 8, y: 8 },
        ],
      },
    },
    '3ccb59645c81d615',
  ],
];

describe('battle: pinned trajectories', () => {
  for (const [name, config, hash] of cases)
    it(name, async () => {
      const env = new Battle(config);
      try {
        await env.ready();
        expect(trajectory(env, 300)).toBe(hash);
      } finally {
        await env.dispose();
      }
    });
});
