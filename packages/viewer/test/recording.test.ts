import { allocAgentsFrame, GibbsError, type RenderFrame } from '@gibbs/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeFrame, encodeHeader, RECORDING_VERSION, readRecording } from '../src/recording.ts';

const meta = { experiment: 'walkers', seed: 9, params: { agents: 3 }, every: 2 };

const frameArb = fc
  .record({
    step: fc.nat(1e6),
    episode: fc.nat(1000),
    width: fc.integer({ min: 0, max: 9 }),
    height: fc.integer({ min: 0, max: 7 }),
    count: fc.integer({ min: 0, max: 6 }),
    seed: fc.nat(),
  })
  .map(({ step, episode, width, height, count, seed }): RenderFrame => {
    let s = seed;
    const next = () => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s / 2 ** 32;
    };
    const agents = allocAgentsFrame(count);
    for (let i = 0; i < count; i++) {
      agents.group[i] = Math.floor(next() * 3);
      agents.slot[i] = Math.floor(next() * 2e9) - 1e9;
      agents.x[i] = Math.fround(next() * 100);
      agents.y[i] = Math.fround(next() * 100);
      agents.hp[i] = Math.fround(next());
      agents.heading[i] = i === 0 ? Number.NaN : Math.fround(next() * 6 - 3);
      agents.action[i] = Math.floor(next() * 40) - 1;
      agents.reward[i] = Math.fround(next() * 2 - 1);
    }
    const cells = new Uint8Array(width * height).map(() => Math.floor(next() * 4));
    return {
      step,
      episode,
      width,
      height,
      cells,
      legend: ['empty', 'wall', 'red', 'blue'],
      groups: ['red', 'blue', 'green'],
      agents,
    };
  });

function recording(frames: RenderFrame[]): Uint8Array<ArrayBuffer> {
  const parts = [encodeHeader(meta), ...frames.map((f, i) => encodeFrame(f, i === 0))];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const plain = (f: RenderFrame) => ({
  ...f,
  cells: Array.from(f.cells),
  agents: Object.fromEntries(
    Object.entries(f.agents).map(([k, v]) => [
      k,
      typeof v === 'number' ? v : Array.from(v as ArrayLike<number>),
    ]),
  ),
});

describe('recorded frames file', () => {
  it('reads back every frame exactly (property)', () => {
    fc.assert(
      fc.property(fc.array(frameArb, { minLength: 1, maxLength: 5 }), (frames) => {
        const rec = readRecording(recording(frames).slice().buffer);
        expect(rec.meta).toEqual(meta);
        expect(rec.truncated).toBeNull();
        expect(rec.offsets.length).toBe(frames.length);
        for (let i = 0; i < frames.length; i++)
          expect(plain(rec.frame(i))).toEqual(plain(frames[i]));
      }),
      { numRuns: 60 },
    );
  });

  it('a file cut anywhere gives its whole frames and says it is truncated', () => {
    fc.assert(
      fc.property(
        fc.array(frameArb, { minLength: 1, maxLength: 4 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (frames, at) => {
          const bytes = recording(frames);
          const header = encodeHeader(meta).length;
          const ends: number[] = [];
          let o = header;
          frames.forEach((f, i) => {
            o += encodeFrame(f, i === 0).length;
            ends.push(o);
          });
          const cut = header + Math.floor(at * (bytes.length - header - 1));
          const rec = readRecording(bytes.slice(0, cut).buffer);
          const whole = ends.filter((e) => e <= cut).length;
          expect(rec.offsets.length).toBe(whole);
          expect(rec.truncated !== null).toBe(cut !== ends[whole - 1] && cut !== header);
          for (let i = 0; i < whole; i++) expect(plain(rec.frame(i))).toEqual(plain(frames[i]));
        },
      ),
      { numRuns: 80 },
    );
  });

  it('refuses a newer format version and a file that is not a recording, naming what it found', () => {
    const bytes = recording([]);
    new DataView(bytes.buffer).setUint32(8, RECORDING_VERSION + 1, true);
    expect(() => readRecording(bytes.buffer, 'run/frames.bin')).toThrow(GibbsError);
    expect(() => readRecording(bytes.buffer, 'run/frames.bin')).toThrow(
      `frames format version ${RECORDING_VERSION + 1}`,
    );
    const json = new TextEncoder().encode('{"step": 1}');
    expect(() => readRecording(json.buffer, 'x.json')).toThrow(/not a Gibbs frames file/);
    const cutHeader = encodeHeader(meta).slice(0, 20);
    expect(() => readRecording(cutHeader.buffer)).toThrow(/truncated inside its header/);
  });

  it('keeps the legend of the last frame that carried one', () => {
    const a = allocAgentsFrame(0);
    const f1: RenderFrame = {
      step: 1,
      episode: 0,
      width: 1,
      height: 1,
      cells: new Uint8Array([1]),
      legend: ['empty', 'x'],
      groups: ['g'],
      agents: a,
    };
    const f2: RenderFrame = { ...f1, step: 2 };
    const f3: RenderFrame = { ...f1, step: 3, legend: ['empty', 'y'] };
    const bytes = new Uint8Array([
      ...encodeHeader(meta),
      ...encodeFrame(f1, true),
      ...encodeFrame(f2, false),
      ...encodeFrame(f3, true),
    ]);
    const rec = readRecording(bytes.buffer);
    expect(rec.frame(1).legend).toEqual(['empty', 'x']);
    expect(rec.frame(2).legend).toEqual(['empty', 'y']);
  });
});
