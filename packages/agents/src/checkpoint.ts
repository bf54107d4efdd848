/**
 * Checkpoints in the tfjs format, through core's Files (the disk in Node, memory in a page): each
 * network is a `model.json` (topology + weights
 * manifest, as tfjs's loaders read it) next to a `weights.bin`, written and read through a tfjs
 * IOHandler (`AtomicFileHandler`) that writes every file atomically (temp file, fsync, rename).
 *
 * A training checkpoint is a directory `checkpoints/round-NNNNNN/` holding
 *   learner/model.json + weights.bin      the learner's policy network (what battle-eval loads)
 *   learner-target/...                    its target network
 *   learner-optimizer/...                 Adam's moments (step count in the topology)
 *   opponent/...                          the self-play opponent
 *   replay.json + replay.bin              the learner's memory
 *   state.json                            round, step, Rng state, counters (written last)
 * It is assembled in a temporary sibling directory and renamed into place, then
 * `checkpoints/latest.json` is switched to it: a crash at any point leaves the previous checkpoint
 * whole and `latest.json` pointing at it. Each model.json carries an FNV-1a checksum of its weights,
 * so a corrupt or truncated file is a GibbsError naming it, never silently wrong weights.
 */
import {
  basenamePath as basename,
  dirnamePath as dirname,
  type Files,
  GibbsError,
  joinPath as join,
  nodeFiles,
  type Rng,
} from '@gibbs/core';
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { createPlayer, describeShape, sameShape } from './learners.ts';
import type { Adam, NetShape, ParamSet } from './nets.ts';
import { ALGOS, type Algo, type Learner } from './policy.ts';
import type { SelfPlay } from './selfplay.ts';

export const CHECKPOINT_FORMAT = 'gibbs-mfrl/1';

let disk: Files | null = null;
/** The files checkpoints use when none are given: the disk (Node). */
function defaultFiles(): Files {
  disk ??= nodeFiles();
  return disk;
}

const utf8 = new TextDecoder();
const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

// ---- headers: parsed with zod, never trusted as typed ---------------------------------------

const count = z.number().int().nonnegative();

/** model.json as tfjs writes it (extra keys allowed). */
const ModelJson = z.looseObject({
  format: z.string().optional(),
  generatedBy: z.string().optional(),
  modelTopology: z.looseObject({}),
  weightsManifest: z
    .array(
      z.looseObject({
        paths: z.array(z.string()),
        weights: z.array(
          z.looseObject({
            name: z.string(),
            shape: z.array(count),
            dtype: z.enum(['float32', 'int32', 'bool', 'string', 'complex64']),
          }),
        ),
      }),
    )
    .min(1),
  userDefinedMetadata: z
    .looseObject({ weightBytes: count.optional(), checksum: z.string().optional() })
    .optional(),
});

/** The gibbs part of a model.json's topology (format and algo are checked with their own message). */
const Topology = z.looseObject({
  role: z.string(),
  shape: z.looseObject({}),
  config: z.record(z.string(), z.unknown()),
  step: count.optional(),
});

const LatestJson = z.looseObject({
  round: count,
  path: z.string().regex(/^round-\d{6,}$/),
});

const ReplayHeader = z.object({
  scalars: z.record(z.string(), z.number()),
  arrays: z.array(
    z.object({
      name: z.string(),
      dtype: z.enum(['Float32Array', 'Float64Array', 'Int32Array', 'Uint8Array']),
      offset: count,
      bytes: count,
    }),
  ),
  bytes: count,
  checksum: z.string(),
});

const TrainingState = z.looseObject({
  format: z.literal(CHECKPOINT_FORMAT),
  algo: z.string(),
  selfplay: z.looseObject({
    round: count,
    step: count,
    rng: z.array(z.number().int()),
    temperature: z.number(),
  }),
});

/** A zod failure as "field: message" for one line. */
function firstIssue(err: z.ZodError): string {
  const i = err.issues[0];
  return `${i.path.map(String).join('.') || '(root)'}: ${i.message}`;
}

function parseHeader<T>(schema: z.ZodType<T>, json: unknown, file: string, expected: string): T {
  const r = schema.safeParse(json);
  if (r.success) return r.data;
  throw new GibbsError(
    `checkpoint ${file}: ${firstIssue(r.error)} (expected ${expected})`,
    'checkpoint',
    file,
    expected,
  );
}

/** FNV-1a, 32 bits: a cheap checksum that catches truncation and bit rot. */
export function fnv1a(data: Uint8Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < data.length; i++) {
    h ^= data[i];
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

function bytesOf(w: tf.io.WeightData | undefined): Uint8Array {
  if (!w) return new Uint8Array(0);
  const buf = Array.isArray(w) ? tf.io.concatenateArrayBuffers(w) : w;
  return new Uint8Array(buf);
}

/** A tfjs IOHandler writing `<dir>/model.json` and `<dir>/weights.bin` atomically. */
export class AtomicFileHandler implements tf.io.IOHandler {
  readonly modelPath: string;
  readonly weightsPath: string;

  constructor(
    readonly dir: string,
    private readonly files: Files = defaultFiles(),
  ) {
    this.modelPath = join(dir, 'model.json');
    this.weightsPath = join(dir, 'weights.bin');
  }

  async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
    const data = bytesOf(artifacts.weightData);
    this.files.write(this.weightsPath, data);
    const model = {
      format: artifacts.format ?? CHECKPOINT_FORMAT,
      generatedBy: artifacts.generatedBy ?? 'gibbs',
      convertedBy: null,
      modelTopology: artifacts.modelTopology,
      weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
      userDefinedMetadata: {
        ...(artifacts.userDefinedMetadata ?? {}),
        weightBytes: data.length,
        checksum: fnv1a(data),
      },
    };
    this.files.write(this.modelPath, json(model));
    return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
  }

  async load(): Promise<tf.io.ModelArtifacts> {
    const p = this.modelPath;
    if (!this.files.exists(p)) {
      throw GibbsError.invalid(
        'checkpoint',
        p,
        'an existing model.json (was the checkpoint written?)',
      );
    }
    let raw: unknown;
    try {
      raw = JSON.parse(utf8.decode(this.files.read(p)));
    } catch (err) {
      throw new GibbsError(
        `checkpoint ${p}: not valid JSON (corrupt or half-written): ${(err as Error).message}`,
        'checkpoint',
        p,
        'a model.json written by gibbs',
        { cause: err },
      );
    }
    const json = parseHeader(
      ModelJson,
      raw,
      p,
      'a tfjs model.json with modelTopology and weightsManifest',
    );
    const manifest = json.weightsManifest[0];
    const wpath = join(this.dir, manifest.paths[0] ?? 'weights.bin');
    if (!this.files.exists(wpath))
      throw GibbsError.invalid('checkpoint', wpath, 'the weights file model.json names');
    const data = this.files.read(wpath);
    const meta = json.userDefinedMetadata ?? {};
    if (meta.weightBytes !== undefined && meta.weightBytes !== data.length) {
      throw new GibbsError(
        `checkpoint ${wpath}: ${data.length} bytes, model.json expects ${meta.weightBytes} (truncated or half-written)`,
        'checkpoint',
        wpath,
        `${meta.weightBytes} bytes`,
      );
    }
    if (meta.checksum !== undefined && meta.checksum !== fnv1a(data)) {
      throw new GibbsError(
        `checkpoint ${wpath}: checksum ${fnv1a(data)} does not match model.json's ${meta.checksum} (corrupt)`,
        'checkpoint',
        wpath,
        `checksum ${meta.checksum}`,
      );
    }
    return {
      modelTopology: json.modelTopology as object,
      weightSpecs: manifest.weights as tf.io.WeightsManifestEntry[],
      weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength),
      format: json.format,
      generatedBy: json.generatedBy,
      userDefinedMetadata: meta as NonNullable<tf.io.ModelArtifacts['userDefinedMetadata']>,
    };
  }
}

/** What a gibbs network's model.json says about it. */
export interface NetTopology {
  format: string;
  algo: Algo;
  /** learner | target | optimizer | opponent */
  role: string;
  shape: NetShape;
  config: Record<string, unknown>;
  /** Adam's step count (optimizer role only). */
  step?: number;
}

export async function saveTensors(
  dir: string,
  tensors: tf.NamedTensorMap,
  topology: NetTopology,
  files: Files = defaultFiles(),
): Promise<void> {
  const { data, specs } = await tf.io.encodeWeights(tensors);
  await new AtomicFileHandler(dir, files).save({
    modelTopology: topology as unknown as object,
    weightSpecs: specs,
    weightData: data,
    format: CHECKPOINT_FORMAT,
    generatedBy: 'gibbs',
  });
}

/**
 * Read a network's model.json + weights.bin and check them against what the caller expects
 * (algorithm, observation shape); returns the topology and the decoded tensors (caller disposes).
 */
export async function loadTensors(
  dir: string,
  expect: { algo?: Algo; shape?: Omit<NetShape, 'meanAction'> },
  files: Files = defaultFiles(),
): Promise<{ topology: NetTopology; tensors: tf.NamedTensorMap }> {
  const handler = new AtomicFileHandler(dir, files);
  const art = await handler.load();
  const top = art.modelTopology as NetTopology;
  const file = handler.modelPath;
  parseHeader(Topology, top, file, 'a gibbs network topology (role, shape, config)');
  if (top.format !== CHECKPOINT_FORMAT || !(ALGOS as readonly string[]).includes(top.algo)) {
    throw new GibbsError(
      `checkpoint ${file}: not a gibbs mean-field network (format ${JSON.stringify(top.format)}, algo ${JSON.stringify(top.algo)})`,
      'checkpoint',
      file,
      `format ${CHECKPOINT_FORMAT}`,
    );
  }
  if (expect.algo && top.algo !== expect.algo) {
    throw new GibbsError(
      `checkpoint ${file}: written by algorithm "${top.algo}", expected "${expect.algo}"`,
      'checkpoint',
      file,
      `a checkpoint of ${expect.algo}`,
    );
  }
  if (expect.shape && !sameShape(top.shape, expect.shape)) {
    throw new GibbsError(
      `checkpoint ${file}: its network takes ${describeShape(top.shape)}, this environment gives ${describeShape(expect.shape)}`,
      'checkpoint',
      file,
      describeShape(expect.shape),
    );
  }
  let tensors: tf.NamedTensorMap;
  try {
    tensors = tf.io.decodeWeights(art.weightData as ArrayBuffer, art.weightSpecs ?? []);
  } catch (err) {
    throw new GibbsError(
      `checkpoint ${handler.weightsPath}: weights do not decode: ${(err as Error).message}`,
      'checkpoint',
      handler.weightsPath,
      'weights matching model.json',
      { cause: err },
    );
  }
  // A checksum proves the bytes are the ones written, not that they are numbers.
  for (const [name, t] of Object.entries(tensors)) {
    if (t.dtype !== 'float32') continue;
    const d = t.dataSync();
    for (let i = 0; i < d.length; i++) {
      if (!Number.isFinite(d[i])) {
        tf.dispose(tensors);
        throw new GibbsError(
          `checkpoint ${handler.weightsPath}: weight "${name}"[${i}] is ${d[i]}, expected finite weights`,
          'checkpoint',
          handler.weightsPath,
          'finite weights',
        );
      }
    }
  }
  return { topology: top, tensors };
}

/** Assign saved tensors to a parameter set, checking every name and shape. */
export function assignParams(params: ParamSet, tensors: tf.NamedTensorMap, file: string): void {
  for (let i = 0; i < params.names.length; i++) {
    const name = params.names[i];
    const t = tensors[name];
    const want = params.vars[i].shape;
    if (!t || t.shape.join('x') !== want.join('x')) {
      throw new GibbsError(
        `checkpoint ${file}: weight "${name}" is ${t ? `[${t.shape}]` : 'missing'}, the network needs [${want}]`,
        'checkpoint',
        file,
        `weight ${name} of shape [${want}]`,
      );
    }
  }
  params.version++;
  tf.tidy(() => {
    for (let i = 0; i < params.names.length; i++) params.vars[i].assign(tensors[params.names[i]]);
  });
}

function topology(l: Learner, role: string, step?: number): NetTopology {
  return { format: CHECKPOINT_FORMAT, algo: l.algo, role, shape: l.shape, config: l.config, step };
}

export async function saveNetwork(
  dir: string,
  l: Learner,
  params: ParamSet,
  role: string,
  files: Files = defaultFiles(),
) {
  await saveTensors(dir, params.named(), topology(l, role), files);
}

async function saveOptimizer(dir: string, l: Learner, opt: Adam, files: Files) {
  const named = opt.named(l.policyParams.names);
  try {
    await saveTensors(dir, named, topology(l, 'optimizer', opt.t), files);
  } finally {
    tf.dispose(Object.values(named));
  }
}

/** Load a policy network (the `learner/` of a checkpoint) into `params`. */
export async function loadNetwork(
  dir: string,
  params: ParamSet,
  expect: { algo?: Algo; shape?: Omit<NetShape, 'meanAction'> },
  files: Files = defaultFiles(),
): Promise<NetTopology> {
  const { topology: top, tensors } = await loadTensors(dir, expect, files);
  try {
    assignParams(params, tensors, join(dir, 'model.json'));
  } finally {
    tf.dispose(tensors);
  }
  return top;
}

// ---------------------------------------------------------------------------------------------
// Training checkpoints.

const ROUND_DIR = /^round-(\d{6,})$/;

export function roundDirName(round: number): string {
  return `round-${String(round).padStart(6, '0')}`;
}

/** A checkpoint's config minus its memory sizes (a player keeps no memory). */
export function stripMemory(config: Record<string, unknown>): Record<string, unknown> {
  const { replayCapacity: _r, memoryCapacity: _m, ...rest } = config;
  return rest;
}

/**
 * A checkpoint's policy network as an acting-only player of the algorithm and architecture its
 * model.json names (a run directory, a round directory, a network directory or a model.json).
 */
export async function loadPlayer(
  path: string,
  shape: Omit<NetShape, 'meanAction'>,
  rng: Rng,
  files: Files = defaultFiles(),
): Promise<{ player: Learner; algo: Algo; file: string }> {
  const dir = resolveCheckpoint(path, files).network;
  const { topology, tensors } = await loadTensors(dir, { shape }, files);
  const file = join(dir, 'model.json');
  try {
    const player = createPlayer(topology.algo, shape, stripMemory(topology.config), rng);
    try {
      assignParams(player.policyParams, tensors, file);
    } catch (err) {
      player.dispose();
      throw err;
    }
    return { player, algo: topology.algo, file };
  } finally {
    tf.dispose(tensors);
  }
}

/**
 * Resolve what a user names as a checkpoint: a run directory (with checkpoints/latest.json), a
 * checkpoints directory, a round directory, a network directory or its model.json. Returns the
 * round directory (for training state) or network directory and which it is.
 */
export function resolveCheckpoint(
  path: string,
  files: Files = defaultFiles(),
): { round: string | null; network: string } {
  const abs = files.resolve(path);
  const existsSync = (p: string) => files.exists(p);
  if (!existsSync(abs))
    throw GibbsError.invalid('checkpoint', path, 'an existing file or directory');
  if (!files.isDirectory(abs)) {
    if (basename(abs) !== 'model.json') {
      throw GibbsError.invalid('checkpoint', path, 'a model.json or a checkpoint directory');
    }
    return { round: null, network: dirname(abs) };
  }
  if (existsSync(join(abs, 'model.json'))) return { round: null, network: abs };
  if (existsSync(join(abs, 'state.json')) || existsSync(join(abs, 'learner'))) {
    return { round: abs, network: join(abs, 'learner') };
  }
  for (const ckdir of [join(abs, 'checkpoints'), abs]) {
    const latest = join(ckdir, 'latest.json');
    if (existsSync(latest)) {
      let json: unknown;
      try {
        json = JSON.parse(utf8.decode(files.read(latest)));
      } catch (err) {
        throw new GibbsError(
          `checkpoint ${latest}: not valid JSON (corrupt or half-written)`,
          'checkpoint',
          latest,
          '{"round": N, "path": "round-NNNNNN"}',
          { cause: err },
        );
      }
      const { path: name } = parseHeader(
        LatestJson,
        json,
        latest,
        '{"round": N, "path": "round-NNNNNN"}',
      );
      const round = join(ckdir, name);
      return { round, network: join(round, 'learner') };
    }
  }
  throw GibbsError.invalid(
    'checkpoint',
    path,
    'a run directory with checkpoints/latest.json, a round-NNNNNN directory or a model.json',
  );
}

function writeBinaryArrays(
  files: Files,
  dir: string,
  stem: string,
  arrays: Record<string, ArrayBufferView>,
  scalars: Record<string, number>,
) {
  const entries: { name: string; dtype: string; offset: number; bytes: number }[] = [];
  let total = 0;
  for (const [name, a] of Object.entries(arrays)) {
    entries.push({ name, dtype: a.constructor.name, offset: total, bytes: a.byteLength });
    total += a.byteLength;
  }
  const buf = new Uint8Array(total);
  for (const e of entries) {
    const a = arrays[e.name];
    buf.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), e.offset);
  }
  files.write(join(dir, `${stem}.bin`), buf);
  files.write(
    join(dir, `${stem}.json`),
    json({ scalars, arrays: entries, bytes: total, checksum: fnv1a(buf) }),
  );
}

const CTORS: Record<string, new (b: ArrayBuffer, o: number, n: number) => ArrayBufferView> = {
  Float32Array: Float32Array as never,
  Float64Array: Float64Array as never,
  Int32Array: Int32Array as never,
  Uint8Array: Uint8Array as never,
};

function readBinaryArrays(files: Files, dir: string, stem: string) {
  const jpath = join(dir, `${stem}.json`);
  const bpath = join(dir, `${stem}.bin`);
  let json: unknown;
  try {
    json = JSON.parse(utf8.decode(files.read(jpath)));
  } catch (err) {
    throw new GibbsError(
      `checkpoint ${jpath}: missing or not valid JSON (corrupt or half-written)`,
      'checkpoint',
      jpath,
      'a replay header',
      { cause: err },
    );
  }
  const head = parseHeader(ReplayHeader, json, jpath, 'a replay header written by gibbs');
  for (const e of head.arrays) {
    const per = (CTORS[e.dtype] as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
    if (e.offset + e.bytes > head.bytes || e.bytes % per !== 0) {
      throw GibbsError.invalid(
        `checkpoint ${jpath}: array "${e.name}"`,
        `offset ${e.offset}, ${e.bytes} bytes`,
        `whole ${e.dtype} elements within the ${head.bytes} bytes of ${stem}.bin`,
      );
    }
  }
  const raw = files.exists(bpath) ? files.read(bpath) : null;
  if (!raw || raw.length !== head.bytes || fnv1a(raw) !== head.checksum) {
    throw new GibbsError(
      `checkpoint ${bpath}: ${raw ? `${raw.length} bytes, checksum ${fnv1a(raw)}` : 'missing'}; ${stem}.json expects ${head.bytes} bytes, checksum ${head.checksum} (corrupt or half-written)`,
      'checkpoint',
      bpath,
      `${head.bytes} bytes`,
    );
  }
  const buf = raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength);
  const arrays: Record<string, ArrayBufferView> = {};
  for (const e of head.arrays) {
    const C = CTORS[e.dtype];
    const per = (C as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
    arrays[e.name] = new C(buf.slice(e.offset, e.offset + e.bytes), 0, e.bytes / per);
  }
  return { scalars: head.scalars, arrays };
}

/**
 * Write a full training checkpoint of `sp` under `<runDir>/checkpoints/` and point latest.json at
 * it; keeps the newest `keep` round directories. Nothing of the previous checkpoint is touched
 * until the new one is complete.
 */
export async function saveTraining(
  runDir: string,
  sp: SelfPlay,
  extra: Record<string, unknown>,
  keep = 2,
  files: Files = defaultFiles(),
): Promise<string> {
  const ckdir = join(files.resolve(runDir), 'checkpoints');
  const name = roundDirName(sp.round);
  const final = join(ckdir, name);
  const pid = (globalThis as { process?: { pid?: number } }).process?.pid ?? 0;
  const tmp = join(ckdir, `.${name}.partial-${pid}`);
  files.remove(tmp);
  const l = sp.learner;
  await saveNetwork(join(tmp, 'learner'), l, l.policyParams, 'learner', files);
  for (const [k, p] of Object.entries(l.extraParams))
    await saveNetwork(join(tmp, `learner-${k}`), l, p, k, files);
  await saveOptimizer(join(tmp, 'learner-optimizer'), l, l.optimizer, files);
  await saveNetwork(
    join(tmp, 'opponent'),
    sp.opponent,
    sp.opponent.policyParams,
    'opponent',
    files,
  );
  const snap = l.memory.snapshot();
  writeBinaryArrays(files, tmp, 'replay', snap.arrays, snap.scalars);
  files.write(
    join(tmp, 'state.json'),
    json({ format: CHECKPOINT_FORMAT, algo: l.algo, selfplay: sp.state(), ...extra }),
  );
  files.remove(final);
  files.rename(tmp, final);
  files.write(join(ckdir, 'latest.json'), json({ round: sp.round, path: name }));
  const rounds = files
    .list(ckdir)
    .filter((f) => ROUND_DIR.test(f))
    .sort();
  for (const old of rounds.slice(0, Math.max(0, rounds.length - keep))) {
    if (old !== name) files.remove(join(ckdir, old));
  }
  return final;
}

/** Read a training checkpoint's state.json (to rebuild the learner before `loadTraining`). */
export function readTrainingState(
  roundDir: string,
  files: Files = defaultFiles(),
): Record<string, unknown> {
  const p = join(roundDir, 'state.json');
  try {
    const s = JSON.parse(utf8.decode(files.read(p))) as Record<string, unknown>;
    if (s?.format !== CHECKPOINT_FORMAT) throw new Error(`format ${JSON.stringify(s?.format)}`);
    const r = TrainingState.safeParse(s);
    if (!r.success) throw new Error(firstIssue(r.error));
    return s;
  } catch (err) {
    throw new GibbsError(
      `checkpoint ${p}: missing, corrupt or not a gibbs training state: ${(err as Error).message}`,
      'checkpoint',
      p,
      `a state.json of format ${CHECKPOINT_FORMAT}`,
      { cause: err },
    );
  }
}

/** Restore `sp` (built with the same algorithm and environment) from a round directory. */
export async function loadTraining(
  roundDir: string,
  sp: SelfPlay,
  files: Files = defaultFiles(),
): Promise<void> {
  const state = readTrainingState(roundDir, files);
  const l = sp.learner;
  const expect = { algo: l.algo, shape: l.shape };
  await loadNetwork(join(roundDir, 'learner'), l.policyParams, expect, files);
  for (const [k, p] of Object.entries(l.extraParams))
    await loadNetwork(join(roundDir, `learner-${k}`), p, expect, files);
  await loadNetwork(join(roundDir, 'opponent'), sp.opponent.policyParams, expect, files);
  const { topology, tensors } = await loadTensors(
    join(roundDir, 'learner-optimizer'),
    expect,
    files,
  );
  try {
    const opt = l.optimizer;
    const file = join(roundDir, 'learner-optimizer', 'model.json');
    const names = l.policyParams.names;
    const moments: Record<'m' | 'v', tf.Tensor[]> = { m: [], v: [] };
    for (let i = 0; i < names.length; i++) {
      const want = l.policyParams.vars[i].shape;
      for (const kind of ['m', 'v'] as const) {
        const t = tensors[`${kind}/${names[i]}`];
        if (!t || t.shape.join('x') !== want.join('x')) {
          throw GibbsError.invalid(
            `checkpoint ${file}: ${kind}/${names[i]}`,
            t ? `[${t.shape}]` : 'missing',
            `[${want}]`,
          );
        }
        moments[kind].push(t);
      }
    }
    opt.setState(moments.m, moments.v, topology.step ?? 0);
  } finally {
    tf.dispose(tensors);
  }
  const rep = readBinaryArrays(files, roundDir, 'replay');
  try {
    l.memory.restore(rep.scalars, rep.arrays);
  } catch (err) {
    throw new GibbsError(
      `checkpoint ${join(roundDir, 'replay.bin')}: ${(err as Error).message}`,
      'checkpoint',
      join(roundDir, 'replay.bin'),
      'a replay memory of the same size',
      { cause: err },
    );
  }
  sp.setState(state.selfplay as Record<string, unknown>);
}
