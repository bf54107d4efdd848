import { Rng } from '@gibbs/core';
import { initBackend } from '@gibbs/core/backend';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Adam, conv3x3, forwardFlops, matMul, ParamSet, QNetwork } from '../src/nets.ts';

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
    const q = tf.tidy(() =>
      net.apply(
        tf.zeros([4, 7, 7, 2]) as tf.Tensor4D,
        tf.zeros([4, 3]),
        tf.fill([4, 5], 0.2) as tf.Tensor2D,
      ),
    );
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
});
