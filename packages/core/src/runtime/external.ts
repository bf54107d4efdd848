/**
 * External runs (`pnpm gibbs run <env> --serve HOST:PORT --external`): the world is an environment
 * stepped by a client's actions instead of a policy of its own (the Python client,
 * clients/python/gibbs_client.py, or any WebSocket client). Platform-neutral: the server is
 * core/src/node/serve.ts's serveEnvironment; the messages are in protocol.ts (`reset`, `act`,
 * `finish`) and here (the binary observation and action messages). Documented in docs/runtime.md.
 *
 * Binary observation (the answer to `reset` and `act`), one message:
 *   bytes 0..3   "GBO1"
 *   bytes 4..7   uint32 LE: length H of the JSON header
 *   H bytes      UTF-8 JSON ObservationHeader {id?, step, runStep, episode, done, info, groups}
 *   padding      to a multiple of 4 bytes
 *   per group, in spec order, each array padded to 4 bytes (n = capacity, little-endian):
 *     view f32[n*h*w*c] (channels last), features f32[n*F], reward f32[n], alive u8[n],
 *     terminated u8[n], truncated u8[n]
 *
 * Binary actions (an `act` for large populations):
 *   bytes 0..3   "GBA1"
 *   bytes 4..7   uint32 LE: length H of the JSON header {type: "act", id?, lengths?}
 *                (lengths: the length of each group's array, so that a wrong one is named)
 *   H bytes      UTF-8 JSON, then padding to a multiple of 4 bytes
 *   per group, in spec order: int32 LE [capacity]
 */
import { z } from 'zod';
import {
  allocActions,
  type Environment,
  type EnvSpec,
  type StepOutput,
  validateActions,
} from '../env.ts';
import { GibbsError } from '../errors.ts';
import { Rng } from '../rng.ts';
import type { ExternalSpec } from './protocol.ts';

const OBS_MAGIC = [0x47, 0x42, 0x4f, 0x31]; // "GBO1"
const ACT_MAGIC = [0x47, 0x42, 0x41, 0x31]; // "GBA1"
const pad4 = (n: number) => (n + 3) & ~3;
const isLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The spec of an environment as plain JSON (sent in `hello`). */
export function externalSpecOf(spec: EnvSpec): ExternalSpec {
  return {
    name: spec.name,
    maxSteps: spec.maxSteps,
    grid: spec.grid ? { width: spec.grid.width, height: spec.grid.height } : null,
    respawn: spec.respawn ?? false,
    groups: spec.groups.map((g) => ({
      name: g.name,
      capacity: g.capacity,
      view: g.view
        ? {
            height: g.view.height,
            width: g.view.width,
            channels: g.view.channels,
            channelNames: [...g.view.channelNames],
          }
        : null,
      features: g.features,
      actions: g.actions,
      ...(g.actionNames ? { actionNames: [...g.actionNames] } : {}),
    })),
  };
}

export interface ObservationHeader {
  /** The id of the `reset` or `act` this answers. */
  id?: string | number;
  /** Steps since the episode's reset (StepOutput.step). */
  step: number;
  /** Steps of the run (all episodes). */
  runStep: number;
  /** Episode index, from 0 (the first reset). */
  episode: number;
  /** The episode is over: send `reset` next. */
  done: boolean;
  /** The environment's counters of the last step (StepOutput.info). */
  info: Record<string, number>;
  /** Group names, capacities and shapes, in the order of the arrays. */
  groups: { name: string; capacity: number; view: number[] | null; features: number }[];
}

/** One binary message holding a step's output (the environment's buffers are copied once). */
export function encodeObservation(
  out: StepOutput,
  spec: EnvSpec,
  meta: { id?: string | number; runStep: number; episode: number },
): Uint8Array<ArrayBuffer> {
  if (!isLittleEndian) throw new Error('encodeObservation: big-endian platforms are not supported');
  const info: Record<string, number> = {};
  for (const [k, v] of Object.entries(out.info)) info[k] = v;
  const header: ObservationHeader = {
    step: out.step,
    runStep: meta.runStep,
    episode: meta.episode,
    done: out.done,
    info,
    groups: spec.groups.map((g) => ({
      name: g.name,
      capacity: g.capacity,
      view: g.view ? [g.view.height, g.view.width, g.view.channels] : null,
      features: g.features,
    })),
  };
  if (meta.id !== undefined) header.id = meta.id;
  const head = new TextEncoder().encode(JSON.stringify(header));
  const arrays: ArrayBufferView[] = [];
  for (const g of out.groups)
    arrays.push(g.view, g.features, g.reward, g.alive, g.terminated, g.truncated);
  let size = pad4(8 + head.length);
  for (const a of arrays) size += pad4(a.byteLength);
  const bytes = new Uint8Array(size);
  bytes.set(OBS_MAGIC, 0);
  new DataView(bytes.buffer).setUint32(4, head.length, true);
  bytes.set(head, 8);
  let off = pad4(8 + head.length);
  for (const a of arrays) {
    bytes.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), off);
    off += pad4(a.byteLength);
  }
  return bytes;
}

export interface DecodedGroupStep {
  name: string;
  view: Float32Array;
  features: Float32Array;
  reward: Float32Array;
  alive: Uint8Array;
  terminated: Uint8Array;
  truncated: Uint8Array;
}

/** Is this binary message an observation ("GBO1")? */
export function isObservationMessage(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && OBS_MAGIC.every((m, i) => bytes[i] === m);
}

/** Is this binary message an action message ("GBA1")? */
export function isActionMessage(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && ACT_MAGIC.every((m, i) => bytes[i] === m);
}

function headerOf(bytes: Uint8Array, what: string): { header: unknown; body: number } {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const len = dv.getUint32(4, true);
  if (8 + len > bytes.length)
    throw GibbsError.invalid(
      what,
      `${bytes.length} bytes`,
      `a header of ${len} bytes after byte 8`,
    );
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + len)));
  } catch {
    throw GibbsError.invalid(`${what} header`, 'not JSON', 'a UTF-8 JSON object');
  }
  return { header, body: pad4(8 + len) };
}

/** An observation message's header and arrays (views of a copy of the message). */
export function decodeObservation(data: ArrayBuffer | Uint8Array): {
  header: ObservationHeader;
  groups: DecodedGroupStep[];
} {
  const bytes = (data instanceof Uint8Array ? data : new Uint8Array(data)).slice();
  if (!isObservationMessage(bytes)) throw GibbsError.invalid('observation', 'bytes', '"GBO1"');
  const { header, body } = headerOf(bytes, 'observation');
  const h = header as ObservationHeader;
  let off = body;
  const take = <T>(make: (b: ArrayBuffer, o: number, l: number) => T, n: number, size: number) => {
    if (off + n * size > bytes.length)
      throw GibbsError.invalid(
        'observation',
        `${bytes.length} bytes`,
        'the arrays its header names',
      );
    const v = make(bytes.buffer, off, n);
    off += pad4(n * size);
    return v;
  };
  const f32 = (b: ArrayBuffer, o: number, l: number) => new Float32Array(b, o, l);
  const u8 = (b: ArrayBuffer, o: number, l: number) => new Uint8Array(b, o, l);
  const groups = h.groups.map((g) => {
    const n = g.capacity;
    const vs = g.view ? g.view[0] * g.view[1] * g.view[2] : 0;
    return {
      name: g.name,
      view: take(f32, n * vs, 4),
      features: take(f32, n * g.features, 4),
      reward: take(f32, n, 4),
      alive: take(u8, n, 1),
      terminated: take(u8, n, 1),
      truncated: take(u8, n, 1),
    };
  });
  return { header: h, groups };
}

const actHeaderSchema = z
  .object({
    type: z.literal('act'),
    id: z.union([z.string().max(200), z.number().int()]).optional(),
    lengths: z.array(z.number().int().min(0)).max(256).optional(),
  })
  .strict();

/** One binary `act` message: one Int32Array per group, in spec order. */
export function encodeActions(
  actions: readonly Int32Array[],
  id?: string | number,
): Uint8Array<ArrayBuffer> {
  const lengths = actions.map((a) => a.length);
  const head = new TextEncoder().encode(
    JSON.stringify(id === undefined ? { type: 'act', lengths } : { type: 'act', id, lengths }),
  );
  let size = pad4(8 + head.length);
  for (const a of actions) size += a.byteLength;
  const bytes = new Uint8Array(size);
  bytes.set(ACT_MAGIC, 0);
  new DataView(bytes.buffer).setUint32(4, head.length, true);
  bytes.set(head, 8);
  let off = pad4(8 + head.length);
  for (const a of actions) {
    bytes.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), off);
    off += a.byteLength;
  }
  return bytes;
}

/**
 * A binary `act` message: its id and the int32 body (all groups, spec order, still unchecked
 * against the spec). A GibbsError naming the field for a bad header.
 */
export function decodeActions(bytes: Uint8Array): {
  id?: string | number;
  lengths?: number[];
  body: Int32Array;
} {
  if (!isActionMessage(bytes)) throw GibbsError.invalid('message', 'binary', '"GBA1" actions');
  const { header, body } = headerOf(bytes, 'act');
  const r = actHeaderSchema.safeParse(header);
  if (!r.success) {
    const issue = r.error.issues[0];
    const field = `header.${issue.path.join('.')}`;
    throw new GibbsError(
      `malformed binary "act" message: ${field}: ${issue.message}`,
      field,
      header,
      issue.message,
    );
  }
  const n = bytes.length - body;
  if (n % 4 !== 0)
    throw GibbsError.invalid('actions', `${n} bytes`, 'int32 values (a multiple of 4 bytes)');
  const copy = new Int32Array(n / 4);
  new Uint8Array(copy.buffer).set(bytes.subarray(body));
  return { id: r.data.id, lengths: r.data.lengths, body: copy };
}

export type ExternalState = 'ready' | 'running' | 'finished';

export interface ExternalOptions {
  /** Seeds of resets that name none are drawn from a stream with this seed (default 0). */
  seed?: number;
  /** Steps after which the run finishes (null or undefined: until `finish`). */
  steps?: number | null;
}

/**
 * An environment driven from outside: `reset(seed?)` and `act(actions)` check their input against
 * the spec and throw a GibbsError naming the field (nothing changes then).
 */
export class ExternalEnvironment {
  readonly spec: EnvSpec;
  readonly steps: number | null;
  /** Steps taken, all episodes. */
  runStep = 0;
  /** Episode index (-1 before the first reset). */
  episode = -1;
  private out: StepOutput | null = null;
  private finished = false;
  private readonly seeds: Rng;
  private readonly actions: Int32Array[];

  constructor(
    readonly env: Environment,
    opts: ExternalOptions = {},
  ) {
    this.spec = env.spec;
    this.steps = opts.steps ?? null;
    this.seeds = new Rng(opts.seed ?? 0);
    this.actions = allocActions(this.spec);
  }

  get state(): ExternalState {
    if (this.finished) return 'finished';
    return this.out ? 'running' : 'ready';
  }

  /** The last step's output (null before the first reset). */
  get last(): StepOutput | null {
    return this.out;
  }

  reset(seed?: number): StepOutput {
    this.requireLive('reset');
    if (seed !== undefined && !(Number.isInteger(seed) && seed >= 0 && seed <= 2 ** 32 - 1))
      throw GibbsError.invalid('seed', seed, 'an integer in [0, 4294967295]');
    const s = seed ?? this.seeds.u32();
    this.out = this.env.reset(s);
    this.episode++;
    return this.out;
  }

  /**
   * One step. `actions`: one array per group keyed by name (JSON `act`), or the int32 body of a
   * binary `act` (every group's slots, spec order) with the lengths its header gives, if any.
   */
  act(
    actions: Readonly<Record<string, ArrayLike<number>>> | Int32Array,
    lengths?: readonly number[],
  ): StepOutput {
    this.requireLive('act');
    const out = this.out;
    if (!out)
      throw new GibbsError(
        'act: no episode yet; send reset first',
        'type',
        'act',
        'a reset before the first act',
      );
    if (out.done)
      throw new GibbsError(
        'act: the episode is over; send reset',
        'type',
        'act',
        'a reset after an episode ends',
      );
    if (actions instanceof Int32Array) this.fromBody(actions, lengths);
    else this.fromRecord(actions);
    // Ranges here, before the world steps: a refused act changes nothing.
    validateActions(
      this.spec,
      this.actions,
      out.groups.map((o) => o.alive),
    );
    this.out = this.env.step(this.actions);
    this.runStep++;
    if (this.steps !== null && this.runStep >= this.steps) this.finished = true;
    return this.out;
  }

  /** End the run: every later reset or act is refused. */
  finish(): void {
    this.finished = true;
  }

  private fromRecord(actions: Readonly<Record<string, ArrayLike<number>>>): void {
    const names = this.spec.groups.map((g) => g.name);
    for (const key of Object.keys(actions)) {
      if (!names.includes(key))
        throw GibbsError.invalid(`actions.${key}`, 'a group', `groups ${names.join(', ')} only`);
    }
    this.spec.groups.forEach((g, gi) => {
      const a = actions[g.name];
      if (a === undefined)
        throw GibbsError.invalid(
          `actions.${g.name}`,
          undefined,
          `an array of ${g.capacity} actions (one per slot)`,
        );
      if (a.length !== g.capacity)
        throw GibbsError.invalid(
          `actions.${g.name}`,
          a,
          `an array of ${g.capacity} actions (one per slot; got length ${a.length})`,
        );
      this.actions[gi].set(a);
    });
  }

  private fromBody(body: Int32Array, lengths?: readonly number[]): void {
    const groups = this.spec.groups;
    if (lengths !== undefined) {
      if (lengths.length !== groups.length)
        throw GibbsError.invalid(
          'lengths',
          lengths,
          `${groups.length} lengths, one per group (${groups.map((g) => g.name).join(', ')})`,
        );
      groups.forEach((g, gi) => {
        if (lengths[gi] !== g.capacity)
          throw GibbsError.invalid(
            `actions.${g.name}`,
            `an array of length ${lengths[gi]}`,
            `an array of ${g.capacity} actions (one per slot)`,
          );
      });
    }
    const total = this.spec.groups.reduce((n, g) => n + g.capacity, 0);
    if (body.length !== total)
      throw GibbsError.invalid(
        'actions',
        body,
        `${total} int32 values (${this.spec.groups.map((g) => `${g.name} ${g.capacity}`).join(', ')}; got ${body.length})`,
      );
    let off = 0;
    this.spec.groups.forEach((g, gi) => {
      this.actions[gi].set(body.subarray(off, off + g.capacity));
      off += g.capacity;
    });
  }

  private requireLive(what: string): void {
    if (this.finished)
      throw new GibbsError(
        `${what}: the run is finished${this.steps !== null && this.runStep >= this.steps ? ` (${this.steps} steps)` : ''}`,
        'state',
        'finished',
        'a run that is not finished',
      );
  }
}
