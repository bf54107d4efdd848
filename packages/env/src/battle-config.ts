/**
 * Battle's config and placement: the zod schema, what a config implies (agents per group, the
 * spec, the rewards as float32) with its errors, and where each agent starts (block, random or
 * explicit placement) as a function over the state's arrays.
 */
import { type EnvSpec, GibbsError, type GroupSpec, type Rng } from '@gibbs/core';
import { z } from 'zod';
import {
  ACTION_NAMES,
  BATTLE_GROUPS,
  BLOCK_GAP,
  CHANNEL_NAMES,
  MAX_HP,
  N_ACTIONS,
  N_FEATURES,
  VIEW_CHANNELS,
  VIEW_SIDE,
} from './battle-constants.ts';
import type { BattleState, Rewards } from './battle-kernels.ts';

// ---- the schema -----------------------------------------------------------------------------

const explicitAgent = z.object({
  x: z.int(),
  y: z.int(),
  hp: z.number().min(0).max(MAX_HP).optional(),
});

export const battleConfig = z.object({
  map: z
    .int()
    .min(3)
    .max(8192)
    .default(45)
    .describe('side of the square map in cells, walls included'),
  agents: z
    .int()
    .min(1)
    .optional()
    .describe(
      'agents per side (default floor(0.2 map)^2, the s*s*0.04 of MAgent as a square block)',
    ),
  placement: z
    .enum(['block', 'random', 'explicit'])
    .default('block')
    .describe('block: two facing blocks as MAgent; random: uniform; explicit: positions given'),
  maxSteps: z.int().min(1).default(1000).describe('steps after which an episode is truncated'),
  threads: z
    .int()
    .min(1)
    .max(64)
    .default(1)
    .describe(
      'threads sharing attacks, moves and observations (worker_threads over SharedArrayBuffer, Node only)',
    ),
  kernel: z
    .enum(['auto', 'wasm', 'js'])
    .default('auto')
    .describe('observation copy: WebAssembly (auto: when the state fits in 4 GiB) or JS'),
  explicit: z
    .object({ red: z.array(explicitAgent), blue: z.array(explicitAgent) })
    .optional()
    .describe('agents of each group for placement "explicit": {x, y, hp?} in map cells'),
  stepReward: z.number().default(-0.005),
  deadPenalty: z.number().default(-0.1),
  attackPenalty: z.number().default(-0.1),
  attackOpponentReward: z.number().default(0.2),
  killReward: z.number().default(5),
});

export type BattleConfig = z.infer<typeof battleConfig>;
export type BattleConfigInput = z.input<typeof battleConfig>;

/** The config with its defaults, or a GibbsError naming the first field in error. */
export function parseConfig(input: BattleConfigInput): BattleConfig {
  const parsed = battleConfig.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue.path.join('.');
  throw new GibbsError(
    `battle: config ${field || '(root)'}: ${issue.message}`,
    field,
    (input as Record<string, unknown>)[String(issue.path[0])],
    issue.message,
  );
}

// ---- what a config implies ------------------------------------------------------------------

/**
 * Slots of red and blue: the explicit agents, else `agents` (by default defaultAgents(map)) each,
 * or a GibbsError when they do not fit the map with the placement.
 */
export function groupSizes(cfg: BattleConfig): [number, number] {
  const map = cfg.map;
  if (cfg.placement === 'explicit') {
    if (!cfg.explicit)
      throw GibbsError.invalid(
        'battle: config explicit',
        undefined,
        'the agents of each group ({ red: [{x, y, hp?}], blue: [...] }) with placement "explicit"',
      );
    const caps: [number, number] = [cfg.explicit.red.length, cfg.explicit.blue.length];
    BATTLE_GROUPS.forEach((name, g) => {
      if (caps[g] < 1)
        throw GibbsError.invalid(`battle: config explicit.${name}`, 0, 'at least one agent');
    });
    return caps;
  }
  const most = maxAgents(map, cfg.placement);
  const agents = cfg.agents ?? Math.max(1, defaultAgents(map));
  const fits = cfg.placement === 'block' ? blockCount(map, agents) === agents : agents <= most;
  if (!fits) {
    throw new GibbsError(
      `battle: ${agents} agents per side do not fit on a ${map}x${map} map with placement "${cfg.placement}": at most ${most} per side${cfg.agents === undefined ? ' (agents defaults to floor(0.2 map)^2; give --agents or a larger --map)' : ''}`,
      'agents',
      agents,
      `at most ${most} per side on a ${map}x${map} map (placement ${cfg.placement})`,
    );
  }
  return [agents, agents];
}

/** The rewards of attacks and deaths as float32, like MAgent's (the step reward is Battle's). */
export function rewardsOf(cfg: BattleConfig): Rewards {
  return {
    attack: Math.fround(cfg.attackPenalty),
    hit: Math.fround(cfg.attackOpponentReward),
    kill: Math.fround(cfg.killReward),
    dead: Math.fround(cfg.deadPenalty),
  };
}

export function battleSpec(cfg: BattleConfig, caps: readonly [number, number]): EnvSpec {
  const groups: GroupSpec[] = BATTLE_GROUPS.map((name, g) => ({
    name,
    capacity: caps[g],
    view: {
      height: VIEW_SIDE,
      width: VIEW_SIDE,
      channels: VIEW_CHANNELS,
      channelNames: CHANNEL_NAMES,
    },
    features: N_FEATURES,
    actions: N_ACTIONS,
    actionNames: ACTION_NAMES,
  }));
  return {
    name: 'battle',
    groups,
    maxSteps: cfg.maxSteps,
    grid: { width: cfg.map, height: cfg.map },
  };
}

// ---- block placement ------------------------------------------------------------------------

/**
 * MAgent's generate_map for k x k blocks: left and right blocks of side 2k at spacing 2, 3 cells
 * either side of the centre line, filled column by column; cells on or beyond the walls are
 * dropped, as MAgent drops them. Returns [x0, y0, x1, y1, ...] per side.
 */
export function blockCells(map: number, k: number): [Int32Array, Int32Array] {
  const side = 2 * k;
  const half = Math.floor(map / 2);
  const y0 = Math.floor((map - side) / 2);
  return [half - BLOCK_GAP - side, half + BLOCK_GAP].map((x0) => {
    const out: number[] = [];
    for (let x = x0; x < x0 + side; x += 2)
      for (let y = y0; y < y0 + side; y += 2)
        if (x > 0 && x < map - 1 && y > 0 && y < map - 1) out.push(x, y);
    return Int32Array.from(out);
  }) as [Int32Array, Int32Array];
}

/** How many of start, start + 2, ..., start + 2(k-1) lie strictly inside the walls. */
function inside(start: number, k: number, map: number): number {
  let c = 0;
  for (let i = 0; i < k; i++) if (start + 2 * i > 0 && start + 2 * i < map - 1) c++;
  return c;
}

/** Agents per side that block placement of n per side gets: n if both blocks keep n cells. */
function blockCount(map: number, n: number): number {
  const k = Math.ceil(Math.sqrt(n) - 1e-9);
  const side = 2 * k;
  const half = Math.floor(map / 2);
  const rows = inside(Math.floor((map - side) / 2), k, map);
  const left = inside(half - BLOCK_GAP - side, k, map) * rows;
  const right = inside(half + BLOCK_GAP, k, map) * rows;
  return Math.min(n, left, right);
}

/**
 * Agents per side by default on a map of side `map`, as MAgent: a block of int(sqrt(map^2 * 0.04))
 * squared, less the cells that fall on the walls (none from map 40 up; 45 -> 81, 500 -> 10000).
 */
export function defaultAgents(map: number): number {
  const k = Math.floor(Math.sqrt(map * map * 0.04) + 1e-9);
  return k < 1 ? 0 : blockCount(map, k * k);
}

/** The most agents per side that `placement` fits on a map of side `map` (0: none fits). */
export function maxAgents(map: number, placement: 'block' | 'random'): number {
  if (placement === 'random') return Math.floor(((map - 2) * (map - 2)) / 2);
  // n agents need a block of k = ceil(sqrt(n)): n in ((k-1)^2, k^2], all of its first n cells kept.
  let best = 0;
  for (let k = 1; 2 * k <= map; k++) {
    const n = blockCount(map, k * k);
    if (n > (k - 1) * (k - 1)) best = Math.max(best, n);
  }
  return best;
}

// ---- placement ------------------------------------------------------------------------------

/**
 * Where every slot starts and with what hp (MAX_HP unless an explicit agent says otherwise), by
 * the config's placement; random placement draws from `rng`. Writes px, py and hp only: the
 * occupancy grid and the maps are the caller's.
 */
export function placeAgents(
  cfg: BattleConfig,
  rng: Rng,
  s: Pick<BattleState, 'width' | 'height' | 'n0' | 'px' | 'py' | 'hp'>,
): void {
  const { width: W, height: H, px, py, hp, n0 } = s;
  hp.fill(MAX_HP);
  if (cfg.placement === 'explicit') {
    const seen = new Map<number, string>();
    const ex = cfg.explicit!;
    BATTLE_GROUPS.forEach((name, g) => {
      ex[name].forEach((agent, i) => {
        const where = `battle: config explicit.${name}[${i}]`;
        if (agent.x < 1 || agent.x > W - 2 || agent.y < 1 || agent.y > H - 2)
          throw GibbsError.invalid(
            where,
            `(${agent.x}, ${agent.y})`,
            `a cell inside the walls: x and y in [1, ${W - 2}]`,
          );
        const cell = agent.y * W + agent.x;
        const other = seen.get(cell);
        if (other)
          throw GibbsError.invalid(
            where,
            `(${agent.x}, ${agent.y})`,
            `a cell of its own (${other} is there already)`,
          );
        seen.set(cell, `${name}[${i}]`);
        const a = (g === 0 ? 0 : n0) + i;
        px[a] = agent.x;
        py[a] = agent.y;
        if (agent.hp !== undefined) hp[a] = agent.hp;
      });
    });
    return;
  }
  // Both groups have n0 slots.
  const k = n0;
  if (cfg.placement === 'block') {
    const sides = blockCells(W, Math.ceil(Math.sqrt(k) - 1e-9));
    for (let g = 0; g < 2; g++)
      for (let i = 0; i < k; i++) {
        px[g * n0 + i] = sides[g][2 * i];
        py[g * n0 + i] = sides[g][2 * i + 1];
      }
    return;
  }
  // random: uniform over the free interior cells, red first; each group's slots are then
  // numbered in row-major order of their cells, which keeps memory access local in the step.
  const iw = W - 2;
  const cells = iw * (H - 2);
  const chosen = new Int32Array(2 * k);
  if (2 * k <= cells / 2) {
    const taken = new Uint8Array(cells);
    for (let i = 0; i < 2 * k; i++) {
      let c: number;
      do c = rng.int(cells);
      while (taken[c] === 1);
      taken[c] = 1;
      chosen[i] = c;
    }
  } else {
    // Dense: a partial Fisher-Yates shuffle of every interior cell.
    const all = new Int32Array(cells);
    for (let c = 0; c < cells; c++) all[c] = c;
    for (let i = 0; i < 2 * k; i++) {
      const j = i + rng.int(cells - i);
      const t = all[i];
      all[i] = all[j];
      all[j] = t;
      chosen[i] = all[i];
    }
  }
  for (let g = 0; g < 2; g++) {
    const mine = chosen.subarray(g * k, (g + 1) * k).sort();
    for (let i = 0; i < k; i++) {
      const a = g * n0 + i;
      px[a] = 1 + (mine[i] % iw);
      py[a] = 1 + Math.floor(mine[i] / iw);
    }
  }
}
