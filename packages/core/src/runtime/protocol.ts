/**
 * The wire protocol of a served run (`pnpm gibbs run <exp> --serve HOST:PORT`), shared by the
 * server (core/src/node/serve.ts) and the browser viewer. Documented in docs/runtime.md.
 *
 * Text messages are JSON objects with a `type`; binary messages are render frames (encodeFrame).
 * Client -> server: controls, each with an optional `id` echoed in the answer (`ack` or
 * `rejected`). Server -> client: `hello` first, then `status`, `metrics`, `episodes`, `log`,
 * `error`, `end`, and answers. Numbers that JSON cannot hold (NaN, Infinity) travel as null.
 */
import { z } from 'zod';
import { describeValue } from '../errors.ts';
import type { RenderFrame } from '../frame.ts';

export const PROTOCOL_VERSION = 1;

/** Largest text message a server accepts from a client (bytes). */
export const MAX_CLIENT_MESSAGE_BYTES = 64 * 1024;

const id = z.union([z.string().max(200), z.number().int()]).optional();

export const clientMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('pause'), id }).strict(),
  z.object({ type: z.literal('resume'), id }).strict(),
  z.object({ type: z.literal('step'), id, n: z.number().int().min(1).max(1_000_000_000) }).strict(),
  /** Steps per second; null for unlimited. */
  z
    .object({ type: z.literal('speed'), id, stepsPerSecond: z.number().positive().nullable() })
    .strict(),
  z
    .object({
      type: z.literal('setParam'),
      id,
      name: z.string().min(1).max(200),
      value: z.union([z.number(), z.boolean(), z.string().max(1000)]),
    })
    .strict(),
  /** Answered by a `snapshot` message and a binary frame carrying the same id. */
  z.object({ type: z.literal('snapshot'), id }).strict(),
  /** Frames this client wants per second (0: none). The server's own cap still applies. */
  z.object({ type: z.literal('frames'), id, maxFps: z.number().min(0).max(1000) }).strict(),
  /** What Simulation.inspect says of one agent; answered by an `inspection` message. */
  z
    .object({
      type: z.literal('inspect'),
      id,
      group: z.number().int().min(0).max(255),
      slot: z
        .number()
        .int()
        .min(0)
        .max(2 ** 31 - 1),
    })
    .strict(),
  // ---- external runs (`--serve --external`, runtime/external.ts): the client steps the world ----
  /** Start an episode; no seed: the next draw of the run's seed stream. Answered by an observation. */
  z
    .object({
      type: z.literal('reset'),
      id,
      seed: z
        .number()
        .int()
        .min(0)
        .max(2 ** 32 - 1)
        .optional(),
    })
    .strict(),
  /**
   * One step with these actions: one integer array per group, keyed by group name, length =
   * capacity (dead slots' entries are ignored). Answered by an observation. The same message may
   * come binary (encodeActions) for large populations.
   */
  z
    .object({
      type: z.literal('act'),
      id,
      actions: z.record(
        z.string().max(200),
        z.array(
          z
            .number()
            .int()
            .min(-(2 ** 31))
            .max(2 ** 31 - 1),
        ),
      ),
    })
    .strict(),
  /** End an external run: every client gets `end` and the server closes. */
  z.object({ type: z.literal('finish'), id }).strict(),
]);

export type ClientMessage = z.infer<typeof clientMessageSchema>;
export type ClientMessageType = ClientMessage['type'];
export const CLIENT_MESSAGE_TYPES: readonly ClientMessageType[] = [
  'pause',
  'resume',
  'step',
  'speed',
  'setParam',
  'snapshot',
  'frames',
  'inspect',
  'reset',
  'act',
  'finish',
];

const num = z.number().nullable();
const values = z.record(z.string(), num);
const metricRecordSchema = z.object({
  step: z.number(),
  episode: z.number(),
  values,
  groups: z.record(z.string(), values),
});
const episodeSchema = z.object({
  episode: z.number(),
  step: z.number(),
  length: z.number(),
  values,
  groups: z.record(z.string(), values),
});
const runErrorSchema = z.object({
  name: z.string(),
  message: z.string(),
  stack: z.string().nullable(),
  step: z.number(),
  field: z.string().optional(),
  expected: z.string().optional(),
});
const inspectionSchema = z.object({
  group: z.string(),
  slot: z.number(),
  values: values,
  distributions: z.record(z.string(), z.array(num)),
  labels: z.record(z.string(), z.array(z.string())).optional(),
});
export const runStatusSchema = z.object({
  state: z.enum(['ready', 'running', 'paused', 'finished', 'failed', 'disposed']),
  step: z.number(),
  episode: z.number(),
  speed: z.number().nullable(),
  backend: z.string().nullable(),
  params: z.record(z.string(), z.unknown()),
  framesDelivered: z.number(),
  framesDropped: z.number(),
  metricsDropped: z.number(),
  error: runErrorSchema.nullable(),
  notice: z.string().nullable().optional(),
});
export const runInfoSchema = z.object({
  experiment: z.string(),
  description: z.string(),
  seed: z.number(),
  steps: z.number().nullable(),
  logEvery: z.number(),
  params: z.record(z.string(), z.unknown()),
  liveParams: z.array(z.object({ name: z.string(), schema: z.record(z.string(), z.unknown()) })),
  backend: z.string().nullable(),
  worker: z.boolean(),
  checkpoints: z.boolean().optional(),
});
/** The environment of an external run (EnvSpec as JSON), sent in `hello`. */
export const externalSpecSchema = z.object({
  name: z.string(),
  maxSteps: z.number(),
  grid: z.object({ width: z.number(), height: z.number() }).nullable(),
  respawn: z.boolean(),
  groups: z.array(
    z.object({
      name: z.string(),
      capacity: z.number(),
      view: z
        .object({
          height: z.number(),
          width: z.number(),
          channels: z.number(),
          channelNames: z.array(z.string()),
        })
        .nullable(),
      features: z.number(),
      actions: z.number(),
      actionNames: z.array(z.string()).optional(),
    }),
  ),
});
export type ExternalSpec = z.infer<typeof externalSpecSchema>;

export const serverMessageSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('hello'),
    protocol: z.literal(PROTOCOL_VERSION),
    info: runInfoSchema,
    status: runStatusSchema,
    /** Frames per second this client gets until it sends `frames`. */
    maxFps: z.number(),
    /** Present on external runs: the world the client steps with `reset` and `act`. */
    external: externalSpecSchema.optional(),
  }),
  z.object({ type: z.literal('status'), status: runStatusSchema }),
  z.object({ type: z.literal('metrics'), records: z.array(metricRecordSchema) }),
  z.object({ type: z.literal('episodes'), episodes: z.array(episodeSchema) }),
  z.object({ type: z.literal('log'), lines: z.array(z.string()) }),
  /** The run failed (once). */
  z.object({ type: z.literal('error'), error: runErrorSchema }),
  /** The run ended (finished, failed, disposed): the server closes the connection next. */
  z.object({ type: z.literal('end'), status: runStatusSchema }),
  /** A control was carried out; `result` is the step reached for `step`. */
  z.object({
    type: z.literal('ack'),
    id: id,
    request: z.enum(CLIENT_MESSAGE_TYPES as [ClientMessageType, ...ClientMessageType[]]),
    result: z.number().optional(),
  }),
  /** A control was refused (malformed, unknown, or invalid for the run): the run is unaffected. */
  z.object({
    type: z.literal('rejected'),
    id: id,
    message: z.string(),
    field: z.string().optional(),
    expected: z.string().optional(),
  }),
  z.object({
    type: z.literal('snapshot'),
    id: id,
    status: runStatusSchema,
    metrics: metricRecordSchema.nullable(),
    /** A binary frame with the same id follows, unless the experiment draws nothing. */
    frame: z.boolean(),
  }),
  /** Answer to `inspect`: the agent's inspection, or null for an empty slot. */
  z.object({ type: z.literal('inspection'), id: id, inspection: inspectionSchema.nullable() }),
  /** Frames this client missed because it was slow (bounded send buffer) or paced. */
  z.object({
    type: z.literal('dropped'),
    frames: z.number(),
    metrics: z.number(),
  }),
]);

export type ServerMessage = z.infer<typeof serverMessageSchema>;

export type ParsedClientMessage =
  | { ok: true; message: ClientMessage }
  | { ok: false; id?: string | number; message: string; field?: string; expected?: string };

/** Read one client text message; never throws. */
export function parseClientMessage(text: string): ParsedClientMessage {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return {
      ok: false,
      message: `malformed message: not JSON (got ${describeValue(text)})`,
      expected: 'a JSON object with a "type"',
    };
  }
  const rawId = typeof raw === 'object' && raw !== null ? (raw as { id?: unknown }).id : undefined;
  const msgId = typeof rawId === 'string' || typeof rawId === 'number' ? rawId : undefined;
  const type =
    typeof raw === 'object' && raw !== null ? (raw as { type?: unknown }).type : undefined;
  if (typeof type !== 'string' || !(CLIENT_MESSAGE_TYPES as readonly string[]).includes(type)) {
    return {
      ok: false,
      id: msgId,
      message: `unknown message type ${describeValue(type)}; expected one of ${CLIENT_MESSAGE_TYPES.join(', ')}`,
      field: 'type',
      expected: CLIENT_MESSAGE_TYPES.join(', '),
    };
  }
  const r = clientMessageSchema.safeParse(raw);
  if (r.success) return { ok: true, message: r.data };
  const issue = r.error.issues[0];
  const field = issue.path.join('.') || 'message';
  return {
    ok: false,
    id: msgId,
    message: `malformed "${type}" message: ${field}: ${issue.message}`,
    field,
    expected: issue.message,
  };
}

/** Parse a server text message (for clients); throws on anything the protocol does not define. */
export function parseServerMessage(text: string): ServerMessage {
  return serverMessageSchema.parse(JSON.parse(text));
}

// ---- binary frames ----
//
// A frame is one binary message:
//   bytes 0..3   "GBF1"
//   bytes 4..7   uint32 LE: length H of the JSON header
//   H bytes      UTF-8 JSON {step, runStep, episode, width, height, legend, groups, count, id?}
//   padding      to a multiple of 4 bytes
//   the arrays, each padded to 4 bytes, in this order:
//     cells u8[width*height], group u8[n], slot i32[n], x f32[n], y f32[n], hp f32[n],
//     heading f32[n], action i16[n], reward f32[n]          (n = count, little-endian)

const MAGIC = [0x47, 0x42, 0x46, 0x31]; // "GBF1"

export interface FrameHeader {
  /** RenderFrame.step (as the environment counts). */
  step: number;
  /** Steps of the run when the frame was taken. */
  runStep: number;
  episode: number;
  width: number;
  height: number;
  legend: string[];
  groups: string[];
  count: number;
  /** Set when the frame answers a `snapshot` request. */
  id?: string | number;
}

const pad4 = (n: number) => (n + 3) & ~3;

function fieldsOf(frame: RenderFrame): ArrayBufferView[] {
  const a = frame.agents;
  return [frame.cells, a.group, a.slot, a.x, a.y, a.hp, a.heading, a.action, a.reward];
}

const isLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** One binary message holding a frame (typed arrays are copied once, into the message). */
export function encodeFrame(
  frame: RenderFrame,
  runStep: number,
  id?: string | number,
): Uint8Array<ArrayBuffer> {
  if (!isLittleEndian) throw new Error('encodeFrame: big-endian platforms are not supported');
  const header: FrameHeader = {
    step: frame.step,
    runStep,
    episode: frame.episode,
    width: frame.width,
    height: frame.height,
    legend: [...frame.legend],
    groups: [...frame.groups],
    count: frame.agents.count,
  };
  if (id !== undefined) header.id = id;
  const head = new TextEncoder().encode(JSON.stringify(header));
  const fields = fieldsOf(frame);
  let size = pad4(8 + head.length);
  for (const f of fields) size += pad4(f.byteLength);
  const out = new Uint8Array(size);
  out.set(MAGIC, 0);
  new DataView(out.buffer).setUint32(4, head.length, true);
  out.set(head, 8);
  let off = pad4(8 + head.length);
  for (const f of fields) {
    out.set(new Uint8Array(f.buffer, f.byteOffset, f.byteLength), off);
    off += pad4(f.byteLength);
  }
  return out;
}

/** The frame of a binary message, its arrays viewing the message's bytes (no copy). */
export function decodeFrame(data: ArrayBuffer | Uint8Array): {
  header: FrameHeader;
  frame: RenderFrame;
} {
  let bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  // Typed views need aligned offsets: copy once if the message does not start on 4 bytes.
  if (bytes.byteOffset % 4 !== 0) bytes = bytes.slice();
  const bad = (why: string) => new Error(`decodeFrame: not a Gibbs frame (${why})`);
  if (bytes.length < 8 || MAGIC.some((m, i) => bytes[i] !== m)) throw bad('magic');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headLen = dv.getUint32(4, true);
  if (8 + headLen > bytes.length) throw bad('header length');
  const header = JSON.parse(
    new TextDecoder().decode(bytes.subarray(8, 8 + headLen)),
  ) as FrameHeader;
  const n = header.count;
  const cellsLen = header.width * header.height;
  let off = bytes.byteOffset + pad4(8 + headLen);
  const end = bytes.byteOffset + bytes.byteLength;
  const take = <T>(
    make: (buf: ArrayBufferLike, off: number, len: number) => T,
    len: number,
    size: number,
  ): T => {
    if (off + len * size > end) throw bad('truncated');
    const v = make(bytes.buffer, off, len);
    off += pad4(len * size);
    return v;
  };
  const u8 = (b: ArrayBufferLike, o: number, l: number) => new Uint8Array(b, o, l);
  const f32 = (b: ArrayBufferLike, o: number, l: number) => new Float32Array(b, o, l);
  const cells = take(u8, cellsLen, 1);
  const group = take(u8, n, 1);
  const slot = take((b, o, l) => new Int32Array(b, o, l), n, 4);
  const x = take(f32, n, 4);
  const y = take(f32, n, 4);
  const hp = take(f32, n, 4);
  const heading = take(f32, n, 4);
  const action = take((b, o, l) => new Int16Array(b, o, l), n, 2);
  const reward = take(f32, n, 4);
  return {
    header,
    frame: {
      step: header.step,
      episode: header.episode,
      width: header.width,
      height: header.height,
      cells: cells as Uint8Array,
      legend: header.legend,
      groups: header.groups,
      agents: { count: n, group, slot, x, y, hp, heading, action, reward } as RenderFrame['agents'],
    },
  };
}
