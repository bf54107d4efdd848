#!/usr/bin/env python3
"""
NumPy/OpenBLAS float32 n x n matmul rate (GFLOP/s = 2 n^3 / time), the practical CPU limit that
`pnpm bench mfrl` compares Gibbs's update rate with. Threads: OpenBLAS's default (every core)
unless OPENBLAS_NUM_THREADS is set. Prints one JSON line with the median and the best rep.

  python3 bench/numpy/matmul.py [--n 1024] [--reps 20]
"""

import argparse
import json
import os
import time

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1024)
    ap.add_argument("--reps", type=int, default=20)
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    x = rng.random((a.n, a.n), np.float32)
    y = rng.random((a.n, a.n), np.float32)
    out = np.empty((a.n, a.n), np.float32)
    for _ in range(3):
        np.matmul(x, y, out=out)
    t = []
    for _ in range(a.reps):
        t0 = time.perf_counter()
        np.matmul(x, y, out=out)
        t.append(time.perf_counter() - t0)
    t.sort()
    flop = 2 * a.n**3
    print(
        json.dumps(
            {
                "n": a.n,
                "reps": a.reps,
                "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS", "default"),
                "ms": t[len(t) // 2] * 1000,
                "gflops": flop / t[len(t) // 2] / 1e9,
                "best_gflops": flop / t[0] / 1e9,
            }
        )
    )


if __name__ == "__main__":
    main()
