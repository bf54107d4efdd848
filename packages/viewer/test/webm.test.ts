/** The WebM writer and reader (webm.ts): what is written reads back, element by element. */
import { describe, expect, it } from 'vitest';
import { muxWebm, readWebm, WebmError, type WebmFrame } from '../src/webm.ts';

/** `n` fake frames at `fps`, a key frame every `keyEvery`, of varied sizes (some > 127 bytes). */
function frames(n: number, fps: number, keyEvery: number): WebmFrame[] {
  return Array.from({ length: n }, (_, i) => ({
    data: new Uint8Array(10 + ((i * 37) % 300)).fill(i & 0xff),
    timestampUs: Math.round((i * 1e6) / fps),
    key: i % keyEvery === 0,
  }));
}

describe('muxWebm', () => {
  it('writes a WebM that reads back: header, duration, track, clusters, cues, block times', () => {
    const bytes = muxWebm({ codec: 'V_VP9', width: 640, height: 360, fps: 25 }, frames(60, 25, 20));
    expect(Array.from(bytes.subarray(0, 4))).toEqual([0x1a, 0x45, 0xdf, 0xa3]);
    const w = readWebm(bytes);
    expect(w.docType).toBe('webm');
    expect(w.codec).toBe('V_VP9');
    expect([w.width, w.height]).toEqual([640, 360]);
    // 60 frames at 25 fps: 2.4 s.
    expect(w.durationMs).toBeCloseTo(2400, 6);
    expect(w.frames).toBe(60);
    expect(w.keyFrames).toBe(3);
    // A cluster (and a cue) per key frame.
    expect(w.clusters).toBe(3);
    expect(w.cues).toBe(3);
    expect(w.times).toEqual(Array.from({ length: 60 }, (_, i) => Math.round(i * 40)));
  });

  it('splits clusters before an int16 millisecond offset overflows', () => {
    // One key frame, then 40 s of frames at 1 fps: the blocks need a second cluster.
    const w = readWebm(
      muxWebm({ codec: 'V_VP8', width: 8, height: 8, fps: 1 }, frames(40, 1, 1000)),
    );
    expect(w.clusters).toBe(2);
    expect(w.cues).toBe(1);
    expect(w.times[39]).toBe(39_000);
    expect(w.durationMs).toBe(40_000);
  });

  it('refuses no frames and a first frame that is not a key frame', () => {
    const v = { codec: 'V_VP8' as const, width: 8, height: 8, fps: 10 };
    expect(() => muxWebm(v, [])).toThrow(/no frames/);
    expect(() =>
      muxWebm(
        v,
        frames(3, 10, 1).map((f) => ({ ...f, key: false })),
      ),
    ).toThrow(/key frame/);
  });
});

describe('readWebm', () => {
  it('refuses what is not EBML, and a file cut inside an element', () => {
    expect(() => readWebm(new Uint8Array([0x89, 0x50, 0x4e, 0x47]))).toThrow(WebmError);
    const bytes = muxWebm({ codec: 'V_VP8', width: 8, height: 8, fps: 10 }, frames(10, 10, 5));
    expect(() => readWebm(bytes.subarray(0, bytes.length - 10))).toThrow(/runs past its parent/);
  });

  it('reads a live stream: Segment and Clusters of unknown size (as MediaRecorder writes them)', () => {
    const bytes = muxWebm({ codec: 'V_VP8', width: 8, height: 8, fps: 10 }, frames(10, 10, 5));
    // Rewrite the Segment's and each Cluster's size as "unknown" (8-byte all-ones vint), as a
    // recorder that cannot seek back does.
    const parts: number[] = [];
    const unknown = [0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
    for (let o = 0; o < bytes.length; ) {
      const isSeg = bytes[o] === 0x18 && bytes[o + 1] === 0x53 && bytes[o + 2] === 0x80;
      const isCluster = bytes[o] === 0x1f && bytes[o + 1] === 0x43 && bytes[o + 2] === 0xb6;
      if (isSeg || isCluster) {
        parts.push(bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3], ...unknown);
        let len = 1;
        while (!(bytes[o + 4] & (0x80 >> (len - 1)))) len++;
        o += 4 + len;
        continue;
      }
      parts.push(bytes[o++]);
    }
    const w = readWebm(Uint8Array.from(parts));
    expect(w.clusters).toBe(2);
    expect(w.frames).toBe(10);
    expect(w.keyFrames).toBe(2);
  });
});
