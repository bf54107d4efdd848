import { Rng } from '@gibbs/core';
import { describe, expect, it } from 'vitest';
import { N_ACTIONS } from '../src/battle-constants.ts';
import { layoutOf, stateOf } from '../src/battle-kernels.ts';
import { obsWasmBytes } from '../src/battle-wasm.ts';

describe('battle: the WebAssembly observation kernel', () => {
  it('copies with 128-bit SIMD exactly what memory.copy copies, byte for byte', () => {
    for (const [map, n0, n1] of [
      [13, 5, 7],
      [40, 64, 64],
      [97, 300, 250],
    ]) {
      const layout = layoutOf(map, map, n0, n1);
      const pages = Math.ceil(layout.bytes / 65536);
      const memories = [true, false].map((simd) => {
        const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
        const module = new WebAssembly.Module(obsWasmBytes(layout, pages, false, simd));
        const instance = new WebAssembly.Instance(module, { env: { memory } });
        return { memory, observe: instance.exports.observe as (lo: number, hi: number) => void };
      });
      // The same random state in both: maps, views and features full of noise, agents anywhere.
      const rng = new Rng(map);
      const noise = new Uint8Array(layout.bytes);
      for (let i = 0; i < noise.length; i++) noise[i] = rng.int(256);
      const s = stateOf(layout, noise.buffer);
      for (let a = 0; a < n0 + n1; a++) {
        s.px[a] = rng.int(map);
        s.py[a] = rng.int(map);
        s.alive[a] = rng.int(4) === 0 ? 0 : 1;
        s.lastAction[a] = rng.int(N_ACTIONS + 1) - 1;
      }
      for (const { memory, observe } of memories) {
        new Uint8Array(memory.buffer).set(noise);
        observe(0, n0 + n1);
      }
      const [a, b] = memories.map(({ memory }) => new Uint8Array(memory.buffer, 0, layout.bytes));
      expect(Buffer.compare(a, b)).toBe(0);
      // and it did write: the views differ from the noise
      expect(Buffer.compare(a, noise)).not.toBe(0);
    }
  });
});
