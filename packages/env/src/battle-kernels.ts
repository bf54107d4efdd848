/**
 * Battle's kernels, everything a thread of the parallel step runs, and the state they share: the
 * observation copy (the hot path: MAgent spends 85-93 % of its step there), the attacks and moves
 * of a set of bands (attackBands, moveBands), and the chunked jobs of the thread pool's control
 * block (drainChunks). It imports only battle-constants.ts, so that the worker threads of
 * battle-threads.ts load it quickly; all the state they touch lives in one buffer (StateLayout).
 *
 * Each group keeps a padded map of the world from its own perspective: (height + 12) x (width + 12)
 * cells of 5 interleaved floats [obstacle, own group, own hp, other group, other hp], the 6-cell
 * padding marked as obstacle (off the map). The environment updates both maps in place on every
 * move, hit and death. An agent's 13 x 13 x 5 view is then 13 row copies, one per row of its view
 * circle, from its group's map into its group's observations; cells of the window outside the
 * circle are never written and stay 0. Two kernels do the copy, with identical output:
 *   wasm  a module generated for the layout (battle-wasm.ts) over one WebAssembly.Memory that
 *         holds every array of the BattleState;
 *   js    `copyWithin` inside one Float32Array per group (map and views share a buffer), for
 *         states over the 4 GiB a wasm32 memory can hold, or where WebAssembly is missing.
 */
import {
  ACTION_DX,
  ACTION_DY,
  BAND_SHIFT,
  DAMAGE,
  EMPTY,
  MAX_HP,
  MOVE_HEADING,
  N_ACTIONS,
  N_FEATURES,
  VIEW_CHANNELS,
  VIEW_HALF,
  VIEW_RADIUS,
  VIEW_SIDE,
  VIEW_SIZE,
} from './battle-constants.ts';

// ---- the state ------------------------------------------------------------------------------

/** Per view row: offset (floats) of its first float in the agent's view. */
export const ROW_DST = Int32Array.from(
  VIEW_HALF,
  (hw, r) => (r * VIEW_SIDE + VIEW_RADIUS - hw) * VIEW_CHANNELS,
);
/** Per view row: the floats it copies. */
export const ROW_LEN = Int32Array.from(VIEW_HALF, (hw) => (2 * hw + 1) * VIEW_CHANNELS);

/**
 * Everything the kernels read and write, indexed by global agent index (red 0..n0-1, blue
 * n0..n-1). In the parallel variant every array lives in shared memory and each worker builds the
 * same object from the buffers.
 */
export interface BattleState {
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
  readonly hp: Float32Array;
  readonly terminated: Uint8Array;
  /** Step on which the agent last damaged an enemy without killing it (the +0.2 rule). */
  readonly hitStep: Int32Array;
  /** width x height: EMPTY, WALL, or the global index of the agent there. */
  readonly occ: Int32Array;
  /** Direction of each agent's last move (radians; NaN before one). */
  readonly heading: Float32Array;
  /** This step's attackers or movers, band by band in their drawn order. */
  readonly order: Int32Array;
  /** Band b's agents are order[bandStart[b] .. bandStart[b + 1]). */
  readonly bandStart: Int32Array;
}

export function padWidthOf(width: number): number {
  return width + 2 * VIEW_RADIUS;
}

export function mapFloatsOf(width: number, height: number): number {
  return padWidthOf(width) * (height + 2 * VIEW_RADIUS) * VIEW_CHANNELS;
}

/** Per view row: offset (floats) of its first copied cell from the agent's padded cell * 5. */
export function rowSources(padWidth: number): Int32Array {
  return Int32Array.from(VIEW_HALF, (hw, r) => (r * padWidth + VIEW_RADIUS - hw) * VIEW_CHANNELS);
}

/**
 * Where each array of a BattleState lives: byte offsets into one buffer (a WebAssembly.Memory's,
 * or a plain (Shared)ArrayBuffer's), each 64-byte aligned. A group's views follow its map, so that
 * the JS kernel's copyWithin works inside one typed array.
 */
export interface StateLayout {
  readonly width: number;
  readonly height: number;
  readonly n0: number;
  readonly n1: number;
  readonly px: number;
  readonly py: number;
  readonly lastAction: number;
  readonly reward: number;
  readonly features: number;
  readonly alive: number;
  /** Per group: its padded map, then its views. */
  readonly bufs: readonly [number, number];
  /** hp, terminated flags and the step of each agent's last non-fatal hit (attacks). */
  readonly hp: number;
  readonly terminated: number;
  readonly hitStep: number;
  /** The occupancy grid, last move headings, the drawn order and its band bounds. */
  readonly occ: number;
  readonly heading: number;
  readonly order: number;
  readonly bandStart: number;
  readonly bytes: number;
}

/** How many bands (of BAND_SHIFT rows) a map of `height` has. */
export function bandsOf(height: number): number {
  return ((height - 1) >> BAND_SHIFT) + 1;
}

/** How many bands of `parity` a map of `height` has. */
export function bandsOfParity(height: number, parity: number): number {
  return (bandsOf(height) - parity + 1) >> 1;
}

export function layoutOf(width: number, height: number, n0: number, n1: number): StateLayout {
  let at = 0;
  const take = (bytes: number) => {
    const here = at;
    at = Math.ceil((at + bytes) / 64) * 64;
    return here;
  };
  const n = n0 + n1;
  const mapBytes = 4 * mapFloatsOf(width, height);
  const px = take(4 * n);
  const py = take(4 * n);
  const lastAction = take(4 * n);
  const reward = take(4 * n);
  const features = take(4 * n * N_FEATURES);
  const alive = take(n);
  const b0 = take(mapBytes + 4 * n0 * VIEW_SIZE);
  const b1 = take(mapBytes + 4 * n1 * VIEW_SIZE);
  const hp = take(4 * n);
  const terminated = take(n);
  const hitStep = take(4 * n);
  const occ = take(4 * width * height);
  const heading = take(4 * n);
  const order = take(4 * n);
  const bandStart = take(4 * (bandsOf(height) + 1));
  return {
    width,
    height,
    n0,
    n1,
    px,
    py,
    lastAction,
    reward,
    features,
    alive,
    bufs: [b0, b1],
    hp,
    terminated,
    hitStep,
    occ,
    heading,
    order,
    bandStart,
    bytes: at,
  };
}

/** Typed-array views of a layout over `buffer`. */
export function stateOf(layout: StateLayout, buffer: ArrayBufferLike): BattleState {
  const { width, height, n0, n1 } = layout;
  const n = n0 + n1;
  const padWidth = padWidthOf(width);
  const mapFloats = mapFloatsOf(width, height);
  return {
    width,
    height,
    padWidth,
    n0,
    n1,
    mapFloats,
    rowSrc: rowSources(padWidth),
    px: new Int32Array(buffer, layout.px, n),
    py: new Int32Array(buffer, layout.py, n),
    alive: new Uint8Array(buffer, layout.alive, n),
    lastAction: new Int32Array(buffer, layout.lastAction, n),
    reward: new Float32Array(buffer, layout.reward, n),
    features: new Float32Array(buffer, layout.features, n * N_FEATURES),
    bufs: [
      new Float32Array(buffer, layout.bufs[0], mapFloats + n0 * VIEW_SIZE),
      new Float32Array(buffer, layout.bufs[1], mapFloats + n1 * VIEW_SIZE),
    ],
    hp: new Float32Array(buffer, layout.hp, n),
    terminated: new Uint8Array(buffer, layout.terminated, n),
    hitStep: new Int32Array(buffer, layout.hitStep, n),
    occ: new Int32Array(buffer, layout.occ, width * height),
    heading: new Float32Array(buffer, layout.heading, n),
    order: new Int32Array(buffer, layout.order, n),
    bandStart: new Int32Array(buffer, layout.bandStart, bandsOf(height) + 1),
  };
}

// ---- the padded maps ------------------------------------------------------------------------

/** Zero both padded maps and mark walls and the off-map padding as obstacles. */
export function initMaps(s: BattleState): void {
  const { width: W, height: H, padWidth: pw } = s;
  const ph = H + 2 * VIEW_RADIUS;
  const R = VIEW_RADIUS;
  for (const buf of s.bufs) {
    buf.fill(0, 0, s.mapFloats);
    for (let y = 0; y < ph; y++) {
      // Interior cells are map cells 1..W-2 of rows 1..H-2, i.e. padded R+1..R+W-2.
      const interiorRow = y >= R + 1 && y <= R + H - 2;
      for (let x = 0; x < pw; x++) {
        if (interiorRow && x >= R + 1 && x <= R + W - 2) {
          x = R + W - 2;
          continue;
        }
        buf[(y * pw + x) * VIEW_CHANNELS] = 1;
      }
    }
  }
}

/** Write agent a (presence and hp) into both groups' maps at its cell. */
export function putAgent(s: BattleState, a: number): void {
  const m0 = s.bufs[0];
  const m1 = s.bufs[1];
  const c = ((s.py[a] + VIEW_RADIUS) * s.padWidth + s.px[a] + VIEW_RADIUS) * VIEW_CHANNELS;
  const h = s.hp[a] / MAX_HP;
  // own group at channels 1-2 of its own map, other group at channels 3-4 of the other's
  const mine = a < s.n0 ? m0 : m1;
  const theirs = a < s.n0 ? m1 : m0;
  mine[c + 1] = 1;
  mine[c + 2] = h;
  theirs[c + 3] = 1;
  theirs[c + 4] = h;
}

/** Write agent a's hp into both groups' maps at its cell. */
export function writeHp(s: BattleState, a: number): void {
  const m0 = s.bufs[0];
  const m1 = s.bufs[1];
  const c = ((s.py[a] + VIEW_RADIUS) * s.padWidth + s.px[a] + VIEW_RADIUS) * VIEW_CHANNELS;
  const h = s.hp[a] / MAX_HP;
  if (a < s.n0) {
    m0[c + 2] = h;
    m1[c + 4] = h;
  } else {
    m1[c + 2] = h;
    m0[c + 4] = h;
  }
}

// ---- observations ---------------------------------------------------------------------------

/** What a worker needs to build the same kernel over the same memory. */
export type KernelSource =
  | { kind: 'js'; layout: StateLayout; buffer: SharedArrayBuffer }
  | { kind: 'wasm'; layout: StateLayout; memory: WebAssembly.Memory; module: WebAssembly.Module };

/** observe(lo, hi): write the views and features of live agents lo..hi-1 (global indices). */
export type ObsKernel = (lo: number, hi: number) => void;

export function kernelOf(source: KernelSource): ObsKernel {
  if (source.kind === 'wasm') {
    const instance = new WebAssembly.Instance(source.module, { env: { memory: source.memory } });
    return instance.exports.observe as ObsKernel;
  }
  const state = stateOf(source.layout, source.buffer);
  return (lo, hi) => observeRange(state, lo, hi);
}

/** Write the view and features of every live agent whose global index is in [lo, hi). */
export function observeRange(s: BattleState, lo: number, hi: number): void {
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

// ---- moves ----------------------------------------------------------------------------------

/**
 * Carry out the moves of the bands `parity`, `parity` + 2, ... with index j in [j0, j1) among them,
 * each band's movers in their drawn order: a move succeeds when its target cell is inside the walls
 * and empty at that moment. A move spans at most 2 rows, so bands of one parity touch disjoint
 * rows (a band's movers reach rows [4b - 2, 4b + 5], the next band of its parity [4b + 6, ...]):
 * they can run in any order, on any thread, with one result. Adds the successful moves of each
 * group to counts[0], counts[1].
 */
export function moveBands(
  s: BattleState,
  parity: number,
  j0: number,
  j1: number,
  counts: Int32Array,
  countAt: number,
): void {
  const { px, py, alive, lastAction, occ, heading, order, bandStart, padWidth: pw, n0 } = s;
  // (no array destructuring: in a function called a few times per step it would allocate)
  const m0 = s.bufs[0];
  const m1 = s.bufs[1];
  const W = s.width;
  const H = s.height;
  let moves0 = 0;
  let moves1 = 0;
  for (let j = j0; j < j1; j++) {
    const band = parity + 2 * j;
    const end = bandStart[band + 1];
    for (let k = bandStart[band]; k < end; k++) {
      const a = order[k];
      if (alive[a] === 0) continue;
      const d = lastAction[a];
      const x = px[a];
      const y = py[a];
      const nx = x + ACTION_DX[d];
      const ny = y + ACTION_DY[d];
      if (nx < 1 || ny < 1 || nx > W - 2 || ny > H - 2) continue;
      const to = ny * W + nx;
      if (occ[to] !== EMPTY) continue;
      occ[y * W + x] = EMPTY;
      occ[to] = a;
      px[a] = nx;
      py[a] = ny;
      heading[a] = MOVE_HEADING[d];
      // Its presence and hp move in both maps: channels 1-2 of its own group's map, 3-4 of the
      // other's (the cell it leaves held nothing else).
      const from5 = ((y + VIEW_RADIUS) * pw + x + VIEW_RADIUS) * VIEW_CHANNELS;
      const to5 = ((ny + VIEW_RADIUS) * pw + nx + VIEW_RADIUS) * VIEW_CHANNELS;
      const mine = a < n0 ? m0 : m1;
      const theirs = a < n0 ? m1 : m0;
      const h = mine[from5 + 2];
      mine[from5 + 1] = 0;
      mine[from5 + 2] = 0;
      theirs[from5 + 3] = 0;
      theirs[from5 + 4] = 0;
      mine[to5 + 1] = 1;
      mine[to5 + 2] = h;
      theirs[to5 + 3] = 1;
      theirs[to5 + 4] = h;
      if (a < n0) moves0++;
      else moves1++;
    }
  }
  Atomics.add(counts, countAt, moves0);
  Atomics.add(counts, countAt + 1, moves1);
}

// ---- attacks --------------------------------------------------------------------------------

/** Rewards as float32 (MAgent's are floats), handed to every thread. */
export interface Rewards {
  readonly attack: number;
  readonly hit: number;
  readonly kill: number;
  readonly dead: number;
}

/**
 * Carry out the attacks of the bands `parity`, `parity` + 2, ... with index j in [j0, j1) among
 * them, each band's attackers in their drawn order, on the state as it is at that moment: an agent
 * killed earlier does not attack; every attack costs rewards.attack; one on an enemy takes DAMAGE
 * hp and earns rewards.hit, or rewards.kill when the enemy's hp falls below 0 (it dies: it leaves
 * the map, its observation is zeroed, and its reward becomes rewards.dead, plus rewards.hit if it
 * had damaged an enemy earlier this step, MAgent's order of rules). An attack reaches 1 row, so
 * bands of one parity (5+ rows apart) never interact: any order, any thread, one result. Adds hits
 * and kills of red and blue to counts[at .. at+3] (hits red, hits blue, kills red, kills blue).
 */
export function attackBands(
  s: BattleState,
  rewards: Rewards,
  step: number,
  parity: number,
  j0: number,
  j1: number,
  counts: Int32Array,
  at: number,
): void {
  const { px, py, alive, lastAction, occ, order, bandStart, padWidth: pw, n0, hp, reward } = s;
  const { terminated, hitStep, features, mapFloats } = s;
  const m0 = s.bufs[0];
  const m1 = s.bufs[1];
  const W = s.width;
  let hits0 = 0;
  let hits1 = 0;
  let kills0 = 0;
  let kills1 = 0;
  for (let j = j0; j < j1; j++) {
    const band = parity + 2 * j;
    const end = bandStart[band + 1];
    for (let k = bandStart[band]; k < end; k++) {
      const a = order[k];
      if (alive[a] === 0) continue; // killed earlier in the order
      reward[a] += rewards.attack;
      const d = lastAction[a];
      const b = occ[(py[a] + ACTION_DY[d]) * W + px[a] + ACTION_DX[d]];
      if (b < 0 || b < n0 === a < n0) continue; // nothing, a wall or a friend: no effect
      const red = a < n0;
      if (red) hits0++;
      else hits1++;
      hp[b] -= DAMAGE;
      const c5 = ((py[b] + VIEW_RADIUS) * pw + px[b] + VIEW_RADIUS) * VIEW_CHANNELS;
      // b's own channels in its group's map, the other's channels in the other map
      const mine = red ? m1 : m0;
      const theirs = red ? m0 : m1;
      if (hp[b] < 0) {
        alive[b] = 0;
        terminated[b] = 1;
        reward[b] = rewards.dead + (hitStep[b] === step ? rewards.hit : 0);
        occ[py[b] * W + px[b]] = EMPTY;
        mine[c5 + 1] = 0;
        mine[c5 + 2] = 0;
        theirs[c5 + 3] = 0;
        theirs[c5 + 4] = 0;
        const view = mapFloats + (red ? b - n0 : b) * VIEW_SIZE;
        mine.fill(0, view, view + VIEW_SIZE);
        features.fill(0, b * N_FEATURES, (b + 1) * N_FEATURES);
        reward[a] += rewards.kill;
        if (red) kills0++;
        else kills1++;
      } else {
        reward[a] += rewards.hit;
        hitStep[a] = step;
        const h = hp[b] / MAX_HP;
        mine[c5 + 2] = h;
        theirs[c5 + 4] = h;
      }
    }
  }
  Atomics.add(counts, at, hits0);
  Atomics.add(counts, at + 1, hits1);
  Atomics.add(counts, at + 2, kills0);
  Atomics.add(counts, at + 3, kills1);
}

// ---- the control block shared by the thread pool and its workers ----------------------------

/** Int32 slots of the pool's control SharedArrayBuffer (see battle-threads.ts). */
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
  /** The job: JOB_OBSERVE, or JOB_MOVE / JOB_ATTACK with the band parity in PARITY. */
  JOB: 8,
  PARITY: 9,
  /** Successful moves of red and blue in the current move job (summed by every thread). */
  MOVES: 10,
  /** The step number, for attacks (hitStep stamps). */
  STEP: 12,
  /** Hits of red, blue, then kills of red, blue in the current attack job. */
  ATTACKS: 16,
  SIZE: 24,
} as const;

export const JOB_OBSERVE = 0;
export const JOB_MOVE = 1;
export const JOB_ATTACK = 2;
/** NEXT between jobs: larger than any chunk count, so that a late worker takes nothing. */
export const NO_JOB = 1 << 30;

/** What a thread can do: observe agents [lo, hi), or attack / move bands j0..j1-1 of a parity. */
export interface Kernels {
  observe: ObsKernel;
  move: (parity: number, j0: number, j1: number) => void;
  attack: (parity: number, j0: number, j1: number) => void;
}

export function kernelsOf(source: KernelSource, ctrl: Int32Array, rewards: Rewards): Kernels {
  const buffer = source.kind === 'wasm' ? source.memory.buffer : source.buffer;
  const state = stateOf(source.layout, buffer);
  return {
    observe: kernelOf(source),
    move: (parity, j0, j1) => moveBands(state, parity, j0, j1, ctrl, CTRL.MOVES),
    attack: (parity, j0, j1) =>
      attackBands(state, rewards, ctrl[CTRL.STEP], parity, j0, j1, ctrl, CTRL.ATTACKS),
  };
}

/**
 * Take chunks of the current job until none is left, doing each. The job's parameters are read
 * after taking a chunk: the main thread writes them before opening the job (NEXT = 0) and does not
 * change them while a worker is BUSY. Returns the chunks done.
 */
export function drainChunks(ctrl: Int32Array, kernels: Kernels): number {
  let done = 0;
  for (;;) {
    const c = Atomics.add(ctrl, CTRL.NEXT, 1);
    if (c >= Atomics.load(ctrl, CTRL.NCHUNKS)) return done;
    const chunk = ctrl[CTRL.CHUNK];
    const total = ctrl[CTRL.TOTAL];
    const lo = c * chunk;
    const hi = Math.min(lo + chunk, total);
    const job = ctrl[CTRL.JOB];
    if (job === JOB_MOVE) kernels.move(ctrl[CTRL.PARITY], lo, hi);
    else if (job === JOB_ATTACK) kernels.attack(ctrl[CTRL.PARITY], lo, hi);
    else kernels.observe(lo, hi);
    done++;
  }
}
