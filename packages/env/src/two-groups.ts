/**
 * What Pursuit and Tiger-deer do the same way: two groups on one square grid, each agent in one
 * cell (`cell`: 0 empty, 1 wall, 2 + g taken by group g), views copied from a per-group ViewLayer
 * and the same features (last action one-hot, last reward, x/(map-1), y/(map-1)), and the same move
 * phase (one agent at a time in a seeded order, into a free cell). Each world keeps its own rules
 * (attacks, rewards, hit points, deaths, the end of an episode) and how an agent is drawn on its
 * layers (place/unplace); these helpers allocate, reset, check input, move, observe and render.
 */
import {
  allocGroupStep,
  type EnvSpec,
  GibbsError,
  type GroupStep,
  type RenderFrame,
  type Rng,
  viewSize,
} from '@gibbs/core';
import { circleSpans, rowOrder, ViewLayer } from './view-layer.ts';

/**
 * The state the helpers read and write, made by allocTwoGroups; the world keeps references to the
 * arrays it needs for its rules (shared, not copied).
 */
export interface TwoGroupGrid {
  /** Map side. */
  W: number;
  cap: readonly number[];
  nActions: readonly number[];
  groupNames: string[];
  /** Render legend for cell values 0 (empty), 1 (wall), 2 + g. */
  legend: string[];
  /** True where nobody ever dies: every slot counts as live (`out[g].alive` is not read). */
  immortal: boolean;
  out: GroupStep[];
  /** The alive masks as validateActions takes them: null when immortal (every slot live). */
  alive: readonly Uint8Array[] | null;
  /** Per group, per slot. */
  x: Int32Array[];
  y: Int32Array[];
  lastAction: Int32Array[];
  heading: Float32Array[];
  /** Per cell: 0 empty, 1 wall, 2 + g occupied by group g (slot in `slotAt`). */
  cell: Uint8Array;
  slotAt: Int32Array;
  /**
   * One picture of the map per group, each living after that group's views in one buffer
   * (`obs[g]`), so that views are copied with copyWithin; the world keeps both in step.
   */
  layers: ViewLayer[];
  obs: Float32Array[];
  spans: Int32Array[];
  viewSizes: number[];
  features: number[];
  /** Scratch for the moves: both groups' agents as g * 2^24 + slot, shuffled each step. */
  order: Int32Array;
  /** Scratch: observation order (slots by row, per group) and the counting sort's row counts. */
  obsOrder: Int32Array[];
  rowCounts: Int32Array;
}

/**
 * Allocate the state for a `W` x `W` world of `spec`'s two groups, views of radius `radius[g]`
 * over one layer per group (channel 0: obstacle).
 */
export function allocTwoGroups(
  spec: EnvSpec,
  W: number,
  radius: readonly number[],
  fixed: Pick<TwoGroupGrid, 'nActions' | 'legend' | 'immortal'>,
): TwoGroupGrid {
  const groups = spec.groups;
  const cap = groups.map((g) => g.capacity);
  const viewSizes = groups.map(viewSize);
  const channels = groups[0].view?.channels ?? 0;
  const obs = [0, 1].map(
    (g) => new Float32Array(cap[g] * viewSizes[g] + ViewLayer.size(W, W, channels, radius[g])),
  );
  const out = groups.map((g, gi) => ({
    ...allocGroupStep({ ...g, view: null }),
    view: obs[gi].subarray(0, cap[gi] * viewSizes[gi]),
  }));
  return {
    ...fixed,
    W,
    cap,
    groupNames: groups.map((g) => g.name),
    out,
    alive: fixed.immortal ? null : out.map((o) => o.alive),
    x: cap.map((n) => new Int32Array(n)),
    y: cap.map((n) => new Int32Array(n)),
    lastAction: cap.map((n) => new Int32Array(n)),
    heading: cap.map((n) => new Float32Array(n)),
    cell: new Uint8Array(W * W),
    slotAt: new Int32Array(W * W),
    layers: [0, 1].map(
      (g) =>
        new ViewLayer(W, W, channels, radius[g], 0, {
          buffer: obs[g],
          offset: cap[g] * viewSizes[g],
        }),
    ),
    obs,
    spans: radius.map((r) => circleSpans(r)),
    viewSizes,
    features: groups.map((g) => g.features),
    order: new Int32Array(cap[0] + cap[1]),
    obsOrder: cap.map((n) => new Int32Array(n)),
    rowCounts: new Int32Array(W + 1),
  };
}

/**
 * The start of an episode before anyone is placed: an empty map with its walls (the layout's, else
 * `wallCount` random cells), every slot alive with no action, reward, heading or observation.
 */
export function resetTwoGroups(
  s: TwoGroupGrid,
  rng: Rng,
  walls: readonly (readonly [number, number])[] | undefined,
  wallCount: number,
): void {
  s.cell.fill(0);
  for (const layer of s.layers) layer.clear();
  putWalls(s, rng, walls, wallCount);
  for (let g = 0; g < 2; g++) {
    const o = s.out[g];
    o.view.fill(0);
    o.features.fill(0);
    o.reward.fill(0);
    o.terminated.fill(0);
    o.truncated.fill(0);
    o.alive.fill(1);
    s.lastAction[g].fill(-1);
    s.heading[g].fill(Number.NaN);
  }
}

function liveMask(s: TwoGroupGrid, g: number): Uint8Array | null {
  return s.immortal ? null : s.out[g].alive;
}

/**
 * The moves: every live agent, one at a time in an order drawn from `rng` over both groups, records
 * its action and, if it is a move other than stay (`moves[g]`: (dx, dy) per move, stay first),
 * steps to the target cell when that is on the map and empty, facing the way it went.
 * `relocate(g, i, x, y)` moves agent i of group g to (x, y) in the world's own bookkeeping.
 */
export function moveInSeededOrder(
  s: TwoGroupGrid,
  rng: Rng,
  actions: readonly Int32Array[],
  moves: readonly Int32Array[],
  relocate: (g: number, i: number, x: number, y: number) => void,
): void {
  const W = s.W;
  const order = s.order;
  let n = 0;
  for (let g = 0; g < 2; g++) {
    const alive = liveMask(s, g);
    for (let i = 0; i < s.cap[g]; i++) if (!alive || alive[i]) order[n++] = (g << 24) | i;
  }
  rng.shuffle(order, n);
  for (let k = 0; k < n; k++) {
    const g = order[k] >>> 24;
    const i = order[k] & 0xffffff;
    const a = actions[g][i];
    s.lastAction[g][i] = a;
    if (a === 0 || 2 * a >= moves[g].length) continue;
    const dx = moves[g][2 * a];
    const dy = moves[g][2 * a + 1];
    const tx = s.x[g][i] + dx;
    const ty = s.y[g][i] + dy;
    if (tx < 0 || ty < 0 || tx >= W || ty >= W || s.cell[ty * W + tx] !== 0) continue;
    relocate(g, i, tx, ty);
    s.heading[g][i] = Math.atan2(dy, dx);
  }
}

/** A random empty cell (y * W + x), drawn from `rng`. */
export function emptyCell(s: TwoGroupGrid, rng: Rng): number {
  for (;;) {
    const c = rng.int(s.W * s.W);
    if (s.cell[c] === 0) return c;
  }
}

/** The walls: the layout's cells, else `count` random empty cells. */
function putWalls(
  s: TwoGroupGrid,
  rng: Rng,
  layout: readonly (readonly [number, number])[] | undefined,
  count: number,
): void {
  const W = s.W;
  const put = (x: number, y: number) => {
    s.cell[y * W + x] = 1;
    for (const layer of s.layers) layer.set(x, y, 0, 1);
  };
  if (layout) for (const [x, y] of layout) put(x, y);
  else
    for (let k = 0; k < count; k++) {
      const c = emptyCell(s, rng);
      put(c % W, Math.floor(c / W));
    }
}

/** Throw unless every explicit layout cell is on the `W` x `W` map and used once. */
export function checkLayout(
  env: string,
  W: number,
  entries: readonly (readonly [string, readonly (readonly [number, number])[]])[],
): void {
  const seen = new Set<number>();
  for (const [name, cells] of entries)
    cells.forEach(([x, y], i) => {
      const field = `${env} layout.${name}[${i}]`;
      if (!(x >= 0 && y >= 0 && x < W && y < W))
        throw GibbsError.invalid(field, [x, y], `a cell inside the ${W}x${W} map`);
      if (seen.has(y * W + x)) throw GibbsError.invalid(field, [x, y], 'a cell not used twice');
      seen.add(y * W + x);
    });
}

/**
 * Write every live agent's view (its window of its group's layer, in row order) and features.
 * `obsOrder` and `rowCounts` are scratch.
 */
export function observeGroups(s: TwoGroupGrid): void {
  const W1 = Math.max(1, s.W - 1);
  for (let g = 0; g < 2; g++) {
    const o = s.out[g];
    const F = s.features[g];
    const A = s.nActions[g];
    const x = s.x[g];
    const y = s.y[g];
    const lastAction = s.lastAction[g];
    const n = rowOrder(y, liveMask(s, g), s.W, s.rowCounts, s.obsOrder[g]);
    for (let k = 0; k < n; k++) {
      const i = s.obsOrder[g][k];
      s.layers[g].window(s.obs[g], i * s.viewSizes[g], x[i], y[i], s.spans[g]);
      const f = i * F;
      o.features.fill(0, f, f + A);
      if (lastAction[i] >= 0) o.features[f + lastAction[i]] = 1;
      o.features[f + A] = o.reward[i];
      o.features[f + A + 1] = x[i] / W1;
      o.features[f + A + 2] = y[i] / W1;
    }
  }
}

/** A frame of the map and every live agent, group 0 first; `hp(g, i)` in [0, 1]. */
export function renderGroups(
  s: TwoGroupGrid,
  t: number,
  episode: number,
  hp: (g: number, i: number) => number,
): RenderFrame {
  const masks = [liveMask(s, 0), liveMask(s, 1)];
  const live = (g: number, i: number) => masks[g]?.[i] !== 0;
  let n = 0;
  for (let g = 0; g < 2; g++) for (let i = 0; i < s.cap[g]; i++) if (live(g, i)) n++;
  const agents = {
    count: n,
    group: new Uint8Array(n),
    slot: new Int32Array(n),
    x: new Float32Array(n),
    y: new Float32Array(n),
    hp: new Float32Array(n),
    heading: new Float32Array(n),
    action: new Int16Array(n),
    reward: new Float32Array(n),
  };
  let k = 0;
  for (let g = 0; g < 2; g++)
    for (let i = 0; i < s.cap[g]; i++) {
      if (!live(g, i)) continue;
      agents.group[k] = g;
      agents.slot[k] = i;
      agents.x[k] = s.x[g][i];
      agents.y[k] = s.y[g][i];
      agents.hp[k] = hp(g, i);
      agents.heading[k] = s.heading[g][i];
      agents.action[k] = s.lastAction[g][i];
      agents.reward[k] = s.out[g].reward[i];
      k++;
    }
  return {
    step: t,
    episode: Math.max(0, episode),
    width: s.W,
    height: s.W,
    cells: Uint8Array.from(s.cell),
    legend: [...s.legend],
    groups: [...s.groupNames],
    agents,
  };
}
