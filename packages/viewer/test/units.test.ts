import { allocAgentsFrame, type MetricRecord, type RenderFrame } from '@gibbs/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fitCamera, screenToWorld, worldToScreen, zoomAt } from '../src/camera.ts';
import { CHARTS } from '../src/charts.ts';
import { agentsAt } from '../src/inspector.ts';
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

describe('charts pick their series from metric records', () => {
  const r: MetricRecord = {
    step: 3,
    episode: 0,
    values: {
      temperature: 2.2,
      order: 0.4,
      magnetisation: -0.1,
      policy_entropy: 1.1,
      free_energy: 3,
      dropped_frames: 7,
      loss: 1,
    },
    groups: { red: { alive: 10, reward_mean: 0.5 }, blue: { alive: 8, reward: -1 } },
  };
  const pick = (title: string) => CHARTS.find((c) => c.title === title)!.pick(r);
  it('per group and by name', () => {
    expect(pick('reward per group')).toEqual({ red: 0.5, blue: -1 });
    expect(pick('alive per group')).toEqual({ red: 10, blue: 8 });
    expect(pick('temperature')).toEqual({ temperature: 2.2 });
    expect(pick('order parameter')).toEqual({ order: 0.4, magnetisation: -0.1 });
    expect(pick('entropy (policy, beliefs)')).toEqual({ policy_entropy: 1.1 });
    expect(pick('free energy')).toEqual({ free_energy: 3 });
    expect(pick('dropped frames')).toEqual({ dropped_frames: 7 });
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
