import { Rng } from '@gibbs/core';
import { initBackend } from '@gibbs/core/backend';
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  Adam,
  conv3x3,
  encodeView,
  forwardFlops,
  im2col3x3,
  im2colRows3x3,
  matMul,
  ParamSet,
  poolBands,
  QNetwork,
  viewEncoding,
} from '../src/nets.ts';

beforeAll(async () => {
  await initBackend();
});

function close(a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-4) {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThan(tol);
}

describe('fast layers', () => {
  it('matMul with explicit-transpose gradients equals tf.matMul and its gradients', () => {
    const rng = new Rng(1);
    const a = tf.tensor2d(
      Array.from({ length: 12 }, () => rng.normal()),
      [3, 4],
    );
    const b = tf.tensor2d(
      Array.from({ length: 20 }, () => rng.normal()),
      [4, 5],
    );
    const f = (m: (x: tf.Tensor2D, y: tf.Tensor2D) => tf.Tensor2D) =>
      tf.grads((x: tf.Tensor, y: tf.Tensor) =>
        tf.sum(tf.square(m(x as tf.Tensor2D, y as tf.Tensor2D))),
      );
    const [ga, gb] = f(matMul)([a, b]);
    const [ra, rb] = f((x, y) => tf.matMul(x, y))([a, b]);
    close(matMul(a, b).dataSync(), tf.matMul(a, b).dataSync());
    close(ga.dataSync(), ra.dataSync());
    close(gb.dataSync(), rb.dataSync());
  });

  it('im2col 3x3 convolution equals tf.conv2d (valid padding, HWIO kernel)', () => {
    const rng = new Rng(2);
    const params = new ParamSet(rng);
    const layer = params.conv('c', 3, 4);
    const x = tf.tensor4d(
      Array.from({ length: 2 * 6 * 5 * 3 }, () => rng.normal()),
      [2, 6, 5, 3],
    );
    const ours = conv3x3(x, layer);
    const kernel = tf.reshape(layer.w, [3, 3, 3, 4]) as tf.Tensor4D;
    const ref = tf.relu(tf.add(tf.conv2d(x, kernel, 1, 'valid'), layer.b));
    expect(ours.shape).toEqual([2, 4, 3, 4]);
    close(ours.dataSync(), ref.dataSync());
    params.dispose();
  });

  it("the 3x3 convolution's gradient (two convolutions) equals the gradient through nine slices", () => {
    const rng = new Rng(12);
    const params = new ParamSet(rng);
    const layer = params.conv('c', 3, 4);
    const x = tf.tensor4d(
      Array.from({ length: 2 * 6 * 5 * 3 }, () => rng.normal()),
      [2, 6, 5, 3],
    );
    const up = tf.tensor4d(
      Array.from({ length: 2 * 4 * 3 * 4 }, () => rng.normal()),
      [2, 4, 3, 4],
    );
    const viaSlices = (v: tf.Tensor, w: tf.Tensor, b: tf.Tensor) =>
      tf.sum(
        tf.mul(
          up,
          tf.reshape(
            tf.relu(tf.add(tf.matMul(im2col3x3(v as tf.Tensor4D), w as tf.Tensor2D), b)),
            [2, 4, 3, 4],
          ),
        ),
      );
    const viaConv = (v: tf.Tensor, w: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(up, conv3x3(v as tf.Tensor4D, { inChannels: 3, w, b } as never)));
    const ref = tf.grads(viaSlices)([x, layer.w, layer.b]);
    const ours = tf.grads(viaConv)([x, layer.w, layer.b]);
    for (let i = 0; i < 3; i++) close(ours[i].dataSync(), ref[i].dataSync(), 1e-4);
    params.dispose();
  });

  it('soft update moves tau of the way: 0.1 * 5 + 0.9 * 1 = 1.4', () => {
    const a = new ParamSet(new Rng(3));
    const b = new ParamSet(new Rng(4));
    const la = a.dense('d', 1, 1);
    const lb = b.dense('d', 1, 1);
    la.w.assign(tf.tensor2d([[1]]));
    lb.w.assign(tf.tensor2d([[5]]));
    a.softUpdate(b, 0.1);
    expect(la.w.dataSync()[0]).toBeCloseTo(1.4, 6);
    a.copyFrom(b);
    expect(la.w.dataSync()[0]).toBe(5);
    a.dispose();
    b.dispose();
  });

  it('Adam first step moves each weight by lr against the gradient sign', () => {
    const p = new ParamSet(new Rng(5));
    const l = p.dense('d', 2, 1);
    l.w.assign(tf.tensor2d([[1], [-1]]));
    const opt = new Adam(p.vars, 0.01);
    // gradient of w: [3, -2] -> m-hat = g, v-hat = g^2, step = lr * g / (|g| + eps)
    opt.step([tf.tensor2d([[3], [-2]]), tf.zeros([1])]);
    close(l.w.dataSync(), [1 - 0.01, -1 + 0.01], 1e-6);
    expect(opt.t).toBe(1);
    opt.dispose();
    p.dispose();
  });

  it('the Q-network maps a batch to one row of Q-values per agent, and counts its FLOPs', () => {
    const shape = {
      view: { height: 7, width: 7, channels: 2 },
      features: 3,
      actions: 5,
      meanAction: true,
    };
    const net = new QNetwork(shape, new Rng(6));
    const batch = {
      n: 4,
      view: new Float32Array(4 * 7 * 7 * 2),
      features: new Float32Array(4 * 3),
      mean: new Float32Array(4 * 5).fill(0.2),
    };
    const q = tf.tidy(() => net.apply(net.inputs(batch)));
    expect(q.shape).toEqual([4, 5]);
    q.dispose();
    // conv1 5*5*18*32, conv2 3*3*288*32, dense 288->256, feat 3->32, mean 5->64->32, head 320->128->64->5
    const mac =
      5 * 5 * 18 * 32 +
      3 * 3 * 288 * 32 +
      288 * 256 +
      3 * 32 +
      5 * 64 +
      64 * 32 +
      320 * 128 +
      128 * 64 +
      64 * 5;
    expect(forwardFlops(shape)).toBe(2 * mac);
    net.dispose();
  });

  it('the JS im2col of conv1 equals the nine-slice im2col of tfjs, element for element', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 3, max: 8 }),
        fc.integer({ min: 3, max: 8 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer(),
        (n, h, w, c, seed) => {
          const rng = new Rng(seed);
          const view = Float32Array.from({ length: n * h * w * c }, () => rng.normal());
          const out = new Float32Array(n * (h - 2) * (w - 2) * 9 * c);
          im2colRows3x3(view, n, h, w, c, out);
          const ref = tf.tidy(() => im2col3x3(tf.tensor4d(view, [n, h, w, c])));
          const r = ref.dataSync();
          ref.dispose();
          expect(Array.from(out)).toEqual(Array.from(r));
        },
      ),
      { numRuns: 40 },
    );
  });

  it('mfrl torso through the JS im2col equals tf.conv2d twice, dense and concat', () => {
    const shape = {
      view: { height: 7, width: 6, channels: 2 },
      features: 3,
      actions: 4,
      meanAction: false,
    };
    const rng = new Rng(9);
    const net = new QNetwork(shape, rng);
    const n = 3;
    const batch = {
      n,
      view: Float32Array.from({ length: n * 7 * 6 * 2 }, () => rng.normal()),
      features: Float32Array.from({ length: n * 3 }, () => rng.normal()),
      mean: null,
    };
    const named = net.params.named();
    const ours = tf.tidy(() => net.apply(net.inputs(batch)));
    const ref = tf.tidy(() => {
      const k = (name: string, cin: number) =>
        tf.reshape(named[`torso/${name}/w`], [3, 3, cin, 32]) as tf.Tensor4D;
      const x = tf.tensor4d(batch.view, [n, 7, 6, 2]);
      const h1 = tf.relu(tf.add(tf.conv2d(x, k('conv1', 2), 1, 'valid'), named['torso/conv1/b']));
      const h2 = tf.relu(
        tf.add(tf.conv2d(h1 as tf.Tensor4D, k('conv2', 32), 1, 'valid'), named['torso/conv2/b']),
      );
      const d = (x: tf.Tensor, name: string, relu: boolean) => {
        const y = tf.add(
          tf.matMul(x as tf.Tensor2D, named[`${name}/w`] as tf.Tensor2D),
          named[`${name}/b`],
        );
        return relu ? tf.relu(y) : y;
      };
      const hv = d(tf.reshape(h2, [n, -1]), 'torso/view_dense', true);
      const hf = d(tf.tensor2d(batch.features, [n, 3]), 'torso/feat_dense', true);
      const h = tf.concat([hv, hf], 1);
      return d(d(d(h, 'q/dense1', true), 'q/dense2', true), 'q/out', false);
    });
    close(ours.dataSync(), ref.dataSync(), 1e-4);
    tf.dispose([ours, ref]);
    net.dispose();
  });
});

describe('population network', () => {
  it('bands a 13-cell side as mfrl views need: [0,2) [2,4) [4,9) [9,11) [11,13)', () => {
    expect(poolBands(13, 2, 2)).toEqual([0, 2, 4, 9, 11, 13]);
    expect(poolBands(5, 2, 2)).toEqual([0, 5]);
    expect(poolBands(7, 1, 2)).toEqual([0, 1, 2, 5, 6, 7]);
  });

  it('encodes a view as its centre crop, block densities and features (hand-built case)', () => {
    // A 7x7x1 view, crop radius 2 (5x5 centre), bands [0,1) [1,6) [6,7) per side.
    const shape = {
      view: { height: 7, width: 7, channels: 1 },
      features: 2,
      actions: 3,
      meanAction: false,
    };
    const enc = viewEncoding(shape.view);
    expect(enc.rows).toEqual([0, 1, 6, 7]);
    expect(enc.size).toBe(25 + 9);
    const view = new Float32Array(49);
    view[0] = 1; // corner block (1 cell)
    view[3] = 5; // top band, middle block (5 cells): density 1
    view[24] = 7; // the centre: crop and the centre block (25 cells)
    const out = new Float32Array(enc.size + 2);
    encodeView(shape, enc, { n: 1, view, features: Float32Array.of(-1, 2), mean: null }, out);
    const crop = Array.from(out.subarray(0, 25));
    expect(crop[12]).toBe(7);
    expect(crop.filter((v) => v !== 0)).toEqual([7]);
    expect(Array.from(out.subarray(25, 34))).toEqual([1, 1, 0, 0, Math.fround(7 / 25), 0, 0, 0, 0]);
    expect(Array.from(out.subarray(34))).toEqual([-1, 2]);
  });

  it('block densities of any view average to the view mean per channel (area-weighted)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 3, max: 15 }),
        fc.integer({ min: 3, max: 15 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer(),
        (h, w, c, seed) => {
          const rng = new Rng(seed);
          const shape = {
            view: { height: h, width: w, channels: c },
            features: 0,
            actions: 2,
            meanAction: false,
          };
          const enc = viewEncoding(shape.view);
          const view = Float32Array.from({ length: h * w * c }, () => rng.float());
          const out = new Float32Array(enc.size);
          encodeView(shape, enc, { n: 1, view, features: new Float32Array(0), mean: null }, out);
          const side = 2 * enc.crop + 1;
          let o = side * side * c;
          const total = new Float64Array(c);
          for (let by = 0; by + 1 < enc.rows.length; by++)
            for (let bx = 0; bx + 1 < enc.cols.length; bx++) {
              const area = (enc.rows[by + 1] - enc.rows[by]) * (enc.cols[bx + 1] - enc.cols[bx]);
              for (let ch = 0; ch < c; ch++) total[ch] += out[o++] * area;
            }
          for (let ch = 0; ch < c; ch++) {
            let s = 0;
            for (let i = ch; i < view.length; i += c) s += view[i];
            expect(Math.abs(total[ch] - s)).toBeLessThan(1e-3);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('is at least 10x cheaper than mfrl per agent on Battle, and counts its FLOPs by hand', () => {
    const shape = {
      view: { height: 13, width: 13, channels: 5 },
      features: 24,
      actions: 21,
      meanAction: true,
    };
    // encoder 125 crop + 25 blocks x 5 + 24 features = 274 -> 128 -> 64; mean 21 -> 32;
    // head 96 -> 64 -> 21
    const mac = 274 * 128 + 128 * 64 + 21 * 32 + 96 * 64 + 64 * 21;
    expect(forwardFlops(shape, false, 'population')).toBe(2 * mac);
    expect(forwardFlops(shape) / forwardFlops(shape, false, 'population')).toBeGreaterThan(10);
    const net = new QNetwork(shape, new Rng(3), 'population');
    const batch = {
      n: 2,
      view: new Float32Array(2 * 845),
      features: new Float32Array(2 * 24),
      mean: new Float32Array(2 * 21),
    };
    const q = tf.tidy(() => net.apply(net.inputs(batch)));
    expect(q.shape).toEqual([2, 21]);
    q.dispose();
    net.dispose();
    // Without a view the torso reads the features alone.
    const flat = { view: null, features: 3, actions: 4, meanAction: false };
    const f = new QNetwork(flat, new Rng(4), 'population');
    const rows = { n: 5, view: new Float32Array(0), features: new Float32Array(15), mean: null };
    const qf = tf.tidy(() => f.apply(f.inputs(rows)));
    expect(qf.shape).toEqual([5, 4]);
    qf.dispose();
    expect(forwardFlops(flat, false, 'population')).toBe(
      2 * (3 * 128 + 128 * 64 + 64 * 64 + 64 * 4),
    );
    f.dispose();
  });
});
