#!/usr/bin/env python3
"""
The MF-Q update of Gibbs's two Q-networks (packages/agents/src/nets.ts) written in NumPy, as the
reference that `pnpm bench mfrl` sets beside Gibbs's own update: what the same arithmetic costs in
a practical CPU implementation (OpenBLAS matmuls, vectorised elementwise work, flat Adam).

One update, as MFQ.train does it (mfq.ts), on a batch of B transitions:
  1. gather B rows (s, abar, a, r, done, s', abar') from a replay held in memory
  2. upload: the mfrl net's conv1 im2col, or the population net's view encoder (encodeView)
  3. forward on s' through the online and the target nets; double-Q target
       y = r + gamma (1 - done) Q_target(s', argmax_a Q_online(s', a), abar')
  4. forward on s (online, caching activations); L = sum_k w_k (y_k - Q(s_k, a_k))^2 / sum_k w_k
  5. hand-written backward (ReLU masks, dW = x^T g, dx = g W^T, conv2's col2im)
  6. Adam on the flat parameter vector after global-norm clipping (gradClip 10, lr 3e-4)
  7. the target's soft update phi- <- tau phi + (1 - tau) phi- (tau 0.05)

Networks (ReLU everywhere but the output), exactly as nets.ts:
  mfrl:       view HxWxC -> conv3x3 32 -> conv3x3 32 -> flatten (y, x, c) -> dense 256;
              features -> dense 32; mean action -> dense 64 -> dense 32;
              concat [view, features, mean] -> dense 128 -> dense 64 -> A
  population: [5x5 centre crop (y, x, c), per-channel means over the 5x5 band grid (by, bx, c),
              features] (274 floats on Battle) -> dense 128 -> dense 64; mean action -> dense 32;
              concat [torso, mean] -> dense 64 -> A
Convolution weights are [9*in, out], rows in (dy, dx, c) order (TF's HWIO kernel flattened).

Usage:
  python3 bench/numpy/mfq_update.py --net mfrl|population [--batch 128] [--reps 20]
      [--view 13 13 5] [--features 24] [--actions 21] [--check] [--parity DIR]
Prints one JSON line: ms per update, samples/s, GFLOP/s (forward + backward counted as 3x the
forward FLOPs, as `gibbs bench learn` counts), forward rows/s at 64 and 1024 rows.
  --check       also verify the hand-written gradient against central finite differences (float64,
                a few weights of every parameter tensor) and report the worst relative error.
  --parity DIR  also load a network's weights, a batch and its Q-values written by Gibbs
                (bench/mfrl.bench.ts) and report the largest difference of our forward pass.
The BLAS thread count is OpenBLAS's (OPENBLAS_NUM_THREADS; both cores by default).
"""

import argparse
import json
import os
import sys
import time

import numpy as np

# ---------------------------------------------------------------------------------------------
# Shapes and parameters


def pool_bands(size, r, outer):
    """nets.ts poolBands: band starts around the centre crop, empty bands dropped."""
    c = (size - 1) >> 1
    lo = c - r
    hi = c + r + 1
    cuts = [0]
    for k in range(1, outer):
        cuts.append(int(np.floor(lo * k / outer + 0.5)))  # Math.round
    cuts += [lo, hi]
    for k in range(1, outer):
        cuts.append(hi + int(np.floor((size - hi) * k / outer + 0.5)))
    cuts.append(size)
    return [v for i, v in enumerate(cuts) if i == 0 or v > cuts[i - 1]]


class Shape:
    def __init__(self, h, w, c, features, actions):
        self.h, self.w, self.c, self.f, self.a = h, w, c, features, actions
        self.crop = min(2, (min(h, w) - 1) >> 1)
        self.rows = pool_bands(h, self.crop, 2)
        self.cols = pool_bands(w, self.crop, 2)
        side = 2 * self.crop + 1
        self.enc_size = (side * side + (len(self.rows) - 1) * (len(self.cols) - 1)) * c


def layer_specs(net, s):
    """(name, fan_in, fan_out) of every dense/conv layer, in nets.ts's ParamSet order."""
    if net == "mfrl":
        flat = (s.h - 4) * (s.w - 4) * 32
        torso = [
            ("torso/conv1", 9 * s.c, 32),
            ("torso/conv2", 9 * 32, 32),
            ("torso/view_dense", flat, 256),
        ]
        out = 256
        if s.f > 0:
            torso.append(("torso/feat_dense", s.f, 32))
            out += 32
        mean = [("mf/mean1", s.a, 64), ("mf/mean2", 64, 32)]
        head = [("q/dense1", out + 32, 128), ("q/dense2", 128, 64), ("q/out", 64, s.a)]
    else:
        torso = [("torso/enc1", s.enc_size + s.f, 128), ("torso/enc2", 128, 64)]
        mean = [("mf/mean1", s.a, 32)]
        head = [("q/dense1", 64 + 32, 64), ("q/out", 64, s.a)]
    return torso + mean + head


def forward_flops(net, s):
    """nets.ts forwardFlops (Q-network, mean-field): 2 x multiply-adds per sample."""
    f = 0
    for name, i, o in layer_specs(net, s):
        if name == "torso/conv1":
            f += 2 * (s.h - 2) * (s.w - 2) * i * o
        elif name == "torso/conv2":
            f += 2 * (s.h - 4) * (s.w - 4) * i * o
        else:
            f += 2 * i * o
    return f


class Params:
    """All weights in one flat vector (Adam and soft updates are one vectorised pass)."""

    def __init__(self, net, s, rng, dtype):
        self.specs = layer_specs(net, s)
        self.names, self.shapes = [], []
        for name, i, o in self.specs:
            self.names += [f"{name}/w", f"{name}/b"]
            self.shapes += [(i, o), (o,)]
        sizes = [int(np.prod(sh)) for sh in self.shapes]
        self.flat = np.zeros(sum(sizes), dtype)
        self.views = {}
        off = 0
        for name, sh, n in zip(self.names, self.shapes, sizes):
            self.views[name] = self.flat[off : off + n].reshape(sh)
            off += n
        for name, i, o in self.specs:
            conv = "conv" in name
            fi, fo = (i, 9 * o) if conv else (i, o)  # ParamSet.conv's Glorot fans
            lim = np.sqrt(6 / (fi + fo))
            self.views[f"{name}/w"][...] = rng.uniform(-lim, lim, (i, o))

    def w(self, name):
        return self.views[f"{name}/w"]

    def b(self, name):
        return self.views[f"{name}/b"]

    def like(self):
        """A zero vector with the same named views (for gradients)."""
        g = object.__new__(Params)
        g.specs, g.names, g.shapes = self.specs, self.names, self.shapes
        g.flat = np.zeros_like(self.flat)
        g.views = {}
        off = 0
        for name, sh in zip(self.names, self.shapes):
            n = int(np.prod(sh))
            g.views[name] = g.flat[off : off + n].reshape(sh)
            off += n
        return g


# ---------------------------------------------------------------------------------------------
# Upload: conv1's im2col / the population encoder


def im2col3x3(x):
    """[n, h, w, c] -> [n*(h-2)*(w-2), 9c], columns in (dy, dx, c) order."""
    n, h, w, c = x.shape
    oh, ow = h - 2, w - 2
    out = np.empty((n, oh, ow, 9, c), x.dtype)
    for dy in range(3):
        for dx in range(3):
            out[:, :, :, dy * 3 + dx, :] = x[:, dy : dy + oh, dx : dx + ow, :]
    return out.reshape(n * oh * ow, 9 * c)


def col2im3x3(cols, n, h, w, c):
    """The adjoint of im2col3x3: [n*(h-2)*(w-2), 9c] -> [n, h, w, c] (overlaps added)."""
    oh, ow = h - 2, w - 2
    g = cols.reshape(n, oh, ow, 9, c)
    out = np.zeros((n, h, w, c), cols.dtype)
    for dy in range(3):
        for dx in range(3):
            out[:, dy : dy + oh, dx : dx + ow, :] += g[:, :, :, dy * 3 + dx, :]
    return out


def encode_view(s, view, features):
    """nets.ts encodeView: centre crop, block means over the band grid, then the features."""
    n = view.shape[0]
    v = view.reshape(n, s.h, s.w, s.c)
    cy, cx, r = (s.h - 1) >> 1, (s.w - 1) >> 1, s.crop
    crop = v[:, cy - r : cy + r + 1, cx - r : cx + r + 1, :].reshape(n, -1)
    rows, cols = np.array(s.rows), np.array(s.cols)
    sums = np.add.reduceat(np.add.reduceat(v, rows[:-1], axis=1), cols[:-1], axis=2)
    area = np.diff(rows)[:, None] * np.diff(cols)[None, :]
    means = (sums / area[None, :, :, None]).astype(view.dtype).reshape(n, -1)
    return np.concatenate([crop, means, features], axis=1)


def upload(net, s, obs):
    """What the network's first matmul reads, built once per batch (no gradient flows into it)."""
    view, feat, mean = obs
    if net == "mfrl":
        n = view.shape[0]
        return im2col3x3(view.reshape(n, s.h, s.w, s.c)), feat, mean
    return encode_view(s, view, feat), None, mean


# ---------------------------------------------------------------------------------------------
# Forward and backward


def dense_f(x, p, name, relu, cache):
    y = x @ p.w(name)
    y += p.b(name)
    if relu:
        np.maximum(y, 0, out=y)
    if cache is not None:
        cache[name] = (x, y)
    return y


def dense_b(dy, p, g, name, relu, cache, need_dx=True):
    x, y = cache[name]
    gy = dy * (y > 0) if relu else dy
    np.matmul(x.T, gy, out=g.w(name))
    np.sum(gy, axis=0, out=g.b(name))
    return gy @ p.w(name).T if need_dx else None


def forward(net, s, p, inp, cache=None):
    """Q-values [n, A] of an uploaded batch; `cache` (a dict) keeps what backward needs."""
    x, feat, mean = inp
    if net == "mfrl":
        n = mean.shape[0]
        h1 = dense_f(x, p, "torso/conv1", True, cache).reshape(n, s.h - 2, s.w - 2, 32)
        cols2 = im2col3x3(h1)
        h2 = dense_f(cols2, p, "torso/conv2", True, cache).reshape(n, -1)
        parts = [dense_f(h2, p, "torso/view_dense", True, cache)]
        if s.f > 0:
            parts.append(dense_f(feat, p, "torso/feat_dense", True, cache))
        m = dense_f(mean, p, "mf/mean1", True, cache)
        parts.append(dense_f(m, p, "mf/mean2", True, cache))
        z = np.concatenate(parts, axis=1)
        h = dense_f(z, p, "q/dense1", True, cache)
        h = dense_f(h, p, "q/dense2", True, cache)
        return dense_f(h, p, "q/out", False, cache)
    h = dense_f(x, p, "torso/enc1", True, cache)
    h = dense_f(h, p, "torso/enc2", True, cache)
    m = dense_f(mean, p, "mf/mean1", True, cache)
    z = np.concatenate([h, m], axis=1)
    h = dense_f(z, p, "q/dense1", True, cache)
    return dense_f(h, p, "q/out", False, cache)


def backward(net, s, p, g, cache, dq):
    """Gradients of every parameter into g (flat), given dL/dQ [n, A]."""
    n = dq.shape[0]
    if net == "mfrl":
        dh = dense_b(dq, p, g, "q/out", False, cache)
        dh = dense_b(dh, p, g, "q/dense2", True, cache)
        dz = dense_b(dh, p, g, "q/dense1", True, cache)
        o = 256
        dh2 = dense_b(dz[:, :o], p, g, "torso/view_dense", True, cache)
        if s.f > 0:
            dense_b(dz[:, o : o + 32], p, g, "torso/feat_dense", True, cache, need_dx=False)
            o += 32
        dm = dense_b(dz[:, o:], p, g, "mf/mean2", True, cache)
        dense_b(dm, p, g, "mf/mean1", True, cache, need_dx=False)
        dcols2 = dense_b(dh2.reshape(-1, 32), p, g, "torso/conv2", True, cache)
        dh1 = col2im3x3(dcols2, n, s.h - 2, s.w - 2, 32).reshape(-1, 32)
        dense_b(dh1, p, g, "torso/conv1", True, cache, need_dx=False)
        return
    dh = dense_b(dq, p, g, "q/out", False, cache)
    dz = dense_b(dh, p, g, "q/dense1", True, cache)
    dh = dense_b(dz[:, :64], p, g, "torso/enc2", True, cache)
    dense_b(dh, p, g, "torso/enc1", True, cache, need_dx=False)
    dense_b(dz[:, 64:], p, g, "mf/mean1", True, cache, need_dx=False)


# ---------------------------------------------------------------------------------------------
# The update


class Learner:
    def __init__(self, net, s, batch, rng, dtype=np.float32, capacity=4096):
        self.net, self.s, self.B, self.dtype = net, s, batch, dtype
        self.online = Params(net, s, rng, dtype)
        self.target = Params(net, s, rng, dtype)
        self.target.flat[:] = self.online.flat
        self.grad = self.online.like()
        self.m = np.zeros_like(self.online.flat)
        self.v = np.zeros_like(self.online.flat)
        self.t = 0
        self.lr, self.b1, self.b2, self.eps = 3e-4, 0.9, 0.999, 1e-8
        self.gamma, self.tau, self.clip = 0.95, 0.05, 10.0
        # A replay of Battle-like rows: sparse 0/1 views, small features, mean actions.
        vs = s.h * s.w * s.c
        self.cap = capacity
        self.r_view = (rng.random((capacity, vs)) < 0.15).astype(dtype)
        self.r_feat = rng.random((capacity, s.f)).astype(dtype)
        mean = rng.random((capacity, s.a)).astype(dtype)
        self.r_mean = mean / mean.sum(1, keepdims=True)
        self.r_action = rng.integers(0, s.a, capacity)
        self.r_reward = rng.normal(0, 0.1, capacity).astype(dtype)
        self.r_done = (rng.random(capacity) < 0.01).astype(dtype)
        self.r_next = (np.arange(capacity) + 1) % capacity
        self.rng = rng

    def sample(self, B):
        rows = self.rng.integers(0, self.cap, B)
        nxt = self.r_next[rows]
        return (
            (self.r_view[rows], self.r_feat[rows], self.r_mean[rows]),
            (self.r_view[nxt], self.r_feat[nxt], self.r_mean[nxt]),
            self.r_action[rows],
            self.r_reward[rows],
            self.r_done[rows],
            np.ones(B, self.dtype),
        )

    def target_y(self, nxt, reward, done):
        inp = upload(self.net, self.s, nxt)
        q_on = forward(self.net, self.s, self.online, inp)
        q_tg = forward(self.net, self.s, self.target, inp)
        a = np.argmax(q_on, axis=1)
        v = q_tg[np.arange(len(a)), a]
        return reward + self.gamma * (1 - done) * v

    def loss_grad(self, inp, action, y, w):
        """L and dL/dparams (into self.grad) with the target y held constant."""
        cache = {}
        q = forward(self.net, self.s, self.online, inp, cache)
        idx = np.arange(len(action))
        delta = y - q[idx, action]
        W = w.sum()
        loss = float(np.sum(w * delta * delta) / W)
        dq = np.zeros_like(q)
        dq[idx, action] = -2 * w * delta / W
        backward(self.net, self.s, self.online, self.grad, cache, dq)
        return loss

    def adam(self):
        g = self.grad.flat
        self.t += 1
        c1 = 1 - self.b1**self.t
        c2 = 1 - self.b2**self.t
        norm = float(np.sqrt(np.dot(g, g)))
        scale = min(1.0, self.clip / (norm + 1e-6))
        if scale != 1.0:
            g *= scale
        self.m *= self.b1
        self.m += (1 - self.b1) * g
        self.v *= self.b2
        self.v += (1 - self.b2) * (g * g)
        den = np.sqrt(self.v * (1 / c2))
        den += self.eps
        self.online.flat -= (self.lr / c1) * self.m / den

    def update(self):
        obs, nxt, action, reward, done, w = self.sample(self.B)
        y = self.target_y(nxt, reward, done)
        loss = self.loss_grad(upload(self.net, self.s, obs), action, y, w)
        self.adam()
        self.target.flat *= 1 - self.tau
        self.target.flat += self.tau * self.online.flat
        return loss

    def act_forward(self, n):
        """One acting forward pass over n rows (upload included), as rows/s is measured."""
        obs = (self.r_view[:n], self.r_feat[:n], self.r_mean[:n])
        return forward(self.net, self.s, self.online, upload(self.net, self.s, obs))


# ---------------------------------------------------------------------------------------------
# Checks


def grad_check(net, s, seed=3, batch=6, per_tensor=3):
    """Analytic vs central-difference gradients (float64), a few weights of every tensor."""
    rng = np.random.default_rng(seed)
    L = Learner(net, s, batch, rng, dtype=np.float64, capacity=64)
    # Biases start at zero; give them (and every weight) a nudge so that no unit sits dead.
    L.online.flat += rng.normal(0, 0.02, L.online.flat.shape)
    L.target.flat[:] = L.online.flat
    obs, nxt, action, reward, done, w = L.sample(batch)
    w = rng.uniform(0.5, 1.5, batch)
    y = L.target_y(nxt, reward, done)
    inp = upload(net, s, obs)
    L.loss_grad(inp, action, y, w)
    analytic = L.grad.flat.copy()
    worst = 0.0
    checked = 0
    h = 1e-6
    off = 0
    for name, sh in zip(L.online.names, L.online.shapes):
        size = int(np.prod(sh))
        for k in rng.choice(size, min(per_tensor, size), replace=False):
            i = off + int(k)
            keep = L.online.flat[i]
            L.online.flat[i] = keep + h
            lp = L.loss_grad(inp, action, y, w)
            L.online.flat[i] = keep - h
            lm = L.loss_grad(inp, action, y, w)
            L.online.flat[i] = keep
            num = (lp - lm) / (2 * h)
            err = abs(num - analytic[i]) / max(1e-7, abs(num) + abs(analytic[i]))
            worst = max(worst, err)
            checked += 1
        off += size
    return {"weights_checked": checked, "max_rel_error": float(worst), "ok": bool(worst < 1e-4)}


def parity(net, s, d):
    """Our forward pass on Gibbs's weights and batch against Gibbs's Q-values."""
    meta = json.load(open(os.path.join(d, f"{net}.json")))
    p = Params(net, s, np.random.default_rng(0), np.float32)
    flat = np.fromfile(os.path.join(d, f"{net}.params.f32"), np.float32)
    if meta["names"] != p.names or flat.size != p.flat.size:
        raise SystemExit(f"parity: parameter layout differs: {meta['names']} vs {p.names}")
    p.flat[:] = flat
    n = meta["n"]
    view = np.fromfile(os.path.join(d, f"{net}.view.f32"), np.float32).reshape(n, -1)
    feat = np.fromfile(os.path.join(d, f"{net}.features.f32"), np.float32).reshape(n, -1)
    mean = np.fromfile(os.path.join(d, f"{net}.mean.f32"), np.float32).reshape(n, -1)
    q_gibbs = np.fromfile(os.path.join(d, f"{net}.q.f32"), np.float32).reshape(n, -1)
    q = forward(net, s, p, upload(net, s, (view, feat, mean)))
    diff = float(np.max(np.abs(q - q_gibbs)))
    scale = float(np.max(np.abs(q_gibbs)))
    return {"rows": n, "max_abs_diff": diff, "max_abs_q": scale, "ok": bool(diff <= 1e-4 * max(1, scale))}


# ---------------------------------------------------------------------------------------------


def median_ms(fn, reps, warmup=2):
    for _ in range(warmup):
        fn()
    t = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        t.append((time.perf_counter() - t0) * 1000)
    t.sort()
    return t[len(t) // 2], t[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--net", choices=["mfrl", "population"], required=True)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--view", type=int, nargs=3, default=[13, 13, 5])
    ap.add_argument("--features", type=int, default=24)
    ap.add_argument("--actions", type=int, default=21)
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--parity", default=None)
    a = ap.parse_args()
    s = Shape(*a.view, a.features, a.actions)
    L = Learner(a.net, s, a.batch, np.random.default_rng(1))
    flops = forward_flops(a.net, s)
    ms, best = median_ms(L.update, a.reps)
    fwd = {}
    for n in (64, 1024):
        f_ms, _ = median_ms(lambda n=n: L.act_forward(n), max(3, a.reps // 2))
        fwd[str(n)] = n * 1000 / f_ms
    out = {
        "net": a.net,
        "batch": a.batch,
        "dtype": "float32",
        "numpy": np.__version__,
        "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS", "default"),
        "flops_per_agent_forward": flops,
        "encoded_inputs": s.enc_size + s.f if a.net == "population" else None,
        "params": int(L.online.flat.size),
        "reps": a.reps,
        "ms_per_update": ms,
        "best_ms_per_update": best,
        "samples_per_s": a.batch * 1000 / ms,
        "update_gflops": 3 * flops * a.batch / ms / 1e6,
        "forward_rows_per_s": fwd,
        "forward_gflops_1024": flops * fwd["1024"] / 1e9,
    }
    if a.check:
        out["grad_check"] = grad_check(a.net, s)
    if a.parity:
        out["parity"] = parity(a.net, s, a.parity)
    print(json.dumps(out))
    bad = [k for k in ("grad_check", "parity") if k in out and not out[k]["ok"]]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
