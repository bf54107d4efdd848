import { allocActions, Rng } from '@gibbs/core';
import { describe, expect, it } from 'vitest';
import { Battle, type BattleConfigInput } from '../src/battle.ts';

/**
 * Play `steps` random steps on a 1-thread Battle and on one with `variant` (threads, kernel);
 * compare every output buffer, byte for byte. Returns the kills seen.
 */
async function compare(
  config: BattleConfigInput,
  variant: number | BattleConfigInput,
  steps: number,
  wait: boolean,
) {
  const one = new Battle(config);
  const many = new Battle({
    ...config,
    ...(typeof variant === 'number' ? { threads: variant } : variant),
  });
  const threads = many.threads;
  let kills = 0;
  try {
    if (wait) await many.ready();
    const rng = new Rng(42);
    const acts = allocActions(one.spec);
    for (const seed of [7, 8]) {
      let a = one.reset(seed);
      let b = many.reset(seed);
      for (let t = 0; t <= steps; t++) {
        for (let g = 0; g < 2; g++) {
          const x = a.groups[g];
          const y = b.groups[g];
          if (threads > 1) expect(y.view.buffer).toBeInstanceOf(SharedArrayBuffer);
          for (const k of [
            'view',
            'features',
            'reward',
            'alive',
            'terminated',
            'truncated',
          ] as const) {
            const u = new Uint8Array(x[k].buffer, x[k].byteOffset, x[k].byteLength);
            const v = new Uint8Array(y[k].buffer, y[k].byteOffset, y[k].byteLength);
            if (Buffer.compare(u, v) !== 0)
              throw new Error(
                `step ${t} seed ${seed}: group ${g} ${k} differs with ${threads} threads`,
              );
          }
        }
        expect(b.info).toEqual(a.info);
        expect(b.done).toBe(a.done);
        if (a.done || t === steps) break;
        for (const arr of acts) for (let i = 0; i < arr.length; i++) arr[i] = rng.int(21);
        a = one.step(acts);
        b = many.step(acts);
        kills += a.info['kills.red'] + a.info['kills.blue'];
      }
    }
  } finally {
    await many.dispose();
  }
  return kills;
}

describe('battle: the parallel step equals the single-thread step, byte for byte', () => {
  it('2 threads, random placement', async () => {
    await compare({ map: 64, agents: 400, placement: 'random' }, 2, 30, true);
  });

  it('3 threads, block placement, up to the truncation', async () => {
    await compare({ map: 50, agents: 100, placement: 'block', maxSteps: 25 }, 3, 30, true);
  });

  it('2 threads through many kills (weak agents packed together)', async () => {
    const rng = new Rng(3);
    const cells = rng.shuffle(Int32Array.from({ length: 28 * 28 }, (_, i) => i)).subarray(0, 300);
    const agents = Array.from(cells, (c) => ({
      x: 1 + (c % 28),
      y: 1 + Math.floor(c / 28),
      hp: 0.5,
    }));
    const explicit = { red: agents.slice(0, 150), blue: agents.slice(150) };
    expect(
      await compare({ map: 30, placement: 'explicit', explicit }, 2, 40, true),
    ).toBeGreaterThan(50);
  });

  it('gives the same result while the workers are still starting', async () => {
    await compare({ map: 40, agents: 200, placement: 'random' }, 2, 10, false);
  });

  it('the JS kernel (copyWithin) equals the WebAssembly kernel, on 1 and 2 threads', async () => {
    const config: BattleConfigInput = { map: 48, agents: 300, placement: 'random' };
    expect(new Battle(config).kernel).toBe('wasm');
    expect(new Battle({ ...config, kernel: 'js' }).kernel).toBe('js');
    await compare(config, { kernel: 'js' }, 30, true);
    await compare(config, { kernel: 'js', threads: 2 }, 30, true);
    await compare({ ...config, kernel: 'js' }, { kernel: 'wasm', threads: 2 }, 30, true);
  });

  it('threads can be disposed and the process still exits (workers are unref-ed)', async () => {
    const env = new Battle({ map: 30, agents: 20, threads: 2 });
    await env.ready();
    env.reset(1);
    await env.dispose();
    expect(() => env.step([new Int32Array(20).fill(6), new Int32Array(20).fill(6)])).toThrow(
      /disposed/,
    );
  });
});
