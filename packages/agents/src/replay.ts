/**
 * Bounded experience memory in flat typed arrays, optionally prioritised (Schaul et al. 2016,
 * "Prioritized Experience Replay": P(i) = p_i^alpha / sum_k p_k^alpha, importance weights
 * w_i = (N P(i))^-beta / max_j w_j).
 *
 * One row per agent per step it was alive: its observation, the mean action it saw, the action it
 * took and the reward it got. A row links to the row that holds the agent's next observation
 * (`next`), so each observation is stored once instead of twice (s and s'). Rows are written in
 * time order into a ring, and a row's successor is always newer than the row, so when the ring
 * wraps the older row is overwritten first: a live row never points at an overwritten one.
 * A row becomes sampleable ("ready") once its successor is written or the agent's episode ended
 * by the rules (done). A row written only to hold a last observation (time-limit truncation) has
 * no action and is never sampled.
 *
 * Sampling always goes through a sum tree (uniform replay = every ready row has priority 1), so
 * both modes share one code path and sampling costs O(log capacity) per draw.
 */
import { GibbsError, type Rng } from '@gibbs/core';

export interface ReplayShape {
  /** Maximum number of rows; rounded up to a power of two. */
  capacity: number;
  viewSize: number;
  features: number;
  /** Length of the stored mean action (0 for variants without one). */
  meanSize: number;
}

export interface PriorityOptions {
  /** 0 = uniform; Schaul et al.'s alpha otherwise. */
  alpha: number;
  /** Added to |TD error| so no row's priority is 0. */
  eps: number;
}

/** A sampled batch: row indices and their importance-sampling weights. */
export interface Sample {
  rows: Int32Array;
  weights: Float32Array;
  /** Effective sample size of the weights, (sum w)^2 / sum w^2 (= batch size when uniform). */
  ess: number;
}

export class Replay {
  readonly capacity: number;
  readonly view: Float32Array;
  readonly features: Float32Array;
  readonly mean: Float32Array;
  readonly action: Int32Array;
  readonly reward: Float32Array;
  readonly done: Uint8Array;
  readonly next: Int32Array;
  readonly ready: Uint8Array;
  /** Sum tree over priorities^alpha: leaves at [capacity, 2 capacity). */
  private readonly tree: Float64Array;
  /** Next row to write, rows written in total. */
  private head = 0;
  private written = 0;
  private maxPriority = 1;
  private readyCount = 0;

  constructor(
    readonly shape: ReplayShape,
    readonly priority: PriorityOptions = { alpha: 0, eps: 1e-3 },
  ) {
    if (!(Number.isInteger(shape.capacity) && shape.capacity >= 2)) {
      throw GibbsError.invalid('replay.capacity', shape.capacity, 'an integer >= 2');
    }
    let cap = 2;
    while (cap < shape.capacity) cap *= 2;
    this.capacity = cap;
    this.view = new Float32Array(cap * shape.viewSize);
    this.features = new Float32Array(cap * shape.features);
    this.mean = new Float32Array(cap * shape.meanSize);
    this.action = new Int32Array(cap);
    this.reward = new Float32Array(cap);
    this.done = new Uint8Array(cap);
    this.next = new Int32Array(cap).fill(-1);
    this.ready = new Uint8Array(cap);
    this.tree = new Float64Array(2 * cap);
  }

  /** Rows currently held (at most capacity). */
  get size(): number {
    return Math.min(this.written, this.capacity);
  }

  /** Rows written since the start (or the last clear). */
  get totalWritten(): number {
    return this.written;
  }

  /** Rows that can be sampled now. */
  get readySize(): number {
    return this.readyCount;
  }

  get prioritized(): boolean {
    return this.priority.alpha > 0;
  }

  clear(): void {
    this.head = 0;
    this.written = 0;
    this.maxPriority = 1;
    this.readyCount = 0;
    this.tree.fill(0);
    this.ready.fill(0);
    this.next.fill(-1);
  }

  /**
   * Write one observation row (copied from row `src` of `view` and `features`, with the mean
   * action `mean[0 .. meanSize)`) and return its index. The row is not ready until `link` or
   * `finish` says how it continues.
   */
  write(
    view: Float32Array,
    features: Float32Array,
    src: number,
    mean: Float32Array | null,
    action: number,
  ): number {
    const r = this.head;
    if (this.ready[r]) this.setReady(r, false);
    const { viewSize: vs, features: fs, meanSize: ms } = this.shape;
    if (vs > 0) this.view.set(view.subarray(src * vs, (src + 1) * vs), r * vs);
    if (fs > 0) this.features.set(features.subarray(src * fs, (src + 1) * fs), r * fs);
    if (ms > 0 && mean) this.mean.set(mean.subarray(0, ms), r * ms);
    this.action[r] = action;
    this.reward[r] = 0;
    this.done[r] = 0;
    this.next[r] = -1;
    this.head = (r + 1) % this.capacity;
    this.written++;
    return r;
  }

  /** Row `r` got `reward` and the agent's episode ended by the rules: ready, no bootstrap. */
  finish(r: number, reward: number): void {
    this.reward[r] = reward;
    this.done[r] = 1;
    this.next[r] = -1;
    this.setReady(r, true);
  }

  /** Row `r` got `reward` and continues at row `next`: ready, bootstraps from `next`. */
  link(r: number, reward: number, next: number): void {
    this.reward[r] = reward;
    this.done[r] = 0;
    this.next[r] = next;
    this.setReady(r, true);
  }

  private setReady(r: number, on: boolean): void {
    if (on && !this.ready[r]) this.readyCount++;
    if (!on && this.ready[r]) this.readyCount--;
    this.ready[r] = on ? 1 : 0;
    this.setLeaf(r, on ? (this.prioritized ? this.maxPriority ** this.priority.alpha : 1) : 0);
  }

  private setLeaf(r: number, p: number): void {
    let i = r + this.capacity;
    this.tree[i] = p;
    for (i >>= 1; i >= 1; i >>= 1) this.tree[i] = this.tree[2 * i] + this.tree[2 * i + 1];
  }

  /** Total priority mass (sum of p_i^alpha over ready rows). */
  get total(): number {
    return this.tree[1];
  }

  /** The leaf whose cumulative mass interval holds u in [0, total). */
  private find(u: number): number {
    let i = 1;
    while (i < this.capacity) {
      const left = this.tree[2 * i];
      if (u < left) i = 2 * i;
      else {
        u -= left;
        i = 2 * i + 1;
      }
    }
    return i - this.capacity;
  }

  /** P(i) of a ready row. */
  probability(r: number): number {
    return this.tree[r + this.capacity] / this.total;
  }

  /**
   * Draw `batch` rows, stratified: one uniform draw in each of `batch` equal slices of the
   * priority mass. Importance weights w_i = (N P(i))^-beta, normalised by their maximum.
   */
  sample(batch: number, beta: number, rng: Rng): Sample {
    if (this.readyCount === 0) throw new Error('Replay.sample: no ready rows');
    const rows = new Int32Array(batch);
    const weights = new Float32Array(batch);
    const total = this.total;
    const seg = total / batch;
    const n = this.readyCount;
    let wmax = 0;
    for (let k = 0; k < batch; k++) {
      let r = this.find(Math.min((k + rng.float()) * seg, total * (1 - 1e-12)));
      // Float rounding can land on a zero leaf at an interval's edge: step to a ready row.
      while (!this.ready[r]) r = this.find(rng.float() * total);
      rows[k] = r;
      const w = (n * this.probability(r)) ** -beta;
      weights[k] = w;
      if (w > wmax) wmax = w;
    }
    let s = 0;
    let s2 = 0;
    for (let k = 0; k < batch; k++) {
      weights[k] /= wmax;
      s += weights[k];
      s2 += weights[k] * weights[k];
    }
    return { rows, weights, ess: (s * s) / s2 };
  }

  /** New priorities p_i = |delta_i| + eps of sampled rows (prioritised mode only). */
  updatePriorities(rows: Int32Array, tdErrors: Float32Array): void {
    if (!this.prioritized) return;
    for (let k = 0; k < rows.length; k++) {
      const r = rows[k];
      if (!this.ready[r]) continue;
      const p = Math.abs(tdErrors[k]) + this.priority.eps;
      if (p > this.maxPriority) this.maxPriority = p;
      this.setLeaf(r, p ** this.priority.alpha);
    }
  }

  /** Ready rows, oldest first (for on-policy passes over a round's experience). */
  readyRows(): Int32Array {
    const out = new Int32Array(this.readyCount);
    let k = 0;
    const n = this.size;
    const start = this.written > this.capacity ? this.head : 0;
    for (let j = 0; j < n; j++) {
      const r = (start + j) % this.capacity;
      if (this.ready[r]) out[k++] = r;
    }
    return out;
  }

  /**
   * The state as named typed arrays plus scalars, for checkpoints: the per-row arrays only up to
   * the rows ever written (views into this memory: copy or write them out before changing it).
   */
  snapshot(): { scalars: Record<string, number>; arrays: Record<string, ArrayBufferView> } {
    const n = this.size;
    const rows = <T extends Float32Array | Int32Array | Uint8Array>(a: T, per: number) =>
      a.subarray(0, n * per) as T;
    const { viewSize: vs, features: fs, meanSize: ms } = this.shape;
    return {
      scalars: {
        capacity: this.capacity,
        head: this.head,
        written: this.written,
        maxPriority: this.maxPriority,
        readyCount: this.readyCount,
      },
      arrays: {
        view: rows(this.view, vs),
        features: rows(this.features, fs),
        mean: rows(this.mean, ms),
        action: rows(this.action, 1),
        reward: rows(this.reward, 1),
        done: rows(this.done, 1),
        next: rows(this.next, 1),
        ready: rows(this.ready, 1),
        tree: this.tree,
      },
    };
  }

  restore(scalars: Record<string, number>, arrays: Record<string, ArrayBufferView>): void {
    if (scalars.capacity !== this.capacity) {
      throw GibbsError.invalid('replay.capacity', scalars.capacity, String(this.capacity));
    }
    this.clear();
    this.written = scalars.written;
    const own = this.snapshot().arrays;
    for (const [name, dst] of Object.entries(own)) {
      const src = arrays[name];
      if (!src || src.byteLength !== dst.byteLength || src.constructor !== dst.constructor) {
        this.clear();
        throw GibbsError.invalid(
          `replay.${name}`,
          src ? `${src.constructor.name}(${src.byteLength} bytes)` : 'missing',
          `${dst.constructor.name}(${dst.byteLength} bytes)`,
        );
      }
      (dst as unknown as { set(a: ArrayLike<number>): void }).set(
        src as unknown as ArrayLike<number>,
      );
    }
    this.head = scalars.head;
    this.maxPriority = scalars.maxPriority;
    this.readyCount = scalars.readyCount;
  }
}
