/**
 * The recorded-frames file (`frames.bin` in a run directory), written by `pnpm gibbs run --record`
 * and read by the viewer's replay. Platform-neutral: bytes in, bytes out.
 *
 *   file    = magic "GIBBSFRM" (8 bytes) | version u32 | metaLength u32 | meta (UTF-8 JSON, padded
 *             to 4 bytes) | record*
 *   record  = length u32 (bytes after this field) | step u32 | episode u32 | width u32 | height u32
 *             | count u32 | legendLength u32 | legend JSON ({legend, groups}, padded; only when it
 *             changed, else length 0) | cells u8[width*height] (padded) | group u8[count] (padded)
 *             | slot i32 | x f32 | y f32 | hp f32 | heading f32 | action i16 (padded) | reward f32
 * All integers and floats little-endian; every section starts on a 4-byte boundary. A record is
 * whole or absent: a file cut short (a crash mid-write, a copy in progress) reads as its whole
 * records plus a `truncated` note.
 */
import { type AgentsFrame, allocAgentsFrame, GibbsError, type RenderFrame } from '@gibbs/core';

export const RECORDING_MAGIC = 'GIBBSFRM';
export const RECORDING_VERSION = 1;

export interface RecordingMeta {
  experiment: string;
  seed: number;
  params: Record<string, unknown>;
  /** Steps between recorded frames. */
  every: number;
}

const pad4 = (n: number) => (n + 3) & ~3;
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

export function encodeHeader(meta: RecordingMeta): Uint8Array {
  const json = utf8.encode(JSON.stringify(meta));
  const out = new Uint8Array(16 + pad4(json.length));
  out.set(utf8.encode(RECORDING_MAGIC), 0);
  const dv = new DataView(out.buffer);
  dv.setUint32(8, RECORDING_VERSION, true);
  dv.setUint32(12, json.length, true);
  out.set(json, 16);
  return out;
}

/**
 * One frame as a record. `withLegend` is set for the first frame and whenever the legend or the
 * group names change.
 */
export function encodeFrame(f: RenderFrame, withLegend: boolean): Uint8Array {
  const n = f.agents.count;
  const cellCount = f.width * f.height;
  const legend = withLegend
    ? utf8.encode(JSON.stringify({ legend: f.legend, groups: f.groups }))
    : new Uint8Array(0);
  const size =
    4 + 24 + pad4(legend.length) + pad4(cellCount) + pad4(n) + 4 * n * 5 + pad4(2 * n) + 4 * n;
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  let o = 0;
  const u32 = (v: number) => {
    dv.setUint32(o, v, true);
    o += 4;
  };
  const bytes = (b: Uint8Array) => {
    out.set(b, o);
    o += pad4(b.length);
  };
  const f32 = (a: Float32Array) => {
    for (let i = 0; i < n; i++) dv.setFloat32(o + 4 * i, a[i], true);
    o += 4 * n;
  };
  u32(size - 4);
  u32(f.step);
  u32(f.episode);
  u32(f.width);
  u32(f.height);
  u32(n);
  u32(legend.length);
  bytes(legend);
  bytes(f.cells.subarray(0, cellCount));
  const a = f.agents;
  bytes(a.group.subarray(0, n));
  for (let i = 0; i < n; i++) dv.setInt32(o + 4 * i, a.slot[i], true);
  o += 4 * n;
  f32(a.x);
  f32(a.y);
  f32(a.hp);
  f32(a.heading);
  for (let i = 0; i < n; i++) dv.setInt16(o + 2 * i, a.action[i], true);
  o += pad4(2 * n);
  f32(a.reward);
  return out;
}

export interface Recording {
  meta: RecordingMeta;
  /** Byte offset of each whole record. */
  offsets: number[];
  /** Set when the file ends inside a record: what was read, and where it stopped. */
  truncated: string | null;
  /** Decode record `index` into a fresh frame. */
  frame(index: number): RenderFrame;
}

/**
 * Read a recording. Throws a GibbsError for a file that is not one, or from a newer format
 * version; a file cut short gives the whole records and a `truncated` message.
 */
export function readRecording(buf: ArrayBuffer, name = 'frames file'): Recording {
  const bytes = new Uint8Array(buf);
  const dv = new DataView(buf);
  if (bytes.length < 16 || fromUtf8.decode(bytes.subarray(0, 8)) !== RECORDING_MAGIC) {
    throw new GibbsError(
      `${name}: not a Gibbs frames file (it does not start with "${RECORDING_MAGIC}"${bytes.length < 16 ? `; only ${bytes.length} bytes` : ''})`,
      'replay',
      name,
      'a frames.bin written by `pnpm gibbs run --record`',
    );
  }
  const version = dv.getUint32(8, true);
  if (version > RECORDING_VERSION) {
    throw new GibbsError(
      `${name}: written by a newer Gibbs (frames format version ${version}; this viewer reads versions up to ${RECORDING_VERSION}). Update the viewer to replay it.`,
      'replay',
      version,
      `format version <= ${RECORDING_VERSION}`,
    );
  }
  const metaLength = dv.getUint32(12, true);
  if (16 + metaLength > bytes.length) {
    throw new GibbsError(
      `${name}: truncated inside its header (${bytes.length} bytes, header needs ${16 + metaLength})`,
      'replay',
      name,
      'a complete frames file',
    );
  }
  const meta = JSON.parse(fromUtf8.decode(bytes.subarray(16, 16 + metaLength))) as RecordingMeta;
  const offsets: number[] = [];
  const legends: { at: number; legend: string[]; groups: string[] }[] = [];
  let o = 16 + pad4(metaLength);
  let truncated: string | null = null;
  while (o < bytes.length) {
    if (o + 4 > bytes.length) {
      truncated = `file ends inside a record header after ${offsets.length} frames`;
      break;
    }
    const len = dv.getUint32(o, true);
    if (len < 24 || o + 4 + len > bytes.length) {
      truncated = `file ends inside frame ${offsets.length + 1} (${bytes.length - o} of ${len + 4} bytes); showing the ${offsets.length} whole frames`;
      break;
    }
    const legendLength = dv.getUint32(o + 24, true);
    if (legendLength > 0) {
      const parsed = JSON.parse(fromUtf8.decode(bytes.subarray(o + 28, o + 28 + legendLength))) as {
        legend: string[];
        groups: string[];
      };
      legends.push({ at: offsets.length, ...parsed });
    }
    offsets.push(o);
    o += 4 + len;
  }
  if (offsets.length > 0 && legends.length === 0) {
    throw new GibbsError(
      `${name}: the first frame carries no legend`,
      'replay',
      name,
      'a legend in frame 1',
    );
  }
  const legendFor = (index: number) => {
    let best = legends[0];
    for (const l of legends) if (l.at <= index) best = l;
    return best;
  };
  return {
    meta,
    offsets,
    truncated,
    frame(index: number): RenderFrame {
      if (!Number.isInteger(index) || index < 0 || index >= offsets.length) {
        throw GibbsError.invalid('replay frame', index, `an index in [0, ${offsets.length - 1}]`);
      }
      let p = offsets[index] + 4;
      const u32 = () => {
        const v = dv.getUint32(p, true);
        p += 4;
        return v;
      };
      const step = u32();
      const episode = u32();
      const width = u32();
      const height = u32();
      const count = u32();
      const legendLength = u32();
      p += pad4(legendLength);
      const cells = bytes.slice(p, p + width * height);
      p += pad4(width * height);
      const agents: AgentsFrame = allocAgentsFrame(count);
      agents.group.set(bytes.subarray(p, p + count));
      p += pad4(count);
      for (let i = 0; i < count; i++) agents.slot[i] = dv.getInt32(p + 4 * i, true);
      p += 4 * count;
      for (const arr of [agents.x, agents.y, agents.hp, agents.heading]) {
        for (let i = 0; i < count; i++) arr[i] = dv.getFloat32(p + 4 * i, true);
        p += 4 * count;
      }
      for (let i = 0; i < count; i++) agents.action[i] = dv.getInt16(p + 2 * i, true);
      p += pad4(2 * count);
      for (let i = 0; i < count; i++) agents.reward[i] = dv.getFloat32(p + 4 * i, true);
      const { legend, groups } = legendFor(index);
      return { step, episode, width, height, cells, legend, groups, agents };
    },
  };
}
