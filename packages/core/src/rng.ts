/**
 * Seeded randomness. One seed gives one stream, the same in the main thread, in a worker and in the
 * browser: xoshiro128** (Blackman & Vigna) on 32-bit integer state, seeded through SplitMix32.
 * Every environment and agent owns its own `Rng`; nothing in Gibbs calls `Math.random`.
 */

function splitmix32(state: number): [number, number] {
  state = (state + 0x9e3779b9) | 0;
  let z = state;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return [state, (z ^ (z >>> 16)) >>> 0];
}

export class Rng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;

  constructor(seed: number) {
    this.reseed(seed);
  }

  /** Restart the stream from `seed` (any finite number; its integer part and sign are used). */
  reseed(seed: number): void {
    if (!Number.isFinite(seed))
      throw new RangeError(`Rng seed must be a finite number, got ${seed}`);
    // Fold the full 53-bit integer range into the 32-bit SplitMix state.
    const hi = Math.floor(seed / 0x100000000) | 0;
    let st = (seed | 0) ^ Math.imul(hi, 0x27d4eb2d);
    let out: number;
    [st, out] = splitmix32(st);
    this.s0 = out;
    [st, out] = splitmix32(st);
    this.s1 = out;
    [st, out] = splitmix32(st);
    this.s2 = out;
    [st, out] = splitmix32(st);
    this.s3 = out;
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** A uniform unsigned 32-bit integer. */
  u32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** A uniform float in [0, 1) with 32 bits of resolution. */
  float(): number {
    return this.u32() / 4294967296;
  }

  /** A uniform float in [0, 1) with 53 bits of resolution. */
  float53(): number {
    return ((this.u32() >>> 5) * 67108864 + (this.u32() >>> 6)) / 9007199254740992;
  }

  /** A uniform integer in [0, n). Exact (Lemire's rejection) for n <= 2^21, 53-bit float above. */
  int(n: number): number {
    if (!(n >= 1 && n <= 9007199254740992)) {
      throw new RangeError(`Rng.int bound must be in [1, 2^53], got ${n}`);
    }
    if (n > 2097152) return Math.floor(this.float53() * n);
    // x * n < 2^53 here, so the product is exact; rejecting low parts below the threshold removes
    // the modulo bias.
    const threshold = (4294967296 - n) % n;
    for (;;) {
      const m = this.u32() * n;
      if (m % 4294967296 >= threshold) return Math.floor(m / 4294967296);
    }
  }

  /** A standard normal draw (Box-Muller; one of the pair is discarded to keep the state simple). */
  normal(): number {
    let u = 0;
    while (u === 0) u = this.float();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.float());
  }

  /** Shuffle in place (Fisher-Yates). */
  shuffle<T extends { length: number; [i: number]: number }>(a: T, n = a.length): T {
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }

  /** Draw an index from unnormalised non-negative weights `w[off .. off+n)`. */
  categorical(w: ArrayLike<number>, off = 0, n = w.length - off): number {
    let total = 0;
    for (let i = 0; i < n; i++) total += w[off + i];
    let r = this.float() * total;
    for (let i = 0; i < n - 1; i++) {
      r -= w[off + i];
      if (r < 0) return i;
    }
    return n - 1;
  }

  /** A child stream whose seed is drawn from this one: for giving each component its own stream. */
  fork(): Rng {
    return new Rng(this.u32() * 2097152 + (this.u32() >>> 11));
  }

  /** The full state, for checkpoints. */
  getState(): [number, number, number, number] {
    return [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0];
  }

  setState(state: readonly number[]): void {
    if (state.length !== 4 || state.some((v) => !Number.isInteger(v))) {
      throw new RangeError(`Rng state must be 4 integers, got ${JSON.stringify(state)}`);
    }
    if (state.every((v) => (v | 0) === 0)) {
      throw new RangeError('Rng state must not be all zero: xoshiro128** would output 0 forever');
    }
    [this.s0, this.s1, this.s2, this.s3] = state.map((v) => v | 0);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
