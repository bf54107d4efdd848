import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { circleOffsets, circleSpans, rowOrder, ViewLayer } from '../src/view-layer.ts';

describe('ViewLayer', () => {
  it('circles: spans and offsets hold exactly the cells with dx^2 + dy^2 <= r^2', () => {
    for (const r of [1, 2, 4, 5, 7]) {
      const spans = circleSpans(r);
      let cells = 0;
      for (let dy = -r; dy <= r; dy++)
        for (let dx = -r; dx <= r; dx++)
          if (dx * dx + dy * dy <= r * r) {
            cells++;
            expect(Math.abs(dx)).toBeLessThanOrEqual(spans[dy + r]);
          } else expect(Math.abs(dx)).toBeGreaterThan(spans[dy + r]);
      expect(circleOffsets(r, true).length / 2).toBe(cells);
    }
    expect(circleOffsets(3, true).length / 2).toBe(29); // Gather's moves
    expect(circleOffsets(1.5, false).length / 2).toBe(8); // the 8 neighbours
  });

  it('a window reads the map, obstacle off it, zero outside the circle; copyWithin = loop', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 0, max: 1e6 }),
        (w, h, r, seed) => {
          const C = 3;
          const size = (2 * r + 1) ** 2 * C;
          const host = new Float32Array(size + ViewLayer.size(w, h, C, r));
          const shared = new ViewLayer(w, h, C, r, 0, { buffer: host, offset: size });
          const own = new ViewLayer(w, h, C, r, 0);
          let s = seed;
          for (let y = 0; y < h; y++)
            for (let x = 0; x < w; x++)
              for (let c = 1; c < C; c++) {
                s = (Math.imul(s, 1103515245) + 12345) >>> 0;
                shared.set(x, y, c, s % 3);
                own.set(x, y, c, s % 3);
              }
          const spans = circleSpans(r);
          const x0 = seed % w;
          const y0 = (seed >>> 4) % h;
          const a = new Float32Array(size);
          own.window(a, 0, x0, y0, spans);
          shared.window(host, 0, x0, y0, spans);
          expect(Array.from(host.subarray(0, size))).toEqual(Array.from(a));
          const side = 2 * r + 1;
          for (let dy = -r; dy <= r; dy++)
            for (let dx = -r; dx <= r; dx++) {
              const at = ((dy + r) * side + dx + r) * C;
              const x = x0 + dx;
              const y = y0 + dy;
              const inCircle = dx * dx + dy * dy <= r * r;
              const onMap = x >= 0 && y >= 0 && x < w && y < h;
              expect(a[at]).toBe(inCircle && !onMap ? 1 : 0);
              for (let c = 1; c < C; c++)
                expect(a[at + c]).toBe(inCircle && onMap ? own.data[own.at(x, y) + c] : 0);
            }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('rowOrder lists the live slots by row, stable within a row', () => {
    const y = Int32Array.of(3, 0, 3, 1, 0, 2);
    const alive = Uint8Array.of(1, 1, 1, 1, 0, 1);
    const order = new Int32Array(6);
    const n = rowOrder(y, alive, 4, new Int32Array(5), order);
    expect(n).toBe(5);
    expect(Array.from(order.subarray(0, n))).toEqual([1, 3, 5, 0, 2]);
    expect(rowOrder(y, null, 4, new Int32Array(5), order)).toBe(6);
    expect(Array.from(order)).toEqual([1, 4, 3, 5, 0, 2]);
  });
});
