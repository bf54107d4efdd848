/**
 * The networks of the mean-field agents, written on tfjs ops and variables (no tf.layers), so that
 * every trainable tensor, every gradient path and every saved weight is visible here.
 *
 * Architecture, as in mlii/mfrl's `ValueNet._construct_net` (Yang et al. 2018):
 *   view     -> conv 3x3 (32) -> conv 3x3 (32) -> flatten -> dense 256
 *   features -> dense 32
 *   mean action (mean-field variants only) -> dense 64 -> dense 32
 *   concat   -> dense 128 -> dense 64 -> output
 * A group without a spatial view feeds its features through an MLP instead (dense 256 -> dense 256).
 * All hidden activations are ReLU.
 *
 * Speed on the wasm backend: matMul's gradient uses matMul with transpose flags, about 8x slower on
 * wasm than an explicit `tf.transpose` followed by a plain matMul (docs/toolchain.md), and wasm
 * has no Conv2DBackpropFilter kernel at all. So dense layers go through `matMul` below (a customGrad
 * with explicit transposes) and 3x3 convolutions are an im2col (nine shifted slices) followed by the
 * same matMul: forward and backward are plain matMuls, slices and pads, all fast on wasm.
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

export function dense(x: tf.Tensor2D, layer: Dense, relu: boolean): tf.Tensor2D {
  const y = tf.add(matMul(x, layer.w as unknown as tf.Tensor2D), layer.b) as tf.Tensor2D;
  return relu ? tf.relu(y) : y;
}

export function conv3x3(x: tf.Tensor4D, layer: Conv3x3): tf.Tensor4D {
  const [b, h, w] = x.shape;
  const y = dense(im2col3x3(x), layer, true);
  return tf.reshape(y, [b, h - 2, w - 2, layer.w.shape[1] as number]);
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
    tf.tidy(() => {
      for (let i = 0; i < this.vars.length; i++) this.vars[i].assign(other.vars[i]);
    });
  }

  /** Soft update (Polyak averaging): this <- tau * other + (1 - tau) * this. */
  softUpdate(other: ParamSet, tau: number): void {
    tf.tidy(() => {
      for (let i = 0; i < this.vars.length; i++) {
        this.vars[i].assign(tf.add(tf.mul(other.vars[i], tau), tf.mul(this.vars[i], 1 - tau)));
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

/** mfrl's observation torso: conv view + feature embedding (or an MLP for flat observations). */
export class Torso {
  private readonly conv1?: Conv3x3;
  private readonly conv2?: Conv3x3;
  private readonly viewDense?: Dense;
  private readonly featDense?: Dense;
  private readonly flat1?: Dense;
  private readonly flat2?: Dense;
  readonly outDim: number;

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
      this.viewDense = params.dense(
        `${prefix}/view_dense`,
        (v.height - 4) * (v.width - 4) * 32,
        256,
      );
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

  apply(view: tf.Tensor4D | null, features: tf.Tensor2D): tf.Tensor2D {
    if (this.conv1 && this.conv2 && this.viewDense && view) {
      const h = conv3x3(conv3x3(view, this.conv1), this.conv2);
      const n = h.shape[0];
      const hv = dense(tf.reshape(h, [n, -1]), this.viewDense, true);
      return this.featDense ? tf.concat([hv, dense(features, this.featDense, true)], 1) : hv;
    }
    if (!this.flat1 || !this.flat2) throw new Error('Torso: spatial torso called without a view');
    return dense(dense(features, this.flat1, true), this.flat2, true);
  }
}

/** mfrl's mean-action embedding: dense 64 -> dense 32. */
export class MeanEmbedding {
  private readonly d1: Dense;
  private readonly d2: Dense;
  constructor(params: ParamSet, actions: number, prefix: string) {
    this.d1 = params.dense(`${prefix}/mean1`, actions, 64);
    this.d2 = params.dense(`${prefix}/mean2`, 64, 32);
  }
  apply(mean: tf.Tensor2D): tf.Tensor2D {
    return dense(dense(mean, this.d1, true), this.d2, true);
  }
}

/** mfrl's head: dense 128 -> dense 64 -> linear output. */
export class Head {
  private readonly d1: Dense;
  private readonly d2: Dense;
  private readonly out: Dense;
  constructor(params: ParamSet, inDim: number, outDim: number, prefix: string) {
    this.d1 = params.dense(`${prefix}/dense1`, inDim, 128);
    this.d2 = params.dense(`${prefix}/dense2`, 128, 64);
    this.out = params.dense(`${prefix}/out`, 64, outDim);
  }
  apply(x: tf.Tensor2D): tf.Tensor2D {
    return dense(dense(dense(x, this.d1, true), this.d2, true), this.out, false);
  }
}

/** Upload a batch as tensors (call inside tf.tidy). */
export function batchTensors(
  shape: NetShape,
  b: ObsBatch,
): { view: tf.Tensor4D | null; features: tf.Tensor2D; mean: tf.Tensor2D | null } {
  const v = shape.view;
  const view = v
    ? tf.tensor4d(b.view.subarray(0, b.n * v.height * v.width * v.channels), [
        b.n,
        v.height,
        v.width,
        v.channels,
      ])
    : null;
  const features = tf.tensor2d(b.features.subarray(0, b.n * shape.features), [b.n, shape.features]);
  const mean =
    shape.meanAction && b.mean
      ? tf.tensor2d(b.mean.subarray(0, b.n * shape.actions), [b.n, shape.actions])
      : null;
  return { view, features, mean };
}

/**
 * Q(s, a, mean action) for every action at once (mean-field), or Q(s, a) (independent learners):
 * one network per group with shared parameters, one forward pass for the whole group.
 */
export class QNetwork {
  readonly params: ParamSet;
  private readonly torso: Torso;
  private readonly meanEmb: MeanEmbedding | null;
  private readonly head: Head;

  constructor(
    readonly shape: NetShape,
    rng: Rng,
  ) {
    this.params = new ParamSet(rng);
    this.torso = new Torso(this.params, shape, 'torso');
    this.meanEmb = shape.meanAction ? new MeanEmbedding(this.params, shape.actions, 'mf') : null;
    const inDim = this.torso.outDim + (this.meanEmb ? 32 : 0);
    this.head = new Head(this.params, inDim, shape.actions, 'q');
  }

  /** [n, actions] Q-values. */
  apply(view: tf.Tensor4D | null, features: tf.Tensor2D, mean: tf.Tensor2D | null): tf.Tensor2D {
    let h = this.torso.apply(view, features);
    if (this.meanEmb) {
      if (!mean) throw new Error('QNetwork: mean-field network called without a mean action');
      h = tf.concat([h, this.meanEmb.apply(mean)], 1);
    }
    return this.head.apply(h);
  }

  dispose(): void {
    this.params.dispose();
  }
}

/**
 * Actor and critic on one shared torso. The actor's head gives policy logits; the critic's head
 * gives V(s) (one output, AC) or Q(s, ., mean action) (one output per action, MF-AC).
 */
export class ActorCriticNetwork {
  readonly params: ParamSet;
  private readonly torso: Torso;
  private readonly meanEmb: MeanEmbedding | null;
  private readonly actor: Head;
  private readonly critic: Head;

  constructor(
    readonly shape: NetShape,
    rng: Rng,
  ) {
    this.params = new ParamSet(rng);
    this.torso = new Torso(this.params, shape, 'torso');
    this.actor = new Head(this.params, this.torso.outDim, shape.actions, 'actor');
    this.meanEmb = shape.meanAction ? new MeanEmbedding(this.params, shape.actions, 'mf') : null;
    const criticIn = this.torso.outDim + (this.meanEmb ? 32 : 0);
    this.critic = new Head(this.params, criticIn, shape.meanAction ? shape.actions : 1, 'critic');
  }

  /** Policy logits [n, actions] and critic output [n, 1] (AC) or [n, actions] (MF-AC). */
  apply(
    view: tf.Tensor4D | null,
    features: tf.Tensor2D,
    mean: tf.Tensor2D | null,
    withCritic = true,
  ): { logits: tf.Tensor2D; critic: tf.Tensor2D | null } {
    const h = this.torso.apply(view, features);
    const logits = this.actor.apply(h);
    if (!withCritic) return { logits, critic: null };
    let hc = h;
    if (this.meanEmb) {
      if (!mean)
        throw new Error('ActorCriticNetwork: mean-field critic called without a mean action');
      hc = tf.concat([h, this.meanEmb.apply(mean)], 1);
    }
    return { logits, critic: this.critic.apply(hc) };
  }

  dispose(): void {
    this.params.dispose();
  }
}

/** Multiply-adds x2 of one forward pass for one sample, for GFLOP/s figures. */
export function forwardFlops(shape: NetShape, actorCritic = false): number {
  let f = 0;
  const d = (i: number, o: number) => {
    f += 2 * i * o;
  };
  let torso: number;
  const v = shape.view;
  if (v) {
    f += 2 * (v.height - 2) * (v.width - 2) * 9 * v.channels * 32;
    f += 2 * (v.height - 4) * (v.width - 4) * 9 * 32 * 32;
    d((v.height - 4) * (v.width - 4) * 32, 256);
    torso = 256;
    if (shape.features > 0) {
      d(shape.features, 32);
      torso += 32;
    }
  } else {
    d(shape.features, 256);
    d(256, 256);
    torso = 256;
  }
  const mf = shape.meanAction ? 32 : 0;
  if (shape.meanAction) {
    d(shape.actions, 64);
    d(64, 32);
  }
  const head = (i: number, o: number) => {
    d(i, 128);
    d(128, 64);
    d(64, o);
  };
  if (actorCritic) {
    head(torso, shape.actions);
    head(torso + mf, shape.meanAction ? shape.actions : 1);
  } else head(torso + mf, shape.actions);
  return f;
}

/**
 * Adam (Kingma & Ba 2015) over a fixed list of variables. Written out instead of tf.train.adam so
 * that its whole state (step count, first and second moments) is saved and restored bit for bit:
 * the bias corrections 1 - beta^t are computed in float64 from the step count. The moments live
 * in two flat vectors and the update runs on the concatenated gradient: a dozen tfjs ops per step
 * instead of a dozen per variable (per-op overhead dominates at the batch sizes used here).
 */
export class Adam {
  t = 0;
  /** First and second moments, all variables concatenated (flattened, in `vars` order). */
  readonly m: tf.Variable;
  readonly v: tf.Variable;
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
    this.m = tf.variable(tf.zeros([total]), false);
    this.v = tf.variable(tf.zeros([total]), false);
  }

  /**
   * One step with gradients in the order of `vars`, first scaled to a global L2 norm of at most
   * `maxNorm` (0 or Infinity: no clipping).
   */
  step(grads: readonly tf.Tensor[], maxNorm = 0): void {
    this.t++;
    const c1 = 1 - this.beta1 ** this.t;
    const c2 = 1 - this.beta2 ** this.t;
    tf.tidy(() => {
      let g: tf.Tensor = tf.concat(grads.map((x) => tf.reshape(x, [-1])));
      if (maxNorm > 0 && Number.isFinite(maxNorm)) {
        const norm = tf.sqrt(tf.sum(tf.square(g)));
        g = tf.mul(g, tf.minimum(1, tf.div(maxNorm, tf.add(norm, 1e-6))));
      }
      const m = tf.add(tf.mul(this.m, this.beta1), tf.mul(g, 1 - this.beta1));
      const v = tf.add(tf.mul(this.v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
      this.m.assign(m);
      this.v.assign(v);
      const upd = tf.div(tf.mul(m, this.lr / c1), tf.add(tf.sqrt(tf.div(v, c2)), this.eps));
      const parts = tf.split(upd, this.sizes);
      for (let i = 0; i < this.vars.length; i++) {
        this.vars[i].assign(tf.sub(this.vars[i], tf.reshape(parts[i], this.vars[i].shape)));
      }
    });
  }

  /** Moments by the relative names of their variables ("m/torso/conv1/w"); caller disposes. */
  named(names: readonly string[]): tf.NamedTensorMap {
    const out: tf.NamedTensorMap = {};
    const ms = tf.split(this.m, this.sizes);
    const vs = tf.split(this.v, this.sizes);
    for (let i = 0; i < names.length; i++) {
      out[`m/${names[i]}`] = tf.reshape(ms[i], this.vars[i].shape);
      out[`v/${names[i]}`] = tf.reshape(vs[i], this.vars[i].shape);
    }
    tf.dispose([...ms, ...vs]);
    return out;
  }

  /** Restore the moments from per-variable tensors (in `vars` order) and the step count. */
  setState(m: readonly tf.Tensor[], v: readonly tf.Tensor[], t: number): void {
    tf.tidy(() => {
      this.m.assign(tf.concat(m.map((x) => tf.reshape(x, [-1]))));
      this.v.assign(tf.concat(v.map((x) => tf.reshape(x, [-1]))));
    });
    this.t = t;
  }

  dispose(): void {
    this.m.dispose();
    this.v.dispose();
  }
}
