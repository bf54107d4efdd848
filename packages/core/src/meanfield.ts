/**
 * Mean actions for mean-field MARL (Yang et al., "Mean Field Multi-Agent Reinforcement Learning",
 * ICML 2018). Agent j's Q-function takes the mean action of its neighbours,
 *
 *   ā^j = (1 / N^j) Σ_{k ∈ N(j)} a^k                      (Yang et al. 2018, the mean action)
 *
 * with a^k the one-hot action of neighbour k. Two neighbourhoods are provided:
 *
 * - `groupMeanAction`: N(j) = every live agent of j's group (what mlii/mfrl feeds its Battle
 *   networks: one mean action per group, from the previous step). One vector per group; this sum
 *   includes agent j itself, as mfrl's does: with 64 agents the difference is 1/64 and a per-group
 *   vector is what makes the mean action cost nothing per agent.
 * - `LocalMeanField`: N(j) = the live agents within Chebyshev distance `radius` of j (a square
 *   window of side 2r + 1 centred on j), j itself excluded as in the paper's sum over k ∈ N(j).
 *   All agents are served at once with a summed-area table (2-D prefix sums) of per-cell action
 *   counts: building it costs O(cells * actions), each agent then reads its window's counts with
 *   four lookups per action, so the total is O(N * actions + cells * actions) whatever the radius.
 *
 * Positions, actions and masks are struct-of-arrays (x, y, alive, actions: one entry per agent
 * slot), so any grid environment can use these functions; output rows are written into
 * preallocated Float32Arrays of N * actions floats (row i = agent slot i).
 */
import { GibbsError } from './errors.ts';

function checkLength(field: string, arr: ArrayLike<number>, n: number): void {
  if (arr.length < n) throw GibbsError.invalid(field, arr, `at least ${n} entries`);
}

function checkAction(field: string, slot: number, a: number, nActions: number): void {
  if (!(a >= 0 && a < nActions && Number.isInteger(a))) {
    throw GibbsError.invalid(`${field}[${slot}]`, a, `an action in [0, ${nActions})`);
  }
}

/**
 * The mean one-hot action over the live agents `alive[i] = 1` of one group. Returns `out` (length
 * `nActions`), all zeros when no agent is alive.
 */
export function groupMeanAction(
  actions: Int32Array,
  alive: Uint8Array,
  nActions: number,
  out: Float32Array = new Float32Array(nActions),
): Float32Array {
  if (!(Number.isInteger(nActions) && nActions >= 1))
    throw GibbsError.invalid('nActions', nActions, 'an integer >= 1');
  checkLength('alive', alive, actions.length);
  checkLength('out', out, nActions);
  out.fill(0, 0, nActions);
  let live = 0;
  for (let i = 0; i < actions.length; i++) {
    if (!alive[i]) continue;
    const a = actions[i];
    checkAction('actions', i, a, nActions);
    out[a] += 1;
    live++;
  }
  if (live > 0) for (let a = 0; a < nActions; a++) out[a] /= live;
  return out;
}

export interface LocalMeanFieldOptions {
  /** Grid size in cells; positions lie in [0, width) x [0, height). */
  width: number;
  height: number;
  /** Number of discrete actions. */
  actions: number;
  /** Chebyshev radius of the neighbourhood (0 means: agents on the same cell only). */
  radius: number;
  /** Periodic boundaries (a torus, as the Ising lattice); default false (walls, as Battle). */
  wrap?: boolean;
}

/**
 * Local mean actions for every agent at once (see the module comment). Owns its scratch table, so
 * `compute` allocates nothing; one instance per grid size, action count and radius.
 *
 * Conventions: an agent with no live neighbour in its window gets a row of zeros, and so does a
 * dead agent. Several agents may share a cell; each counts once. With `wrap`, a window wider than
 * the grid covers each column (row) once, never twice.
 */
export class LocalMeanField {
  readonly width: number;
  readonly height: number;
  readonly actions: number;
  readonly radius: number;
  readonly wrap: boolean;
  /** Summed-area table: sat[(y * (W + 1) + x) * A + a] = count of action a in [0, x) x [0, y). */
  private readonly sat: Int32Array;

  constructor(opts: LocalMeanFieldOptions) {
    const { width, height, actions, radius } = opts;
    if (!(Number.isInteger(width) && width >= 1))
      throw GibbsError.invalid('width', width, 'an integer >= 1');
    if (!(Number.isInteger(height) && height >= 1))
      throw GibbsError.invalid('height', height, 'an integer >= 1');
    if (!(Number.isInteger(actions) && actions >= 1))
      throw GibbsError.invalid('actions', actions, 'an integer >= 1');
    if (!(Number.isInteger(radius) && radius >= 0))
      throw GibbsError.invalid('radius', radius, 'an integer >= 0');
    const cells = (width + 1) * (height + 1) * actions;
    if (cells > 2 ** 30)
      throw GibbsError.invalid('width * height * actions', cells, 'at most 2^30 table entries');
    this.width = width;
    this.height = height;
    this.actions = actions;
    this.radius = radius;
    this.wrap = opts.wrap ?? false;
    this.sat = new Int32Array(cells);
  }

  /**
   * Write the local mean action of agents 0 .. n-1 into `out` (n * actions floats, row i = agent
   * i) and return it. `x`, `y`, `alive` and `actions` hold one entry per agent slot; entries of
   * dead slots are ignored.
   */
  compute(
    x: Int32Array,
    y: Int32Array,
    alive: Uint8Array,
    actions: Int32Array,
    out: Float32Array,
    n: number = actions.length,
  ): Float32Array {
    const W = this.width;
    const H = this.height;
    const A = this.actions;
    const W1 = W + 1;
    checkLength('x', x, n);
    checkLength('y', y, n);
    checkLength('alive', alive, n);
    checkLength('actions', actions, n);
    checkLength('out', out, n * A);
    const sat = this.sat;

    // 1. Per-cell action counts, stored shifted by one row and column (row 0 and column 0 stay 0).
    sat.fill(0);
    for (let i = 0; i < n; i++) {
      if (!alive[i]) continue;
      const xi = x[i];
      const yi = y[i];
      if (!(xi >= 0 && xi < W && Number.isInteger(xi)))
        throw GibbsError.invalid(`x[${i}]`, xi, `a column in [0, ${W})`);
      if (!(yi >= 0 && yi < H && Number.isInteger(yi)))
        throw GibbsError.invalid(`y[${i}]`, yi, `a row in [0, ${H})`);
      checkAction('actions', i, actions[i], A);
      sat[((yi + 1) * W1 + xi + 1) * A + actions[i]] += 1;
    }

    // 2. Prefix sums in place: sat(x, y) += sat(x-1, y) + sat(x, y-1) - sat(x-1, y-1).
    for (let cy = 1; cy <= H; cy++) {
      const row = cy * W1 * A;
      const up = (cy - 1) * W1 * A;
      for (let cx = 1; cx <= W; cx++) {
        const o = row + cx * A;
        const l = o - A;
        const u = up + cx * A;
        const ul = u - A;
        for (let a = 0; a < A; a++) sat[o + a] += sat[l + a] + sat[u + a] - sat[ul + a];
      }
    }

    // 3. Window sums per agent, minus the agent's own action, divided by the neighbour count.
    const r = this.radius;
    for (let i = 0; i < n; i++) {
      const o = i * A;
      out.fill(0, o, o + A);
      if (!alive[i]) continue;
      if (this.wrap) this.addWrapped(x[i], y[i], out, o);
      else
        this.addRect(
          Math.max(0, x[i] - r),
          Math.min(W - 1, x[i] + r),
          Math.max(0, y[i] - r),
          Math.min(H - 1, y[i] + r),
          out,
          o,
        );
      out[o + actions[i]] -= 1;
      let total = 0;
      for (let a = 0; a < A; a++) total += out[o + a];
      if (total > 0) for (let a = 0; a < A; a++) out[o + a] /= total;
    }
    return out;
  }

  /** Add the counts of cells [x0, x1] x [y0, y1] (inclusive, inside the grid) to out[o ..]. */
  private addRect(x0: number, x1: number, y0: number, y1: number, out: Float32Array, o: number) {
    const A = this.actions;
    const W1 = this.width + 1;
    const s = this.sat;
    const br = ((y1 + 1) * W1 + x1 + 1) * A;
    const bl = ((y1 + 1) * W1 + x0) * A;
    const tr = (y0 * W1 + x1 + 1) * A;
    const tl = (y0 * W1 + x0) * A;
    for (let a = 0; a < A; a++) out[o + a] += s[br + a] - s[bl + a] - s[tr + a] + s[tl + a];
  }

  /** The periodic window: split into at most two column ranges times two row ranges. */
  private addWrapped(cx: number, cy: number, out: Float32Array, o: number) {
    const r = this.radius;
    const xs = wrapRanges(cx, r, this.width);
    const ys = wrapRanges(cy, r, this.height);
    for (let j = 0; j < ys.length; j += 2)
      for (let i = 0; i < xs.length; i += 2)
        this.addRect(xs[i], xs[i + 1], ys[j], ys[j + 1], out, o);
  }
}

/** [c - r, c + r] on a circle of `size` cells as one or two inclusive ranges [a0, b0, a1, b1]. */
function wrapRanges(c: number, r: number, size: number): number[] {
  if (2 * r + 1 >= size) return [0, size - 1];
  const lo = c - r;
  const hi = c + r;
  if (lo < 0) return [0, hi, lo + size, size - 1];
  if (hi >= size) return [lo, size - 1, 0, hi - size];
  return [lo, hi];
}

/**
 * The same local mean action by brute force, O(N^2 * actions): every pair of live agents within the
 * window. The reference the summed-area version is tested and benchmarked against.
 */
export function localMeanActionReference(
  opts: LocalMeanFieldOptions,
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  alive: ArrayLike<number>,
  actions: ArrayLike<number>,
  out: Float32Array,
  n: number = actions.length,
): Float32Array {
  const { width: W, height: H, actions: A, radius: r } = opts;
  const wrap = opts.wrap ?? false;
  const dist = (d: number, size: number) => {
    const a = Math.abs(d);
    return wrap ? Math.min(a, size - a) : a;
  };
  out.fill(0, 0, n * A);
  for (let i = 0; i < n; i++) {
    if (!alive[i]) continue;
    let total = 0;
    for (let j = 0; j < n; j++) {
      if (j === i || !alive[j]) continue;
      if (dist(x[j] - x[i], W) > r || dist(y[j] - y[i], H) > r) continue;
      out[i * A + actions[j]] += 1;
      total++;
    }
    if (total > 0) for (let a = 0; a < A; a++) out[i * A + a] /= total;
  }
  return out;
}
