/**
 * Battle's observation kernel: the hot path (MAgent spends 85-93 % of its step here), kept in a
 * module of its own with no dependencies so that the worker threads of battle-threads.ts load it
 * quickly.
 *
 * Each group keeps a padded map of the world from its own perspective: (height + 12) x (width + 12)
 * cells of 5 interleaved floats [obstacle, own group, own hp, other group, other hp], the 6-cell
 * padding marked as obstacle (off the map). The environment updates both maps in place on every
 * move, hit and death. An agent's 13 x 13 x 5 view is then 13 `copyWithin` calls, one per row of
 * its view circle, from its group's map into its group's observations, which follow the map in the
 * same buffer (so the copy is a native memmove and allocates nothing). Cells of the window outside
 * the circle are never written and stay 0.
 */

export const VIEW_RADIUS = 6;
export const VIEW_SIDE = 2 * VIEW_RADIUS + 1;
export const VIEW_CHANNELS = 5;
export const VIEW_SIZE = VIEW_SIDE * VIEW_SIDE * VIEW_CHANNELS;
export const N_ACTIONS = 21;
/** One-hot of the last action, the last reward, x / width, y / height. */
export const N_FEATURES = N_ACTIONS + 3;

/** Half-width of the view circle (dx^2 + dy^2 <= 36) on each row: row r spans dx in [-hw, hw]. */
export const VIEW_HALF = Int32Array.from({ length: VIEW_SIDE }, (_, r) => {
  const dy = r - VIEW_RADIUS;
  return Math.floor(Math.sqrt(VIEW_RADIUS * VIEW_RADIUS - dy * dy) + 1e-9);
});
const ROW_DST = Int32Array.from(
  VIEW_HALF,
  (hw, r) => (r * VIEW_SIDE + VIEW_RADIUS - hw) * VIEW_CHANNELS,
);
const ROW_LEN = Int32Array.from(VIEW_HALF, (hw) => (2 * hw + 1) * VIEW_CHANNELS);

/**
 * Everything the observation copy reads and writes. In the parallel variant every array lives in a
 * SharedArrayBuffer and each worker builds the same object from the buffers.
 */
export interface ObsState {
  readonly width: number;
  readonly height: number;
  /** Row stride of the padded maps: width + 2 * VIEW_RADIUS. */
  readonly padWidth: number;
  /** Slots of red (global indices 0..n0-1); blue's follow. */
  readonly n0: number;
  readonly n1: number;
  /** Floats of one padded map; a group's views start at this offset of its buffer. */
  readonly mapFloats: number;
  /** Per view row: offset of its first copied float from the agent's padded cell index * 5. */
  readonly rowSrc: Int32Array;
  readonly px: Int32Array;
  readonly py: Int32Array;
  readonly alive: Uint8Array;
  readonly lastAction: Int32Array;
  readonly reward: Float32Array;
  readonly features: Float32Array;
  /** Per group: its padded map, then its agents' views (capacity x VIEW_SIZE floats). */
  readonly bufs: readonly [Float32Array, Float32Array];
}

/** The buffers behind an ObsState, as handed to a worker thread. */
export interface ObsStateBuffers {
  width: number;
  height: number;
  n0: number;
  n1: number;
  px: SharedArrayBuffer;
  py: SharedArrayBuffer;
  alive: SharedArrayBuffer;
  lastAction: SharedArrayBuffer;
  reward: SharedArrayBuffer;
  features: SharedArrayBuffer;
  bufs: [SharedArrayBuffer, SharedArrayBuffer];
}

export function padWidthOf(width: number): number {
  return width + 2 * VIEW_RADIUS;
}

export function mapFloatsOf(width: number, height: number): number {
  return padWidthOf(width) * (height + 2 * VIEW_RADIUS) * VIEW_CHANNELS;
}

export function rowSources(padWidth: number): Int32Array {
  return Int32Array.from(VIEW_HALF, (hw, r) => (r * padWidth + VIEW_RADIUS - hw) * VIEW_CHANNELS);
}

export function obsStateFromBuffers(b: ObsStateBuffers): ObsState {
  const padWidth = padWidthOf(b.width);
  return {
    width: b.width,
    height: b.height,
    padWidth,
    n0: b.n0,
    n1: b.n1,
    mapFloats: mapFloatsOf(b.width, b.height),
    rowSrc: rowSources(padWidth),
    px: new Int32Array(b.px),
    py: new Int32Array(b.py),
    alive: new Uint8Array(b.alive),
    lastAction: new Int32Array(b.lastAction),
    reward: new Float32Array(b.reward),
    features: new Float32Array(b.features),
    bufs: [new Float32Array(b.bufs[0]), new Float32Array(b.bufs[1])],
  };
}

/** Write the view and features of every live agent whose global index is in [lo, hi). */
export function observeRange(s: ObsState, lo: number, hi: number): void {
  const { px, py, alive, lastAction, reward, features, padWidth, n0, mapFloats, rowSrc } = s;
  const invW = 1 / s.width;
  const invH = 1 / s.height;
  for (let g = 0; g < 2; g++) {
    const start = g === 0 ? 0 : n0;
    const end = g === 0 ? n0 : n0 + s.n1;
    const a0 = Math.max(lo, start);
    const a1 = Math.min(hi, end);
    const buf = s.bufs[g];
    for (let a = a0; a < a1; a++) {
      if (alive[a] === 0) continue;
      const x = px[a];
      const y = py[a];
      // Cell (x, y) sits at padded cell (y + R) * padWidth + x + R, so the window's top-left
      // corner (x - R, y - R) is padded cell y * padWidth + x.
      const src = (y * padWidth + x) * VIEW_CHANNELS;
      const dst = mapFloats + (a - start) * VIEW_SIZE;
      for (let r = 0; r < VIEW_SIDE; r++) {
        const from = src + rowSrc[r];
        buf.copyWithin(dst + ROW_DST[r], from, from + ROW_LEN[r]);
      }
      const f = a * N_FEATURES;
      for (let k = 0; k < N_ACTIONS; k++) features[f + k] = 0;
      const act = lastAction[a];
      if (act >= 0) features[f + act] = 1;
      features[f + N_ACTIONS] = reward[a];
      features[f + N_ACTIONS + 1] = x * invW;
      features[f + N_ACTIONS + 2] = y * invH;
    }
  }
}

// ---- the control block shared by the thread pool and its workers ----------------------------

/** Int32 slots of the pool's control SharedArrayBuffer. */
export const CTRL = {
  /** Job generation: bumped by the main thread to wake the workers. */
  GEN: 0,
  /** Next chunk to take (Atomics.add); >= NCHUNKS between jobs. */
  NEXT: 1,
  /** Workers inside a job. */
  BUSY: 2,
  /** Workers started. */
  READY: 3,
  STOP: 4,
  NCHUNKS: 5,
  CHUNK: 6,
  TOTAL: 7,
  SIZE: 8,
} as const;

/** Take chunks of [0, TOTAL) until none is left, observing each. Returns the chunks done. */
export function drainChunks(ctrl: Int32Array, state: ObsState): number {
  const nChunks = ctrl[CTRL.NCHUNKS];
  const chunk = ctrl[CTRL.CHUNK];
  const total = ctrl[CTRL.TOTAL];
  let done = 0;
  for (;;) {
    const c = Atomics.add(ctrl, CTRL.NEXT, 1);
    if (c >= nChunks) return done;
    const lo = c * chunk;
    observeRange(state, lo, Math.min(lo + chunk, total));
    done++;
  }
}
