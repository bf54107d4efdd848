import { allocAgentsFrame, type RenderFrame } from '@gibbs/core';
import { onsagerEnergy } from '@gibbs/env/ising-mcmc';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fitCamera, screenToWorld, worldToScreen, zoomAt } from '../src/camera.ts';
import { DEFAULT_PANELS, formatTick } from '../src/charts.ts';
import { onsagerFreeEnergy } from '../src/derived.ts';
import { History } from '../src/history.ts';
import { agentsAt, orderEntries, SHOWN_ENTRIES, signedBars } from '../src/inspector.ts';
import { groupColour, legendColour, packRgba, paintCells, paletteFor } from '../src/palette.ts';
import { parseAddress } from '../src/remote-source.ts';
import { liveParamOf, toSourceStatus } from '../src/worker-source.ts';

describe('camera', () => {
  it('fits a world centred in the viewport', () => {
    expect(fitCamera(100, 50, 800, 600)).toEqual({ scale: 8, x: 0, y: 100 });
    expect(fitCamera(2048, 2048, 1024, 512)).toEqual({ scale: 0.25, x: 256, y: 0 });
  });

  it('zooming keeps the point under the cursor fixed (property)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.05, max: 50, noNaN: true }),
        fc.double({ min: -500, max: 500, noNaN: true }),
        fc.double({ min: -500, max: 500, noNaN: true }),
        fc.double({ min: 0, max: 1000, noNaN: true }),
        fc.double({ min: 0, max: 1000, noNaN: true }),
        fc.double({ min: 0.5, max: 2, noNaN: true }),
        (scale, x, y, sx, sy, f) => {
          const c = { scale, x, y };
          const before = screenToWorld(c, sx, sy);
          const after = screenToWorld(zoomAt(c, sx, sy, f), sx, sy);
          expect(after[0]).toBeCloseTo(before[0], 6);
          expect(after[1]).toBeCloseTo(before[1], 6);
          const back = worldToScreen(c, ...before);
          expect(back[0]).toBeCloseTo(sx, 6);
        },
      ),
    );
  });
});

describe('palette', () => {
  it('maps cell codes through the legend: empty, groups, named, hashed', () => {
    const legend = ['empty', 'wall', 'blue', 'red', 'lava'];
    const groups = ['red', 'blue'];
    const lut = paletteFor(legend, groups);
    expect(lut[2]).toBe(packRgba(...groupColour(1)));
    expect(lut[3]).toBe(packRgba(...groupColour(0)));
    expect(lut[1]).toBe(packRgba(110, 110, 120));
    expect(lut[4]).toBe(packRgba(...legendColour('lava', 4, groups)));
    expect(lut[200]).toBe(packRgba(255, 0, 255));
    const out = new Uint32Array(4);
    paintCells(new Uint8Array([0, 3, 2, 9]), lut, out);
    const bytes = new Uint8Array(out.buffer);
    // Little-endian RGBA bytes, what the rgba8unorm texture reads.
    expect([...bytes.subarray(4, 8)]).toEqual([...groupColour(0), 255]);
    expect([...bytes.subarray(12, 16)]).toEqual([255, 0, 255, 255]);
  });
});

describe('inspector lookup', () => {
  it('finds every agent in a cell, and only those', () => {
    const a = allocAgentsFrame(4);
    a.x.set([2, 2.5, 3, 2]);
    a.y.set([1, 1.9, 1, 0]);
    const f: RenderFrame = {
      step: 0,
      episode: 0,
      width: 4,
      height: 3,
      cells: new Uint8Array(12),
      legend: ['empty'],
      groups: ['g'],
      agents: a,
    };
    expect(agentsAt(f, 2, 1)).toEqual([0, 1]);
    expect(agentsAt(f, 3, 1)).toEqual([2]);
    expect(agentsAt(f, 0, 0)).toEqual([]);
  });
});

describe('charts: default panels by metric name', () => {
  const panelOf = (id: string) => DEFAULT_PANELS.find((r) => r.match(id))?.title;
  it('per group and by name; anything else goes to the picker', () => {
    expect(panelOf('g:reward_mean')).toBe('reward per group');
    expect(panelOf('g:alive')).toBe('alive per group');
    expect(panelOf('g:kills')).toBe('kills per group');
    expect(panelOf('v:temperature')).toBe('temperature');
    expect(panelOf('v:order')).toBe('order parameter');
    expect(panelOf('v:magnetisation')).toBe('order parameter');
    expect(panelOf('v:policy_entropy')).toBe('entropy (policy, beliefs)');
    expect(panelOf('v:free_energy')).toBe('free energy');
    expect(panelOf('v:exact_free_energy')).toBe('free energy');
    expect(panelOf('v:energy')).toBe('energy vs Onsager');
    expect(panelOf('v:exact_energy')).toBe('energy vs Onsager');
    expect(panelOf('v:efe_utility')).toBe('EFE parts');
    expect(panelOf('v:efe_state_info_gain')).toBe('EFE parts');
    expect(panelOf('v:q_mse')).toBe('loss');
    expect(panelOf('v:dropped_frames')).toBe('dropped frames');
    expect(panelOf('v:kin_share')).toBeUndefined();
    expect(panelOf('g:kin_share')).toBeUndefined();
  });

  it('tick labels fit: large numbers are shortened', () => {
    expect(formatTick(100_000)).toBe('100k');
    expect(formatTick(2_500_000)).toBe('2.5M');
    expect(formatTick(1234)).toBe('1234');
    expect(formatTick(-0.5)).toBe('-0.5');
    expect(formatTick(0)).toBe('0');
    expect(formatTick(0.00012)).toBe('1.2e-4');
  });

  it('Onsager free energy: limits, and its derivative is the exact energy', () => {
    expect(onsagerFreeEnergy(0.05)).toBeCloseTo(-2, 6);
    expect(onsagerFreeEnergy(100)).toBeCloseTo(-2 * 100 * Math.LN2, 1);
    for (const tau of [0.6, 1, 1.5, 3]) {
      const bf = (k: number) => k * onsagerFreeEnergy(1 / (2 * k));
      const K = 1 / (2 * tau);
      const u = (bf(K + 1e-5) - bf(K - 1e-5)) / 2e-5;
      expect(u).toBeCloseTo(onsagerEnergy(tau), 4);
    }
  });
});

describe('history: the whole run, min/max per bucket', () => {
  it('keeps every record while it fits, then halves by merging neighbours', () => {
    const h = new History(8);
    for (let i = 1; i <= 8; i++) h.push(i, 0, { a: i });
    expect(h.length).toBe(8);
    expect(h.data(['a']).x).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    h.push(9, 1, { a: 9 });
    expect(h.span).toBe(2);
    expect(h.length).toBe(5);
    const d = h.data(['a']);
    // Two points a full bucket (min and max in the order they came), one for the open bucket.
    expect(d.x).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(d.ys[0]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(h.data(['a'], 'episode').x.at(-1)).toBe(1);
  });

  it('a spike survives 100k records in bounded memory (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100_000 }),
        fc.integer({ min: 1000, max: 100_000 }),
        (spikeAt, n) => {
          const h = new History(256);
          const at = Math.min(spikeAt, n);
          for (let s = 1; s <= n; s++)
            h.push(s, Math.floor(s / 100), { a: s === at ? 1e6 : Math.sin(s), b: -s });
          expect(h.length).toBeLessThanOrEqual(256);
          expect(h.range).toEqual([1, n]);
          const d = h.data(['a', 'b']);
          expect(Math.max(...d.ys[0])).toBe(1e6);
          expect(Math.min(...d.ys[1])).toBe(-n);
          expect(Math.max(...d.ys[1])).toBe(-1);
        },
      ),
      { numRuns: 8 },
    );
  });

  it('smoothing is an EMA of the bucket means; CSV has a row per bucket', () => {
    const h = new History(64);
    for (let s = 1; s <= 10; s++) h.push(s, 0, { a: s % 2 });
    const sm = h.data(['a'], 'step', 0.9).ys[0];
    expect(sm[0]).toBe(1);
    expect(sm[1]).toBeCloseTo(0.9, 10);
    const csv = h.csv(['a'], ['a, odd']).trim().split('\n');
    expect(csv).toHaveLength(11);
    expect(csv[0]).toBe(
      'step_first,step_last,episode_first,episode_last,records,"a, odd mean","a, odd min","a, odd max"',
    );
    expect(csv[1]).toBe('1,1,0,0,1,1,1,1');
  });
});

describe('inspector bars', () => {
  it('are signed around zero', () => {
    const { zero, bars } = signedBars([-3, 1, 0]);
    expect(zero).toBeCloseTo(75, 10);
    expect(bars[0]).toEqual([0, 75]);
    expect(bars[1][0]).toBeCloseTo(75, 10);
    expect(bars[1][1]).toBeCloseTo(25, 10);
    expect(bars[2]).toEqual([75, 0]);
    // All positive: zero at the left edge, as plain bars.
    expect(signedBars([1, 2]).zero).toBe(0);
    // All negative: zero at the right edge.
    expect(signedBars([-1, -2]).zero).toBe(100);
  });

  it('a long distribution is sorted, largest first, the top ones unless all are asked for', () => {
    expect(orderEntries([3, 1, 2], false)).toEqual([0, 1, 2]);
    const long = Array.from({ length: 30 }, (_, k) => (k * 7) % 30);
    const top = orderEntries(long, false);
    expect(top).toHaveLength(SHOWN_ENTRIES);
    expect(top.map((i) => long[i])).toEqual([29, 28, 27, 26, 25, 24, 23, 22, 21, 20]);
    expect(orderEntries(long, true)).toHaveLength(30);
  });
});

describe('sources', () => {
  it('checks attach addresses', () => {
    expect(parseAddress('127.0.0.1:8765').href).toBe('ws://127.0.0.1:8765/');
    expect(parseAddress('ws://localhost:1/').port).toBe('1');
    expect(() => parseAddress('http://127.0.0.1:80')).toThrow(/ws:\/\/ or wss:\/\//);
    expect(() => parseAddress('ws://127.0.0.1')).toThrow(/port/);
    expect(() => parseAddress('not an address')).toThrow(/attach address/);
  });

  it('turns a live parameter schema into a control', () => {
    expect(
      liveParamOf('temperature', { type: 'number', minimum: 0, maximum: 5, default: 2 }, undefined),
    ).toEqual({
      name: 'temperature',
      kind: 'number',
      value: 2,
      min: 0,
      max: 5,
    });
    expect(
      liveParamOf('n', { type: 'integer', minimum: -9007199254740991 }, 3).min,
    ).toBeUndefined();
  });

  it('reports a failed run with its step', () => {
    const s = toSourceStatus(
      'worker',
      {
        experiment: 'x',
        description: '',
        seed: 0,
        steps: null,
        logEvery: 1,
        params: {},
        liveParams: [],
        backend: 'wasm',
        worker: true,
      },
      {
        state: 'failed',
        step: 4,
        episode: 0,
        speed: null,
        backend: null,
        params: {},
        framesDelivered: 1,
        framesDropped: 2,
        metricsDropped: 0,
        error: { name: 'Error', message: 'boom', stack: null, step: 5 },
      },
      0,
    );
    expect(s).toMatchObject({
      running: false,
      backend: 'wasm',
      droppedFrames: 2,
      speed: 0,
      failed: 'x failed at step 5: boom',
    });
  });
});
