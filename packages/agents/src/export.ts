/**
 * Gibbs networks as stock tfjs LayersModels: the same function built from standard Keras layers
 * (Input, Conv2D, Cropping2D, GlobalAveragePooling2D, Flatten, Concatenate, Dense) with the
 * network's weights copied in, so that any tfjs program loads it with `tf.loadLayersModel` and
 * gets the Q-values or logits Gibbs computes. Gibbs's own checkpoints (nets.ts on raw tfjs ops,
 * checkpoint.ts) are not changed; `gibbs export` (export-files.ts) writes these models from them.
 *
 * The exported model takes the raw observation, not an encoding of it:
 *   view         [h, w, c]  the group's view, channels last, as the environment gives it
 *   features     [F]        the group's feature vector (absent when F = 0)
 *   mean_action  [A]        the mean action (a distribution over the A actions; mean-field
 *                           algorithms only: mfq, and mfac's critic)
 * and gives
 *   q            [A]        Q(s, a, mean action) for every action a (mfq, il), or
 *   logits       [A]        the policy's logits (mfac, ac; softmax gives the policy), and
 *   critic       [A] or [1] Q(s, ., mean action) (mfac) or V(s) (ac).
 * The population network's fixed view encoder (`encodeView`: the (2r+1)^2 centre cells, then the
 * mean of each channel over a grid of blocks) is written as Cropping2D + Flatten for the centre
 * and Cropping2D + GlobalAveragePooling2D per block, in encodeView's order. docs/model-files.md
 * has the layout and a loading example.
 */
import { GibbsError, Rng } from '@gibbs/core';
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import {
  ActorCriticNetwork,
  NETS,
  type NetKind,
  type NetShape,
  type ObsBatch,
  QNetwork,
  viewEncoding,
} from './nets.ts';
import { ALGOS, type Algo } from './policy.ts';

export const EXPORT_FORMAT = 'gibbs-export/1';

/** What a network is: its algorithm (Q or actor-critic, mean-field or not), torso and shape. */
export interface ExportSpec {
  readonly algo: Algo;
  readonly net: NetKind;
  readonly shape: NetShape;
}

/** Options of an export. */
export interface ExportOptions {
  /**
   * Actor-critic networks only: export the actor alone (outputs `logits`; no `mean_action`
   * input, since the actor does not read it). Default false: actor and critic.
   */
  readonly actorOnly?: boolean;
}

const count = z.number().int().nonnegative();

/** An ExportSpec as it comes from a file: checked, never trusted as typed. */
export const ExportSpecSchema = z.object({
  algo: z.enum(ALGOS),
  net: z.enum(NETS),
  shape: z.object({
    view: z
      .object({ height: count.min(1), width: count.min(1), channels: count.min(1) })
      .nullable(),
    features: count,
    actions: count.min(1),
    meanAction: z.boolean(),
  }),
});

/** Q-network (mfq, il) or actor-critic (mfac, ac). */
export function isActorCritic(algo: Algo): boolean {
  return algo === 'mfac' || algo === 'ac';
}

/** One input or output of an exported model, for users and the model's metadata. */
export interface TensorDoc {
  readonly name: string;
  /** Shape of one row (the batch dimension is left out). */
  readonly shape: readonly number[];
  readonly description: string;
}

/** The inputs of the exported model, in `model.inputs` order. */
export function exportInputs(spec: ExportSpec, opts: ExportOptions = {}): TensorDoc[] {
  const { shape } = spec;
  const out: TensorDoc[] = [];
  const v = shape.view;
  if (v) {
    out.push({
      name: 'view',
      shape: [v.height, v.width, v.channels],
      description:
        "the agent's view, channels last (row y, column x, channel c), the agent at the centre",
    });
  }
  if (shape.features > 0) {
    out.push({
      name: 'features',
      shape: [shape.features],
      description: "the agent's feature vector, as the environment gives it",
    });
  }
  if (needsMean(spec, opts)) {
    out.push({
      name: 'mean_action',
      shape: [shape.actions],
      description: 'the mean action of the neighbours: a distribution over the actions',
    });
  }
  return out;
}

/** The outputs of the exported model, in `model.outputs` order. */
export function exportOutputs(spec: ExportSpec, opts: ExportOptions = {}): TensorDoc[] {
  const A = spec.shape.actions;
  if (!isActorCritic(spec.algo)) {
    return [{ name: 'q', shape: [A], description: 'Q(s, a, mean action) of every action a' }];
  }
  const logits: TensorDoc = {
    name: 'logits',
    shape: [A],
    description: "the policy's logits (softmax gives the action probabilities)",
  };
  if (opts.actorOnly) return [logits];
  return [
    logits,
    spec.shape.meanAction
      ? { name: 'critic', shape: [A], description: 'Q(s, a, mean action) of every action a' }
      : { name: 'critic', shape: [1], description: 'V(s)' },
  ];
}

function needsMean(spec: ExportSpec, opts: ExportOptions): boolean {
  return spec.shape.meanAction && !(isActorCritic(spec.algo) && opts.actorOnly);
}

/** A layer of the exported model and the Gibbs weights it takes. */
interface Binding {
  readonly layer: tf.layers.Layer;
  /** Gibbs's name of the layer's weights: `${name}/w` and `${name}/b`. */
  readonly name: string;
  readonly kind: 'dense' | 'conv3x3';
}

type Sym = tf.SymbolicTensor;

/** Builds the graph while recording which layer takes which Gibbs weights. */
class Builder {
  readonly bindings: Binding[] = [];

  /** Gibbs's `a/b/c` as a layer name `a_b_c` (or the given output name). */
  dense(x: Sym, name: string, units: number, relu: boolean, layerName?: string): Sym {
    const layer = tf.layers.dense({
      units,
      activation: relu ? 'relu' : 'linear',
      name: layerName ?? name.replaceAll('/', '_'),
    });
    this.bindings.push({ layer, name, kind: 'dense' });
    return layer.apply(x) as Sym;
  }

  conv(x: Sym, name: string, filters: number): Sym {
    const layer = tf.layers.conv2d({
      filters,
      kernelSize: 3,
      strides: 1,
      padding: 'valid',
      dataFormat: 'channelsLast',
      activation: 'relu',
      name: name.replaceAll('/', '_'),
    });
    this.bindings.push({ layer, name, kind: 'conv3x3' });
    return layer.apply(x) as Sym;
  }

  /** A stack of dense layers as nets.ts's Mlp: ReLU between, and after the last if `reluLast`. */
  mlp(
    x: Sym,
    prefix: string,
    names: readonly string[],
    units: readonly number[],
    reluLast: boolean,
    lastName?: string,
  ): Sym {
    let h = x;
    for (let i = 0; i < names.length; i++) {
      const last = i + 1 === names.length;
      h = this.dense(
        h,
        `${prefix}/${names[i]}`,
        units[i],
        reluLast || !last,
        last ? lastName : undefined,
      );
    }
    return h;
  }
}

function concat(parts: Sym[], name: string): Sym {
  return parts.length === 1
    ? parts[0]
    : (tf.layers.concatenate({ axis: -1, name }).apply(parts) as Sym);
}

/** nets.ts's MfrlTorso: two 3x3 convolutions and dense 256 (+ features dense 32), or an MLP. */
function mfrlTorso(b: Builder, view: Sym | null, features: Sym | null): Sym {
  if (view) {
    const h1 = b.conv(view, 'torso/conv1', 32);
    const h2 = b.conv(h1, 'torso/conv2', 32);
    const flat = tf.layers.flatten({ name: 'torso_flatten' }).apply(h2) as Sym;
    const hv = b.dense(flat, 'torso/view_dense', 256, true);
    if (!features) return hv;
    return concat([hv, b.dense(features, 'torso/feat_dense', 32, true)], 'torso_concat');
  }
  if (!features) throw new Error('mfrl torso without a view or features');
  return b.mlp(features, 'torso', ['mlp1', 'mlp2'], [256, 256], true);
}

/**
 * nets.ts's PopulationTorso: encodeView as standard layers (centre crop, block means, features, in
 * that order), then dense 128 and dense 64.
 */
function populationTorso(b: Builder, shape: NetShape, view: Sym | null, features: Sym | null): Sym {
  const parts: Sym[] = [];
  const v = shape.view;
  if (v && view) {
    const { height: h, width: w } = v;
    const enc = viewEncoding(v);
    const r = enc.crop;
    const cy = (h - 1) >> 1;
    const cx = (w - 1) >> 1;
    const centre = tf.layers
      .cropping2D({
        cropping: [
          [cy - r, h - (cy + r + 1)],
          [cx - r, w - (cx + r + 1)],
        ],
        name: 'torso_centre',
      })
      .apply(view) as Sym;
    parts.push(tf.layers.flatten({ name: 'torso_centre_flat' }).apply(centre) as Sym);
    const { rows, cols } = enc;
    for (let by = 0; by + 1 < rows.length; by++)
      for (let bx = 0; bx + 1 < cols.length; bx++) {
        const block = tf.layers
          .cropping2D({
            cropping: [
              [rows[by], h - rows[by + 1]],
              [cols[bx], w - cols[bx + 1]],
            ],
            name: `torso_block_${by}_${bx}`,
          })
          .apply(view) as Sym;
        parts.push(
          tf.layers
            .globalAveragePooling2d({
              dataFormat: 'channelsLast',
              name: `torso_block_${by}_${bx}_mean`,
            })
            .apply(block) as Sym,
        );
      }
  }
  if (features) parts.push(features);
  if (parts.length === 0) throw new Error('population torso without a view or features');
  const x = concat(parts, 'torso_encoded');
  return b.mlp(x, 'torso', ['enc1', 'enc2'], [128, 64], true);
}

/** nets.ts's head: mfrl dense 128 -> 64 -> out; population dense 64 -> out. */
function headLayers(b: Builder, net: NetKind, x: Sym, prefix: string, out: number, name: string) {
  return net === 'population'
    ? b.mlp(x, prefix, ['dense1', 'out'], [64, out], false, name)
    : b.mlp(x, prefix, ['dense1', 'dense2', 'out'], [128, 64, out], false, name);
}

/** nets.ts's mean-action embedding: mfrl dense 64 -> 32; population dense 32 (ReLU after). */
function meanLayers(b: Builder, net: NetKind, x: Sym): Sym {
  return net === 'population'
    ? b.mlp(x, 'mf', ['mean1'], [32], true)
    : b.mlp(x, 'mf', ['mean1', 'mean2'], [64, 32], true);
}

/** Where the weights came from, for error messages. */
const describeSource = (source: string | undefined) => (source ? `${source}: ` : '');

/**
 * The stock LayersModel computing what the Gibbs network of `spec` with `weights` (Gibbs's
 * relative names: "torso/conv1/w", ...) computes. Every weight of the network must be in
 * `weights` with its shape, and every float weight of `weights` must be used (a GibbsError naming
 * the weight otherwise). The caller disposes `weights` and the model.
 */
export function buildLayersModel(
  spec: ExportSpec,
  weights: tf.NamedTensorMap,
  opts: ExportOptions & { source?: string } = {},
): tf.LayersModel {
  const parsed = ExportSpecSchema.safeParse(spec);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    const field = i.path.map(String).join('.') || '(root)';
    throw new GibbsError(
      `${describeSource(opts.source)}network ${field}: ${i.message}`,
      field,
      spec,
      'a gibbs network description (algo, net, shape)',
    );
  }
  const { algo, net, shape } = spec;
  if (opts.actorOnly && !isActorCritic(algo)) {
    throw GibbsError.invalid('--actor-only', algo, 'an actor-critic network (mfac or ac)');
  }
  if (!shape.view && shape.features === 0) {
    throw GibbsError.invalid(
      `${describeSource(opts.source)}network shape`,
      shape,
      'a view or at least one feature',
    );
  }
  const b = new Builder();
  const docs = exportInputs(spec, opts);
  const inputs = new Map<string, Sym>();
  for (const d of docs)
    inputs.set(d.name, tf.input({ shape: [...d.shape], name: d.name, dtype: 'float32' }));
  const view = inputs.get('view') ?? null;
  const features = inputs.get('features') ?? null;
  const mean = inputs.get('mean_action') ?? null;
  const torso =
    net === 'population' ? populationTorso(b, shape, view, features) : mfrlTorso(b, view, features);
  // One mean-action embedding (nets.ts: the meanEmb of the network), built where first read.
  let meanEmb: Sym | null = null;
  const withMean = (h: Sym, name: string) => {
    if (!mean) return h;
    meanEmb ??= meanLayers(b, net, mean);
    return concat([h, meanEmb], name);
  };
  const A = shape.actions;
  let outputs: Sym[];
  if (!isActorCritic(algo)) {
    outputs = [headLayers(b, net, withMean(torso, 'q_input'), 'q', A, 'q')];
  } else {
    const logits = headLayers(b, net, torso, 'actor', A, 'logits');
    outputs = opts.actorOnly
      ? [logits]
      : [
          logits,
          headLayers(
            b,
            net,
            withMean(torso, 'critic_input'),
            'critic',
            shape.meanAction ? A : 1,
            'critic',
          ),
        ];
  }
  const model = tf.model({
    inputs: docs.map((d) => inputs.get(d.name) as Sym),
    outputs,
    name: `gibbs_${algo}_${net}`,
  });
  try {
    copyWeights(b.bindings, weights, opts);
  } catch (err) {
    model.dispose();
    throw err;
  }
  return model;
}

function copyWeights(
  bindings: readonly Binding[],
  weights: tf.NamedTensorMap,
  opts: ExportOptions & { source?: string },
): void {
  const used = new Set<string>();
  const src = describeSource(opts.source);
  tf.tidy(() => {
    for (const { layer, name, kind } of bindings) {
      const [kernel, bias] = layer.getWeights();
      const w = weights[`${name}/w`];
      const bb = weights[`${name}/b`];
      const ks = kernel.shape as number[];
      const wantW = kind === 'conv3x3' ? [ks[0] * ks[1] * ks[2], ks[3]] : ks;
      for (const [t, want, n] of [
        [w, wantW, `${name}/w`],
        [bb, bias.shape, `${name}/b`],
      ] as const) {
        if (!t || t.shape.join('x') !== want.join('x')) {
          throw new GibbsError(
            `${src}weight "${n}" is ${t ? `[${t.shape}]` : 'missing'}, the network needs [${want}]`,
            n,
            t ? t.shape : undefined,
            `shape [${want}]`,
          );
        }
        used.add(n);
      }
      // A 3x3 kernel is [9*in, out] in Gibbs, TF's HWIO [3, 3, in, out] flattened.
      layer.setWeights([kind === 'conv3x3' ? tf.reshape(w, kernel.shape) : w, bb]);
    }
  });
  if (opts.actorOnly) {
    // The critic and the mean-action embedding are left out on purpose.
    for (const n of Object.keys(weights)) if (/^(critic|mf)\//.test(n)) used.add(n);
  }
  const extra = Object.keys(weights).filter((n) => !used.has(n));
  if (extra.length > 0) {
    throw new GibbsError(
      `${src}weight "${extra[0]}" is not part of a ${bindings.length}-layer network of this kind (${extra.length} unused): the file is not this architecture`,
      extra[0],
      extra.length,
      'only the weights of the network',
    );
  }
}

/** A rows-first batch (nets.ts's ObsBatch layout) as the exported model's input tensors. */
export function modelInputs(spec: ExportSpec, b: ObsBatch, opts: ExportOptions = {}): tf.Tensor[] {
  const n = b.n;
  return exportInputs(spec, opts).map((d) => {
    const size = d.shape.reduce((a, c) => a * c, 1);
    const src = d.name === 'view' ? b.view : d.name === 'features' ? b.features : b.mean;
    if (!src || src.length < n * size) {
      throw GibbsError.invalid(
        `batch.${d.name === 'mean_action' ? 'mean' : d.name}`,
        src,
        `${n} x ${size} floats (n x ${d.shape.join(' x ')}) for ${n} rows of ${describeSpec(spec)}`,
      );
    }
    return tf.tensor(src.subarray(0, n * size), [n, ...d.shape], 'float32');
  });
}

/** "mfq population network, view 13x13x5, 24 features, 21 actions". */
export function describeSpec(spec: ExportSpec): string {
  const s = spec.shape;
  const v = s.view ? `view ${s.view.height}x${s.view.width}x${s.view.channels}` : 'no view';
  return `${spec.algo} ${spec.net} network, ${v}, ${s.features} features, ${s.actions} actions`;
}

/**
 * The Gibbs network of `spec` holding `weights` (nets.ts's own code path, for comparisons); the
 * caller disposes it.
 */
export function gibbsNetwork(
  spec: ExportSpec,
  weights: tf.NamedTensorMap,
): QNetwork | ActorCriticNetwork {
  const rng = new Rng(1);
  const network = isActorCritic(spec.algo)
    ? new ActorCriticNetwork(spec.shape, rng, spec.net)
    : new QNetwork(spec.shape, rng, spec.net);
  const { params } = network;
  for (let i = 0; i < params.names.length; i++) {
    const t = weights[params.names[i]];
    const want = params.vars[i].shape;
    if (!t || t.shape.join('x') !== want.join('x')) {
      network.dispose();
      throw GibbsError.invalid(`weight ${params.names[i]}`, t?.shape, `shape [${want}]`);
    }
  }
  params.version++;
  tf.tidy(() => {
    for (let i = 0; i < params.names.length; i++) params.vars[i].assign(weights[params.names[i]]);
  });
  return network;
}

/** Outputs by name (`q`, `logits`, `critic`), each n x width, row-major. */
export type NamedOutputs = Record<string, Float32Array>;

/** What Gibbs's own network computes for a batch, by the exported model's output names. */
export function gibbsOutputs(
  spec: ExportSpec,
  network: QNetwork | ActorCriticNetwork,
  b: ObsBatch,
  opts: ExportOptions = {},
): NamedOutputs {
  const ts = tf.tidy(() => {
    const input = network.inputs(b);
    if (network instanceof QNetwork) return [network.apply(input)];
    const { logits, critic } = network.apply(input, !opts.actorOnly);
    return critic ? [logits, critic] : [logits];
  });
  const names = exportOutputs(spec, opts).map((d) => d.name);
  const out: NamedOutputs = {};
  ts.forEach((t, i) => {
    out[names[i]] = t.dataSync() as Float32Array;
  });
  tf.dispose(ts);
  return out;
}

/** What a (stock-loaded) LayersModel computes for a batch, by output name. */
export function stockOutputs(
  spec: ExportSpec,
  model: tf.LayersModel,
  b: ObsBatch,
  opts: ExportOptions = {},
): NamedOutputs {
  const xs = modelInputs(spec, b, opts);
  const y = model.predict(xs.length === 1 ? xs[0] : xs);
  const ys = Array.isArray(y) ? y : [y];
  const out: NamedOutputs = {};
  ys.forEach((t, i) => {
    out[model.outputNames[i]] = t.dataSync() as Float32Array;
  });
  tf.dispose([...xs, ...ys]);
  return out;
}

/** Largest |a - b| over the outputs both have (NaN if an output is missing or of another size). */
export function maxAbsDiff(a: NamedOutputs, b: NamedOutputs): number {
  let m = 0;
  for (const [name, x] of Object.entries(a)) {
    const y = b[name];
    if (!y || y.length !== x.length) return Number.NaN;
    for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
  }
  return Object.keys(b).length === Object.keys(a).length ? m : Number.NaN;
}

/** Largest |x| over the outputs (to scale a tolerance). */
export function maxAbs(a: NamedOutputs): number {
  let m = 0;
  for (const x of Object.values(a))
    for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]));
  return m;
}

/**
 * `n` random observations of `shape`: views and features uniform in [0, 1), mean actions random
 * distributions (seeded: one seed, one batch).
 */
export function randomBatch(shape: NetShape, n: number, seed: number): ObsBatch {
  const rng = new Rng(seed);
  const vs = shape.view ? shape.view.height * shape.view.width * shape.view.channels : 0;
  const fill = (len: number) => {
    const a = new Float32Array(len);
    for (let i = 0; i < len; i++) a[i] = rng.float();
    return a;
  };
  const A = shape.actions;
  const mean = fill(n * A);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let a = 0; a < A; a++) s += mean[i * A + a];
    for (let a = 0; a < A; a++) mean[i * A + a] /= s;
  }
  return { n, view: fill(n * vs), features: fill(n * shape.features), mean };
}
