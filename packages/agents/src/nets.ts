/**
 * The networks of the mean-field agents, written on tfjs ops and variables (no tf.layers), so that
 * every trainable tensor, every gradient path and every saved weight is visible here.
 *
 * Two architectures (`NetKind`, chosen with `--net`):
 *  - `mfrl`, as in mlii/mfrl's `ValueNet._construct_net` (Yang et al. 2018):
 *      view     -> conv 3x3 (32) -> conv 3x3 (32) -> flatten -> dense 256
 *      features -> dense 32
 *      mean action (mean-field variants only) -> dense 64 -> dense 32
 *      concat   -> dense 128 -> dense 64 -> output
 *    A group without a spatial view feeds its features through an MLP (dense 256 -> dense 256).
 *  - `population`: [5x5 crop, 5x5-block densities, features] -> dense 128 -> dense 64;
 *    mean action -> dense 32; concat -> dense 64 -> output. ~30x fewer FLOPs per agent.
 * All hidden activations are ReLU.
 *
 * Speed on the wasm backend: matMul's gradient uses matMul with transpose flags, about 8x slower on
 * wasm than an explicit `tf.transpose` followed by a plain matMul (docs/toolchain.md), and wasm
 * has no Conv2DBackpropFilter kernel at all. So dense layers go through `matMul` below (a customGrad
 * with explicit transposes). A batch is uploaded by its torso: conv1's im2col is built in JS
 * (the input needs no gradient), conv2 runs on the Conv2D kernel with its gradient written as two
 * more convolutions (`conv3x3`); the population view encoder runs in JS too.
 */
import type { Rng } from '@gibbs/core';
import * as tf from '@tensorflow/tfjs';

/** `a @ b` whose gradient is `dy @ b^T` and `a^T @ dy` with explicit transposes. */
export const matMul = tf.customGrad(((a: tf.Tensor2D, b: tf.Tensor2D, save: tf.GradSaveFunc) => {
  save([a, b]);
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as tf.Tensor2D[];
      return [tf.matMul(dy, tf.transpose(sb)), tf.matMul(tf.transpose(sa), dy)];
    },
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as (
  a: tf.Tensor2D,
  b: tf.Tensor2D,
) => tf.Tensor2D;

/** Nine shifted 'valid' windows of a 3x3 convolution side by side: [b*(h-2)*(w-2), 9*c]. */
export function im2col3x3(x: tf.Tensor4D): tf.Tensor2D {
  const [b, h, w, c] = x.shape;
  const oh = h - 2;
  const ow = w - 2;
  const parts: tf.Tensor4D[] = [];
  for (let dy = 0; dy < 3; dy++)
    for (let dx = 0; dx < 3; dx++) parts.push(tf.slice(x, [0, dy, dx, 0], [b, oh, ow, c]));
  return tf.reshape(tf.concat(parts, 3), [b * oh * ow, 9 * c]);
}

export interface Dense {
  readonly w: tf.Variable;
  readonly b: tf.Variable;
}

/** A 3x3 'valid' convolution; `w` is [9*in, out], i.e. TF's HWIO kernel [3,3,in,out] flattened. */
export interface Conv3x3 extends Dense {
  readonly inChannels: number;
}

/**
 * A dense layer as one fused kernel (matMul + bias + ReLU: tfjs's _FusedMatMul) whose gradient is
 * written out with explicit transposes:
 *   g = dy * (y > 0) (ReLU),  dx = g W^T,  dW = x^T g,  db = sum_rows g.
 * At the batch sizes of acting, tfjs's cost is per op more than per FLOP: one op instead of three
 * forward, seven instead of about ten backward.
 */
function fusedDense(relu: boolean) {
  return tf.customGrad(((x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D, save: tf.GradSaveFunc) => {
    const y = tf.fused.matMul({ a: x, b: w, bias: b, activation: relu ? 'relu' : 'linear' });
    save([x, w, y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
        const [sx, sw, sy] = saved as tf.Tensor2D[];
        const g = relu ? tf.mul(dy, tf.step(sy)) : dy;
        return [tf.matMul(g, tf.transpose(sw)), tf.matMul(tf.transpose(sx), g), tf.sum(g, 0)];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as (
    x: tf.Tensor2D,
    w: tf.Tensor2D,
    b: tf.Tensor1D,
  ) => tf.Tensor2D;
}
const denseRelu = fusedDense(true);
const denseLinear = fusedDense(false);

export function dense(x: tf.Tensor2D, layer: Dense, relu: boolean): tf.Tensor2D {
  const w = layer.w as unknown as tf.Tensor2D;
  const b = layer.b as unknown as tf.Tensor1D;
  return relu ? denseRelu(x, w, b) : denseLinear(x, w, b);
}

/**
 * A 3x3 'valid' convolution + bias + ReLU on tfjs's Conv2D kernel (XNNPACK on wasm), with its
 * gradient written as two more forward convolutions, since wasm has no Conv2DBackpropFilter and a
 * slow Conv2DBackpropInput:
 *   g  = dy * (y > 0)
 *   dx = conv2d(pad(g, 2), k rotated 180 degrees, in/out swapped)    (the full correlation)
 *   dk = conv2d(x with batch and channels swapped, g as the kernel)  (sum over the batch)
 *   db = sum g
 * Measured against im2col by nine slices: about 3x faster forward + backward at batch 128.
 */
const conv3x3Relu = tf.customGrad(((
  x: tf.Tensor4D,
  w: tf.Tensor2D,
  b: tf.Tensor1D,
  save: tf.GradSaveFunc,
) => {
  const cin = x.shape[3];
  const cout = w.shape[1];
  const k = tf.reshape(w, [3, 3, cin, cout]) as tf.Tensor4D;
  const y = tf.relu(tf.add(tf.conv2d(x, k, 1, 'valid'), b)) as tf.Tensor4D;
  save([x, k, y]);
  return {
    value: y,
    gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
      const [sx, sk, sy] = saved as tf.Tensor4D[];
      const g = tf.mul(dy, tf.step(sy)) as tf.Tensor4D;
      const flipped = tf.transpose(tf.reverse(sk, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
      const full = tf.pad(g, [
        [0, 0],
        [2, 2],
        [2, 2],
        [0, 0],
      ]) as tf.Tensor4D;
      const dx = tf.conv2d(full, flipped, 1, 'valid');
      const xs = tf.transpose(sx, [3, 1, 2, 0]) as tf.Tensor4D; // [cin, h, w, batch]
      const gs = tf.transpose(g, [1, 2, 0, 3]) as tf.Tensor4D; // [h-2, w-2, batch, cout]
      const dk = tf.transpose(tf.conv2d(xs, gs, 1, 'valid'), [1, 2, 0, 3]); // [3, 3, cin, cout]
      return [dx, tf.reshape(dk, [9 * cin, cout]), tf.sum(g, [0, 1, 2])];
    },
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as (
  x: tf.Tensor4D,
  w: tf.Tensor2D,
  b: tf.Tensor1D,
) => tf.Tensor4D;

export function conv3x3(x: tf.Tensor4D, layer: Conv3x3): tf.Tensor4D {
  return conv3x3Relu(x, layer.w as unknown as tf.Tensor2D, layer.b as unknown as tf.Tensor1D);
}

/**
 * The trainable tensors of one network, in a fixed order with stable relative names
 * ("torso/conv1/w"), which are what checkpoints store. tfjs variable names must be unique in the
 * process, so each instance prefixes its own id.
 */
export class ParamSet {
  private static nextId = 0;
  readonly id = ParamSet.nextId++;
  readonly names: string[] = [];
  readonly vars: tf.Variable[] = [];
  /** Bumped whenever the values change other than by Adam (copies, soft updates, loads). */
  version = 0;

  constructor(private readonly rng: Rng) {}

  /** Glorot-uniform weights drawn from the seeded Rng (never tf.random*: one seed, one network). */
  private add(name: string, shape: number[], fanIn: number, fanOut: number, zero: boolean) {
    const size = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(size);
    if (!zero) {
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      for (let i = 0; i < size; i++) data[i] = (2 * this.rng.float() - 1) * limit;
    }
    const v = tf.variable(tf.tensor(data, shape), true, `p${this.id}/${name}`);
    this.names.push(name);
    this.vars.push(v);
    return v;
  }

  dense(name: string, inDim: number, outDim: number): Dense {
    return {
      w: this.add(`${name}/w`, [inDim, outDim], inDim, outDim, false),
      b: this.add(`${name}/b`, [outDim], inDim, outDim, true),
    };
  }

  conv(name: string, inChannels: number, outChannels: number): Conv3x3 {
    return {
      inChannels,
      w: this.add(
        `${name}/w`,
        [9 * inChannels, outChannels],
        9 * inChannels,
        9 * outChannels,
        false,
      ),
      b: this.add(`${name}/b`, [outChannels], 9 * inChannels, 9 * outChannels, true),
    };
  }

  /** Copy values: this <- other (same architecture). */
  copyFrom(other: ParamSet): void {
    this.version++;
    tf.tidy(() => {
      for (let i = 0; i < this.vars.length; i++) this.vars[i].assign(other.vars[i]);
    });
  }

  /** Soft update (Polyak averaging): this <- tau * other + (1 - tau) * this. */
  softUpdate(other: ParamSet, tau: number): void {
    this.version++;
    tf.tidy(() => {
      for (let i = 0; i < this.vars.length; i++) {
        this.vars[i].assign(tf.add(tf.mul(other.vars[i], tau), tf.mul(this.vars[i], 1 - tau)));
      }
    });
  }

  /** All values, concatenated in `vars` order (one read for the whole set). */
  flat(): Float32Array {
    const t = tf.tidy(() => tf.concat(this.vars.map((v) => tf.reshape(v, [-1]))));
    const out = t.dataSync() as Float32Array;
    t.dispose();
    return out;
  }

  /** Set all values from `flat()`'s layout. */
  setFlat(data: Float32Array): void {
    this.version++;
    let o = 0;
    tf.tidy(() => {
      for (const v of this.vars) {
        v.assign(tf.tensor(data.subarray(o, o + v.size), v.shape));
        o += v.size;
      }
    });
  }

  /** Named values for saving (relative names). */
  named(): tf.NamedTensorMap {
    const out: tf.NamedTensorMap = {};
    for (let i = 0; i < this.vars.length; i++) out[this.names[i]] = this.vars[i];
    return out;
  }

  dispose(): void {
    for (const v of this.vars) v.dispose();
  }
}

/** What the network sees: the group's observation layout and whether a mean action goes in. */
export interface NetShape {
  readonly view: {
    readonly height: number;
    readonly width: number;
    readonly channels: number;
  } | null;
  readonly features: number;
  readonly actions: number;
  /** Mean-field variants take the mean action (a distribution over `actions`) as an input. */
  readonly meanAction: boolean;
}

/** A batch of observations, row-major: `n` rows of view and feature floats. */
export interface ObsBatch {
  n: number;
  view: Float32Array;
  features: Float32Array;
  /** n * actions floats, or null for variants without the mean action. */
  mean: Float32Array | null;
}

/**
 * The torsos a network can have (`--net`):
 *  - `mfrl`: mlii/mfrl's, exactly (two 3x3x32 convolutions, dense 256); about 3.3 MFLOP per agent
 *    on Battle's 13x13x5 view.
 *  - `population`: made for thousands of agents on a CPU. The view is read through a fixed
 *    encoder on upload (`encodeView`): the 5x5 neighbourhood at full resolution and the local mean
 *    field, the density of every channel over a 5x5 grid of blocks covering the whole view; then
 *    dense 128 and dense 64. About 0.1 MFLOP per agent on Battle, ~30x cheaper than `mfrl`.
 */
export const NETS = ['mfrl', 'population'] as const;
export type NetKind = (typeof NETS)[number];

/** The tensors one batch becomes on upload: the torso's input and the mean action. */
export interface NetInput {
  /** mfrl: conv1's im2col [n*(h-2)*(w-2), 9c] (built in JS); population: the encoded view. */
  readonly x: tf.Tensor2D | null;
  /** The features apart (mfrl), or null where the torso's input `x` carries them. */
  readonly features: tf.Tensor2D | null;
  readonly mean: tf.Tensor2D | null;
  readonly n: number;
}

/**
 * conv1's im2col of `n` views [h, w, c] (channels last), written in JS on upload: row
 * (i, y, x) holds the 3x3 window at (y, x), column (dy*3 + dx)*c + ch, the order of a TF HWIO
 * kernel flattened, so that conv1 is one matMul with no Slice/Concat (nor their gradients).
 */
export function im2colRows3x3(
  view: Float32Array,
  n: number,
  h: number,
  w: number,
  c: number,
  out: Float32Array,
): void {
  const oh = h - 2;
  const ow = w - 2;
  let o = 0;
  for (let i = 0; i < n; i++) {
    const base = i * h * w * c;
    for (let y = 0; y < oh; y++)
      for (let x = 0; x < ow; x++)
        for (let dy = 0; dy < 3; dy++) {
          const src = base + ((y + dy) * w + x) * c;
          // The three windows of a row are contiguous in the view: one copy of 3c floats.
          out.set(view.subarray(src, src + 3 * c), o);
          o += 3 * c;
        }
  }
}

/**
 * Bands of `size` cells around the centre for the population encoder: the centre band is the
 * (2r+1) cells of the full-resolution crop, and each side splits into `outer` near-equal bands.
 * Returns band starts (length bands + 1).
 */
export function poolBands(size: number, r: number, outer: number): number[] {
  const c = (size - 1) >> 1;
  const lo = c - r;
  const hi = c + r + 1;
  const cuts = [0];
  for (let k = 1; k < outer; k++) cuts.push(Math.round((lo * k) / outer));
  cuts.push(lo, hi);
  for (let k = 1; k < outer; k++) cuts.push(hi + Math.round(((size - hi) * k) / outer));
  cuts.push(size);
  // Drop empty bands (a view too small for `outer` bands on a side).
  return cuts.filter((v, i) => i === 0 || v > cuts[i - 1]);
}

/** The population encoder's layout for a view: crop radius, bands, output length. */
export interface ViewEncoding {
  readonly crop: number;
  readonly rows: readonly number[];
  readonly cols: readonly number[];
  readonly size: number;
  /** Block of each cell (y * width + x), and 1 / cells of each block. */
  readonly blockOf: Int32Array;
  readonly invArea: Float32Array;
}

export const CROP_RADIUS = 2;
export const OUTER_BANDS = 2;

export function viewEncoding(v: NonNullable<NetShape['view']>): ViewEncoding {
  const crop = Math.min(CROP_RADIUS, (Math.min(v.height, v.width) - 1) >> 1);
  const rows = poolBands(v.height, crop, OUTER_BANDS);
  const cols = poolBands(v.width, crop, OUTER_BANDS);
  const side = 2 * crop + 1;
  const nb = cols.length - 1;
  const blocks = (rows.length - 1) * nb;
  const blockOf = new Int32Array(v.height * v.width);
  const invArea = new Float32Array(blocks);
  for (let by = 0; by + 1 < rows.length; by++)
    for (let bx = 0; bx < nb; bx++) {
      const b = by * nb + bx;
      invArea[b] = 1 / ((rows[by + 1] - rows[by]) * (cols[bx + 1] - cols[bx]));
      for (let y = rows[by]; y < rows[by + 1]; y++)
        for (let x = cols[bx]; x < cols[bx + 1]; x++) blockOf[y * v.width + x] = b;
    }
  const size = (side * side + blocks) * v.channels;
  return { crop, rows, cols, size, blockOf, invArea };
}

/**
 * The population encoder, row by row: the (2r+1)^2 centre cells as they are, then the mean of
 * each channel over every block of the band grid (the local mean field of the view), then the
 * features. `out` is n x (enc.size + features). One pass over each view.
 */
export function encodeView(
  shape: NetShape,
  enc: ViewEncoding,
  b: ObsBatch,
  out: Float32Array,
): void {
  const v = shape.view as NonNullable<NetShape['view']>;
  const { height: h, width: w, channels: c } = v;
  const F = shape.features;
  const stride = enc.size + F;
  const vs = h * w * c;
  const cells = h * w;
  const cy = (h - 1) >> 1;
  const cx = (w - 1) >> 1;
  const r = enc.crop;
  const side = 2 * r + 1;
  const { blockOf, invArea } = enc;
  const blocks = invArea.length;
  const acc = new Float32Array(blocks * c);
  const view = b.view;
  for (let i = 0; i < b.n; i++) {
    const base = i * vs;
    let o = i * stride;
    for (let y = cy - r; y <= cy + r; y++) {
      const src = base + (y * w + cx - r) * c;
      out.set(view.subarray(src, src + side * c), o);
      o += side * c;
    }
    acc.fill(0);
    for (let cell = 0, src = base; cell < cells; cell++, src += c) {
      const dst = blockOf[cell] * c;
      for (let ch = 0; ch < c; ch++) acc[dst + ch] += view[src + ch];
    }
    for (let k = 0; k < blocks; k++) {
      const inv = invArea[k];
      for (let ch = 0; ch < c; ch++) out[o++] = acc[k * c + ch] * inv;
    }
    if (F > 0) out.set(b.features.subarray(i * F, (i + 1) * F), o);
  }
}

/** An observation torso: how a batch is uploaded, and what it computes from the upload. */
export interface Torso {
  readonly outDim: number;
  /** The batch as this torso's input tensors (call inside tf.tidy). */
  upload(b: ObsBatch): { x: tf.Tensor2D | null; features: tf.Tensor2D | null };
  apply(input: NetInput): tf.Tensor2D;
}

/** mfrl's observation torso: conv view + feature embedding (or an MLP for flat observations). */
export class MfrlTorso implements Torso {
  private readonly conv1?: Conv3x3;
  private readonly conv2?: Conv3x3;
  private readonly viewDense?: Dense;
  private readonly featDense?: Dense;
  private readonly flat1?: Dense;
  private readonly flat2?: Dense;
  readonly outDim: number;
  /** Scratch for conv1's im2col, grown on demand. */
  private cols = new Float32Array(0);

  constructor(
    params: ParamSet,
    readonly shape: NetShape,
    prefix: string,
  ) {
    const v = shape.view;
    if (v) {
      if (v.height < 5 || v.width < 5) {
        throw new RangeError(`view ${v.height}x${v.width} is too small for two 3x3 convolutions`);
      }
      this.conv1 = params.conv(`${prefix}/conv1`, v.channels, 32);
      this.conv2 = params.conv(`${prefix}/conv2`, 32, 32);
      const flat = (v.height - 4) * (v.width - 4) * 32;
      this.viewDense = params.dense(`${prefix}/view_dense`, flat, 256);
      let out = 256;
      if (shape.features > 0) {
        this.featDense = params.dense(`${prefix}/feat_dense`, shape.features, 32);
        out += 32;
      }
      this.outDim = out;
    } else {
      this.flat1 = params.dense(`${prefix}/mlp1`, shape.features, 256);
      this.flat2 = params.dense(`${prefix}/mlp2`, 256, 256);
      this.outDim = 256;
    }
  }

  upload(b: ObsBatch): { x: tf.Tensor2D | null; features: tf.Tensor2D | null } {
    const F = this.shape.features;
    const features = tf.tensor2d(b.features.subarray(0, b.n * F), [b.n, F]);
    const v = this.shape.view;
    if (!v) return { x: null, features };
    const rows = b.n * (v.height - 2) * (v.width - 2);
    const width = 9 * v.channels;
    if (this.cols.length < rows * width) this.cols = new Float32Array(rows * width);
    im2colRows3x3(b.view, b.n, v.height, v.width, v.channels, this.cols);
    return { x: tf.tensor2d(this.cols.subarray(0, rows * width), [rows, width]), features };
  }

  apply(input: NetInput): tf.Tensor2D {
    const v = this.shape.view;
    if (v && this.conv1 && this.conv2 && this.viewDense && input.x) {
      const n = input.n;
      const h1 = tf.reshape(dense(input.x, this.conv1, true), [n, v.height - 2, v.width - 2, 32]);
      const h2 = conv3x3(h1 as tf.Tensor4D, this.conv2);
      const hv = dense(tf.reshape(h2, [n, -1]), this.viewDense, true);
      return this.featDense && input.features
        ? tf.concat([hv, dense(input.features, this.featDense, true)], 1)
        : hv;
    }
    if (!this.flat1 || !this.flat2)
      throw new Error('MfrlTorso: spatial torso called without a view');
    if (!input.features) throw new Error('MfrlTorso: flat torso called without features');
    return dense(dense(input.features, this.flat1, true), this.flat2, true);
  }
}

/** The population torso: the fixed view encoder, then dense 128 -> dense 64 (ReLU). */
export class PopulationTorso implements Torso {
  private readonly d1: Dense;
  private readonly d2: Dense;
  private readonly enc: ViewEncoding | null;
  readonly inDim: number;
  readonly outDim = 64;
  private buf = new Float32Array(0);

  constructor(
    params: ParamSet,
    readonly shape: NetShape,
    prefix: string,
  ) {
    this.enc = shape.view ? viewEncoding(shape.view) : null;
    this.inDim = (this.enc?.size ?? 0) + shape.features;
    this.d1 = params.dense(`${prefix}/enc1`, this.inDim, 128);
    this.d2 = params.dense(`${prefix}/enc2`, 128, 64);
  }

  upload(b: ObsBatch): { x: tf.Tensor2D | null; features: tf.Tensor2D | null } {
    const F = this.shape.features;
    if (!this.enc)
      return { x: tf.tensor2d(b.features.subarray(0, b.n * F), [b.n, F]), features: null };
    const len = b.n * this.inDim;
    if (this.buf.length < len) this.buf = new Float32Array(len);
    encodeView(this.shape, this.enc, b, this.buf);
    // The features ride in the encoded rows.
    return { x: tf.tensor2d(this.buf.subarray(0, len), [b.n, this.inDim]), features: null };
  }

  apply(input: NetInput): tf.Tensor2D {
    const x = input.x as tf.Tensor2D;
    return dense(dense(x, this.d1, true), this.d2, true);
  }
}

function makeTorso(net: NetKind, params: ParamSet, shape: NetShape, prefix: string): Torso {
  return net === 'population'
    ? new PopulationTorso(params, shape, prefix)
    : new MfrlTorso(params, shape, prefix);
}

/** A stack of dense layers, ReLU between them. */
export class Mlp {
  private readonly layers: Dense[] = [];
  constructor(
    params: ParamSet,
    sizes: readonly number[],
    prefix: string,
    names: readonly string[],
  ) {
    for (let i = 0; i + 1 < sizes.length; i++)
      this.layers.push(params.dense(`${prefix}/${names[i]}`, sizes[i], sizes[i + 1]));
  }
  /** `reluLast`: whether the last layer is followed by a ReLU too (an embedding, not an output). */
  apply(x: tf.Tensor2D, reluLast: boolean): tf.Tensor2D {
    let h = x;
    for (let i = 0; i < this.layers.length; i++)
      h = dense(h, this.layers[i], reluLast || i + 1 < this.layers.length);
    return h;
  }
}

/** mfrl's mean-action embedding (dense 64 -> dense 32); the population net's is one dense 32. */
function meanEmbedding(net: NetKind, params: ParamSet, actions: number, prefix: string): Mlp {
  return net === 'population'
    ? new Mlp(params, [actions, 32], prefix, ['mean1'])
    : new Mlp(params, [actions, 64, 32], prefix, ['mean1', 'mean2']);
}

/** mfrl's head (dense 128 -> dense 64 -> linear); the population net's is dense 64 -> linear. */
function head(net: NetKind, params: ParamSet, inDim: number, out: number, prefix: string): Mlp {
  return net === 'population'
    ? new Mlp(params, [inDim, 64, out], prefix, ['dense1', 'out'])
    : new Mlp(params, [inDim, 128, 64, out], prefix, ['dense1', 'dense2', 'out']);
}

/** What the networks share: a torso, an optional mean-action embedding, an upload. */
abstract class Network {
  readonly params: ParamSet;
  protected readonly torso: Torso;
  protected readonly meanEmb: Mlp | null;

  constructor(
    readonly shape: NetShape,
    rng: Rng,
    readonly net: NetKind,
  ) {
    this.params = new ParamSet(rng);
    this.torso = makeTorso(net, this.params, shape, 'torso');
    this.meanEmb = shape.meanAction ? meanEmbedding(net, this.params, shape.actions, 'mf') : null;
  }

  /** Upload the first `b.n` rows of a batch (call inside tf.tidy). */
  inputs(b: ObsBatch, withMean = this.shape.meanAction): NetInput {
    const t = this.torso.upload(b);
    const A = this.shape.actions;
    const mean = withMean && b.mean ? tf.tensor2d(b.mean.subarray(0, b.n * A), [b.n, A]) : null;
    return { ...t, mean, n: b.n };
  }

  protected withMean(h: tf.Tensor2D, input: NetInput): tf.Tensor2D {
    if (!this.meanEmb) return h;
    if (!input.mean) throw new Error(`${this.constructor.name}: called without a mean action`);
    return tf.concat([h, this.meanEmb.apply(input.mean, true)], 1);
  }

  dispose(): void {
    this.params.dispose();
  }
}

/**
 * Q(s, a, mean action) for every action at once (mean-field), or Q(s, a) (independent learners):
 * one network per group with shared parameters, one forward pass for the whole group.
 */
export class QNetwork extends Network {
  private readonly head: Mlp;

  constructor(shape: NetShape, rng: Rng, net: NetKind = 'mfrl') {
    super(shape, rng, net);
    const inDim = this.torso.outDim + (this.meanEmb ? 32 : 0);
    this.head = head(net, this.params, inDim, shape.actions, 'q');
  }

  /** [n, actions] Q-values. */
  apply(input: NetInput): tf.Tensor2D {
    return this.head.apply(this.withMean(this.torso.apply(input), input), false);
  }
}

/**
 * Actor and critic on one shared torso. The actor's head gives policy logits; the critic's head
 * gives V(s) (one output, AC) or Q(s, ., mean action) (one output per action, MF-AC).
 */
export class ActorCriticNetwork extends Network {
  private readonly actor: Mlp;
  private readonly critic: Mlp;

  constructor(shape: NetShape, rng: Rng, net: NetKind = 'mfrl') {
    super(shape, rng, net);
    this.actor = head(net, this.params, this.torso.outDim, shape.actions, 'actor');
    const criticIn = this.torso.outDim + (this.meanEmb ? 32 : 0);
    const out = shape.meanAction ? shape.actions : 1;
    this.critic = head(net, this.params, criticIn, out, 'critic');
  }

  /** Policy logits [n, actions] and critic output [n, 1] (AC) or [n, actions] (MF-AC). */
  apply(input: NetInput, withCritic = true): { logits: tf.Tensor2D; critic: tf.Tensor2D | null } {
    const h = this.torso.apply(input);
    const logits = this.actor.apply(h, false);
    if (!withCritic) return { logits, critic: null };
    return { logits, critic: this.critic.apply(this.withMean(h, input), false) };
  }
}

/**
 * Multiply-adds x2 of one forward pass for one sample: the Q-network, or (actorCritic) actor and
 * critic together, or (actorOnly) the actor alone, which is what acting computes.
 */
export function forwardFlops(
  shape: NetShape,
  actorCritic = false,
  net: NetKind = 'mfrl',
  actorOnly = false,
): number {
  const d = (i: number, o: number) => 2 * i * o;
  const v = shape.view;
  let torso: number;
  let torsoOut: number;
  if (net === 'population') {
    const inDim = (v ? viewEncoding(v).size : 0) + shape.features;
    torso = d(inDim, 128) + d(128, 64);
    torsoOut = 64;
  } else if (v) {
    torso =
      2 * (v.height - 2) * (v.width - 2) * 9 * v.channels * 32 +
      2 * (v.height - 4) * (v.width - 4) * 9 * 32 * 32 +
      d((v.height - 4) * (v.width - 4) * 32, 256);
    torsoOut = 256;
    if (shape.features > 0) {
      torso += d(shape.features, 32);
      torsoOut += 32;
    }
  } else {
    torso = d(shape.features, 256) + d(256, 256);
    torsoOut = 256;
  }
  const mean = !shape.meanAction
    ? 0
    : net === 'population'
      ? d(shape.actions, 32)
      : d(shape.actions, 64) + d(64, 32);
  const mf = shape.meanAction ? 32 : 0;
  const head = (i: number, o: number) =>
    net === 'population' ? d(i, 64) + d(64, o) : d(i, 128) + d(128, 64) + d(64, o);
  if (!actorCritic) return torso + mean + head(torsoOut + mf, shape.actions);
  const actor = torso + head(torsoOut, shape.actions);
  if (actorOnly) return actor;
  return actor + mean + head(torsoOut + mf, shape.meanAction ? shape.actions : 1);
}

/**
 * Adam (Kingma & Ba 2015) over a fixed list of variables, in JavaScript on flat Float32Arrays:
 *   g <- g * min(1, maxNorm / (|g| + 1e-6))            (global-norm clipping)
 *   m <- beta1 m + (1 - beta1) g,  v <- beta2 v + (1 - beta2) g^2
 *   theta <- theta - lr (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)
 * Its whole state (step count, moments) is saved and restored bit for bit; the bias corrections
 * are float64 from the step count. Written out rather than as tfjs ops: at these network sizes
 * tfjs's cost is per op (a dozen per variable per step), while one pass over the flat arrays
 * costs microseconds per thousand weights; and the gradient arrives as one array anyway (summed
 * over threads, pool/index.ts).
 */
export class Adam {
  t = 0;
  /** First and second moments, all variables concatenated (flattened, in `vars` order). */
  readonly m: Float32Array;
  readonly v: Float32Array;
  private readonly sizes: number[];

  constructor(
    readonly vars: readonly tf.Variable[],
    readonly lr: number,
    readonly beta1 = 0.9,
    readonly beta2 = 0.999,
    readonly eps = 1e-8,
  ) {
    this.sizes = vars.map((x) => x.size);
    const total = this.sizes.reduce((a, b) => a + b, 0);
    this.m = new Float32Array(total);
    this.v = new Float32Array(total);
  }

  /**
   * One step with gradients in the order of `vars`, first scaled to a global L2 norm of at most
   * `maxNorm` (0 or Infinity: no clipping).
   */
  step(grads: readonly tf.Tensor[], maxNorm = 0): void {
    const flat = new Float32Array(this.m.length);
    let o = 0;
    for (const g of grads) {
      flat.set(g.dataSync() as Float32Array, o);
      o += g.size;
    }
    this.stepFlat(flat, maxNorm);
  }

  /** One step with all gradients concatenated in `vars` order. */
  stepFlat(g: Float32Array, maxNorm = 0): void {
    if (g.length !== this.m.length) {
      throw new RangeError(`Adam: gradient of ${g.length} values for ${this.m.length} weights`);
    }
    this.t++;
    const c1 = 1 - this.beta1 ** this.t;
    const c2 = 1 - this.beta2 ** this.t;
    let scale = 1;
    if (maxNorm > 0 && Number.isFinite(maxNorm)) {
      let sq = 0;
      for (let i = 0; i < g.length; i++) sq += g[i] * g[i];
      scale = Math.min(1, maxNorm / (Math.sqrt(sq) + 1e-6));
    }
    const { m, v, beta1: b1, beta2: b2, eps } = this;
    const step = this.lr / c1;
    const inv2 = 1 / c2;
    let o = 0;
    for (let k = 0; k < this.vars.length; k++) {
      const w = this.vars[k];
      const theta = w.dataSync() as Float32Array;
      for (let i = 0; i < theta.length; i++) {
        const j = o + i;
        const gi = g[j] * scale;
        const mj = b1 * m[j] + (1 - b1) * gi;
        const vj = b2 * v[j] + (1 - b2) * gi * gi;
        m[j] = mj;
        v[j] = vj;
        theta[i] -= (step * mj) / (Math.sqrt(vj * inv2) + eps);
      }
      tf.tidy(() => w.assign(tf.tensor(theta, w.shape)));
      o += theta.length;
    }
  }

  /** Moments by the relative names of their variables ("m/torso/conv1/w"); caller disposes. */
  named(names: readonly string[]): tf.NamedTensorMap {
    const out: tf.NamedTensorMap = {};
    let o = 0;
    for (let i = 0; i < names.length; i++) {
      const n = this.sizes[i];
      out[`m/${names[i]}`] = tf.tensor(this.m.slice(o, o + n), this.vars[i].shape);
      out[`v/${names[i]}`] = tf.tensor(this.v.slice(o, o + n), this.vars[i].shape);
      o += n;
    }
    return out;
  }

  /** Restore the moments from per-variable tensors (in `vars` order) and the step count. */
  setState(m: readonly tf.Tensor[], v: readonly tf.Tensor[], t: number): void {
    let o = 0;
    for (let i = 0; i < this.sizes.length; i++) {
      this.m.set(m[i].dataSync() as Float32Array, o);
      this.v.set(v[i].dataSync() as Float32Array, o);
      o += this.sizes[i];
    }
    this.t = t;
  }

  dispose(): void {}
}
