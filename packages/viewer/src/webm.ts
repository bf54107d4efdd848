/**
 * A minimal WebM (Matroska) writer and reader for one video track, platform-neutral. The writer
 * muxes encoded VP8/VP9 frames (WebCodecs' output, `gibbs video`) into a complete file, sizes
 * known: EBML header, Segment { SeekHead, Info (with Duration), Tracks, Cluster*, Cues }. The
 * reader walks a file's elements far enough to check one (ours, or MediaRecorder's, whose
 * Segment and Clusters are of unknown size) and to say what it holds.
 *
 * Element IDs and layout: https://www.matroska.org/technical/elements.html (WebM subset).
 */

export const EBML_MAGIC = [0x1a, 0x45, 0xdf, 0xa3] as const;

/** Element IDs used here, as written (with their length marker). */
const ID = {
  EBML: 0x1a45dfa3,
  EBMLVersion: 0x4286,
  EBMLReadVersion: 0x42f7,
  EBMLMaxIDLength: 0x42f2,
  EBMLMaxSizeLength: 0x42f3,
  DocType: 0x4282,
  DocTypeVersion: 0x4287,
  DocTypeReadVersion: 0x4285,
  Segment: 0x18538067,
  SeekHead: 0x114d9b74,
  Seek: 0x4dbb,
  SeekID: 0x53ab,
  SeekPosition: 0x53ac,
  Info: 0x1549a966,
  TimecodeScale: 0x2ad7b1,
  Duration: 0x4489,
  MuxingApp: 0x4d80,
  WritingApp: 0x5741,
  Tracks: 0x1654ae6b,
  TrackEntry: 0xae,
  TrackNumber: 0xd7,
  TrackUID: 0x73c5,
  TrackType: 0x83,
  FlagLacing: 0x9c,
  DefaultDuration: 0x23e383,
  CodecID: 0x86,
  Video: 0xe0,
  PixelWidth: 0xb0,
  PixelHeight: 0xba,
  Cluster: 0x1f43b675,
  Timecode: 0xe7,
  SimpleBlock: 0xa3,
  BlockGroup: 0xa0,
  Cues: 0x1c53bb6b,
  CuePoint: 0xbb,
  CueTime: 0xb3,
  CueTrackPositions: 0xb7,
  CueTrack: 0xf7,
  CueClusterPosition: 0xf1,
} as const;

export type WebmCodec = 'V_VP8' | 'V_VP9';

export interface WebmVideo {
  codec: WebmCodec;
  width: number;
  height: number;
  /** Frames per second: the track's default frame duration and the last frame's length. */
  fps: number;
}

export interface WebmFrame {
  data: Uint8Array;
  /** Presentation time in microseconds (WebCodecs' unit). */
  timestampUs: number;
  key: boolean;
}

// ------------------------------------------------------------------------------------ writing

function idBytes(id: number): number[] {
  const n = id >= 0x1000000 ? 4 : id >= 0x10000 ? 3 : id >= 0x100 ? 2 : 1;
  const out: number[] = [];
  for (let i = n - 1; i >= 0; i--) out.push(Math.floor(id / 2 ** (8 * i)) & 0xff);
  return out;
}

/** An element's data size as an EBML variable-size integer (shortest form; all-ones is reserved). */
function sizeBytes(size: number): number[] {
  let len = 1;
  while (size >= 2 ** (7 * len) - 1) len++;
  if (len > 8) throw new Error(`webm: element of ${size} bytes is too large`);
  const out: number[] = [];
  for (let i = len - 1; i >= 0; i--) out.push(Math.floor(size / 2 ** (8 * i)) & 0xff);
  out[0] |= 0x80 >> (len - 1);
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function el(id: number, body: Uint8Array | readonly Uint8Array[]): Uint8Array {
  const data = body instanceof Uint8Array ? body : concat(body);
  return concat([Uint8Array.from([...idBytes(id), ...sizeBytes(data.length)]), data]);
}

/** An unsigned integer element, `width` bytes (shortest that holds it when not given). */
function uint(id: number, v: number, width?: number): Uint8Array {
  let n = 1;
  while (v >= 2 ** (8 * n)) n++;
  const len = width ?? n;
  const b = new Uint8Array(len);
  for (let i = 0; i < len; i++) b[len - 1 - i] = Math.floor(v / 2 ** (8 * i)) & 0xff;
  return el(id, b);
}

function float(id: number, v: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, v);
  return el(id, b);
}

function str(id: number, s: string): Uint8Array {
  return el(id, new TextEncoder().encode(s));
}

/** A Cluster's blocks carry int16 millisecond offsets from its timecode: keep clusters shorter. */
const MAX_CLUSTER_MS = 30_000;

/**
 * A complete WebM file of `frames` (in presentation order, the first a key frame). Timestamps are
 * kept to the millisecond (TimecodeScale 1 ms); the duration is the last frame's time plus one
 * frame. A cluster starts at every key frame (and before an int16 offset would overflow), and
 * each key-frame cluster gets a cue, so players can seek.
 */
export function muxWebm(video: WebmVideo, frames: readonly WebmFrame[]): Uint8Array {
  if (frames.length === 0) throw new Error('webm: no frames to write');
  if (!frames[0].key) throw new Error('webm: the first frame must be a key frame');
  const ms = (us: number) => Math.round(us / 1000);
  const frameMs = 1000 / video.fps;
  const durationMs = ms(frames[frames.length - 1].timestampUs) + frameMs;

  const info = el(ID.Info, [
    uint(ID.TimecodeScale, 1_000_000),
    float(ID.Duration, durationMs),
    str(ID.MuxingApp, 'gibbs'),
    str(ID.WritingApp, 'gibbs'),
  ]);
  const tracks = el(ID.Tracks, [
    el(ID.TrackEntry, [
      uint(ID.TrackNumber, 1),
      uint(ID.TrackUID, 1),
      uint(ID.TrackType, 1),
      uint(ID.FlagLacing, 0),
      uint(ID.DefaultDuration, Math.round(1e9 / video.fps)),
      str(ID.CodecID, video.codec),
      el(ID.Video, [uint(ID.PixelWidth, video.width), uint(ID.PixelHeight, video.height)]),
    ]),
  ]);

  // Clusters, each with its first block's time and whether it starts on a key frame (a cue).
  const clusters: { time: number; cue: boolean; bytes: Uint8Array }[] = [];
  let blocks: Uint8Array[] = [];
  let start = 0;
  let cue = false;
  const close = () => {
    if (blocks.length > 0)
      clusters.push({
        time: start,
        cue,
        bytes: el(ID.Cluster, [uint(ID.Timecode, start), ...blocks]),
      });
    blocks = [];
  };
  for (const f of frames) {
    const t = ms(f.timestampUs);
    if (blocks.length === 0 || f.key || t - start > MAX_CLUSTER_MS) {
      close();
      start = t;
      cue = f.key;
    }
    const head = new Uint8Array(4);
    head[0] = 0x81; // track 1, as a 1-byte vint
    new DataView(head.buffer).setInt16(1, t - start);
    head[3] = f.key ? 0x80 : 0;
    blocks.push(el(ID.SimpleBlock, [head, f.data]));
  }
  close();

  // Positions are from the start of the Segment's data. SeekHead's positions are written 8 bytes
  // wide, so its size does not depend on them.
  const seekEntry = (id: number, pos: number) =>
    el(ID.Seek, [el(ID.SeekID, Uint8Array.from(idBytes(id))), uint(ID.SeekPosition, pos, 8)]);
  const seekSize = el(ID.SeekHead, [
    seekEntry(ID.Info, 0),
    seekEntry(ID.Tracks, 0),
    seekEntry(ID.Cues, 0),
  ]).length;
  const infoAt = seekSize;
  const tracksAt = infoAt + info.length;
  let at = tracksAt + tracks.length;
  const points: Uint8Array[] = [];
  for (const c of clusters) {
    if (c.cue)
      points.push(
        el(ID.CuePoint, [
          uint(ID.CueTime, c.time),
          el(ID.CueTrackPositions, [uint(ID.CueTrack, 1), uint(ID.CueClusterPosition, at)]),
        ]),
      );
    at += c.bytes.length;
  }
  const cues = el(ID.Cues, points);
  const seekHead = el(ID.SeekHead, [
    seekEntry(ID.Info, infoAt),
    seekEntry(ID.Tracks, tracksAt),
    seekEntry(ID.Cues, at),
  ]);

  const header = el(ID.EBML, [
    uint(ID.EBMLVersion, 1),
    uint(ID.EBMLReadVersion, 1),
    uint(ID.EBMLMaxIDLength, 4),
    uint(ID.EBMLMaxSizeLength, 8),
    str(ID.DocType, 'webm'),
    uint(ID.DocTypeVersion, 4),
    uint(ID.DocTypeReadVersion, 2),
  ]);
  const segment = el(ID.Segment, [seekHead, info, tracks, ...clusters.map((c) => c.bytes), cues]);
  return concat([header, segment]);
}

// ------------------------------------------------------------------------------------ reading

/** What a WebM file holds, as far as `readWebm` looks. */
export interface WebmSummary {
  docType: string;
  /** Info's Duration in milliseconds; null when absent (MediaRecorder writes none). */
  durationMs: number | null;
  codec: string | null;
  width: number | null;
  height: number | null;
  clusters: number;
  /** SimpleBlocks and BlockGroups in all clusters. */
  frames: number;
  keyFrames: number;
  /** Block times in milliseconds (cluster timecode plus the block's offset), in file order. */
  times: number[];
  cues: number;
}

/** An EBML parse error: what was expected and at which byte. */
export class WebmError extends Error {}

/** Elements whose data is other elements (the ones the reader descends into). */
const MASTERS = new Set<number>([
  ID.EBML,
  ID.Segment,
  ID.SeekHead,
  ID.Info,
  ID.Tracks,
  ID.TrackEntry,
  ID.Video,
  ID.Cluster,
  ID.BlockGroup,
  ID.Cues,
  ID.CuePoint,
]);
/** Elements that end a Cluster of unknown size (MediaRecorder's live clusters). */
const SEGMENT_CHILDREN = new Set<number>([ID.Cluster, ID.Cues, ID.Info, ID.Tracks, ID.SeekHead]);

/**
 * Read a WebM file's header, track and clusters. Throws a WebmError for bytes that are not EBML,
 * a DocType other than webm, or an element that runs past its parent.
 */
export function readWebm(bytes: Uint8Array): WebmSummary {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: WebmSummary = {
    docType: '',
    durationMs: null,
    codec: null,
    width: null,
    height: null,
    clusters: 0,
    frames: 0,
    keyFrames: 0,
    times: [],
    cues: 0,
  };
  if (EBML_MAGIC.some((b, i) => bytes[i] !== b))
    throw new WebmError('not a WebM file: it does not start with the EBML header (1A 45 DF A3)');

  const readId = (o: number): [number, number] => {
    const b = bytes[o];
    const len = b >= 0x80 ? 1 : b >= 0x40 ? 2 : b >= 0x20 ? 3 : b >= 0x10 ? 4 : 0;
    if (len === 0 || o + len > bytes.length) throw new WebmError(`bad element id at byte ${o}`);
    let id = 0;
    for (let i = 0; i < len; i++) id = id * 256 + bytes[o + i];
    return [id, len];
  };
  /** A size vint: [value (null: unknown), length]. */
  const readSize = (o: number): [number | null, number] => {
    const b = bytes[o];
    let len = 1;
    while (len <= 8 && !(b & (0x80 >> (len - 1)))) len++;
    if (len > 8 || o + len > bytes.length) throw new WebmError(`bad element size at byte ${o}`);
    let v = b & (0xff >> len);
    let ones = v === 0xff >> len;
    for (let i = 1; i < len; i++) {
      v = v * 256 + bytes[o + i];
      ones &&= bytes[o + i] === 0xff;
    }
    return [ones ? null : v, len];
  };
  const readUint = (o: number, n: number) => {
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 256 + bytes[o + i];
    return v;
  };
  const text = (o: number, n: number) =>
    new TextDecoder().decode(bytes.subarray(o, o + n)).replace(/\0+$/, '');

  let clusterTime = 0;
  const walk = (from: number, to: number, parent: number | null): number => {
    let o = from;
    while (o < to) {
      const [id, idLen] = readId(o);
      // An unknown-size Cluster ends where the next Segment child starts.
      if (parent === ID.Cluster && SEGMENT_CHILDREN.has(id)) return o;
      const [size, sizeLen] = readSize(o + idLen);
      const data = o + idLen + sizeLen;
      if (size !== null && data + size > to)
        throw new WebmError(`element 0x${id.toString(16)} at byte ${o} runs past its parent`);
      const end = size === null ? to : data + size;
      if (MASTERS.has(id)) {
        if (id === ID.Cluster) out.clusters++;
        if (id === ID.CuePoint) out.cues++;
        o = walk(data, end, id);
        continue;
      }
      const n = end - data;
      if (id === ID.DocType) out.docType = text(data, n);
      else if (id === ID.Duration)
        out.durationMs = n === 4 ? dv.getFloat32(data) : dv.getFloat64(data);
      else if (id === ID.CodecID) out.codec = text(data, n);
      else if (id === ID.PixelWidth) out.width = readUint(data, n);
      else if (id === ID.PixelHeight) out.height = readUint(data, n);
      else if (id === ID.Timecode) clusterTime = readUint(data, n);
      else if (id === ID.SimpleBlock || (id === 0xa1 && parent === ID.BlockGroup)) {
        const [, trackLen] = readSize(data);
        out.frames++;
        out.times.push(clusterTime + dv.getInt16(data + trackLen));
        // SimpleBlock's flags say key frame; a BlockGroup's Block carries no such flag.
        if (id === ID.SimpleBlock && bytes[data + trackLen + 2] & 0x80) out.keyFrames++;
      }
      o = end;
    }
    return to;
  };
  walk(0, bytes.length, null);
  if (out.docType !== 'webm')
    throw new WebmError(`an EBML file of DocType "${out.docType}", not webm`);
  return out;
}
