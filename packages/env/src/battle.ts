/**
 * Battle: MAgent2's battle_v4 at population scale. Two groups, red and blue, fight on a square map
 * with walls on its border; every agent either moves or attacks on each step.
 *
 * | Property             | Value                                                              |
 * |----------------------|--------------------------------------------------------------------|
 * | Groups               | red (0), blue (1); `agents` slots each (default floor(0.2 map)^2)   |
 * | Map                  | map x map cells; the border cells are walls                         |
 * | Actions              | Discrete(21): 13 moves (0..12, 6 = stay), 8 attacks (13..20)        |
 * | Moves                | any cell within a circle of radius 2 (dx^2 + dy^2 <= 4), jumping    |
 * | Attacks              | the 8 neighbours (circle of radius 1.5 without the centre)          |
 * | View                 | 13 x 13 x 5, channels last, circle of radius 6 around the agent     |
 * | View channels        | obstacle (wall or off the map), own group, own hp, other group,     |
 * |                      | other hp; hp = hp / 10; cells outside the view circle are 0         |
 * | Features (24)        | one-hot of the action just taken (21; zeros before the first),     |
 * |                      | the reward just received, x / map, y / map                          |
 * | HP                   | 10 at start; an attack does 2 damage; +0.1 recovered each step      |
 * |                      | (capped at 10); an agent dies when its hp falls below 0 (MAgent's   |
 * |                      | rule: hp exactly 0 survives)                                        |
 * | Rewards (each step)  | -0.005 step; -0.1 for any attack; +0.2 for an attack that damages   |
 * |                      | an enemy; +5 for a kill (instead of the +0.2); an agent that dies   |
 * |                      | gets -0.1 in place of everything else that step (+0.2 if it had     |
 * |                      | already damaged an enemy that step: MAgent evaluates that rule last) |
 * | Friendly fire        | none: attacking a cell with a friend, a wall or nothing only costs  |
 * |                      | the -0.1 attack penalty                                             |
 * | Termination          | a group is wiped out: every live agent terminates; an agent that    |
 * |                      | dies terminates on that step                                        |
 * | Truncation           | after `maxSteps` steps (default 1000): every live agent             |
 * | Placement `block`    | two facing square blocks (spacing 2, 3 cells either side of the     |
 * |                      | centre line) filled column by column, as MAgent's generate_map      |
 * | Placement `random`   | uniform over free interior cells; slots numbered in row-major order  |
 * | Placement `explicit` | positions (and hp) given in the config: for tests and scenarios     |
 *
 * One step, in this order (all ties are broken by the environment's seeded Rng, so one seed and
 * one action sequence give one trajectory, on one thread or several):
 *   1. Attacks, one at a time, in an order drawn per step, on the state as it is at that moment
 *      (MAgent shuffles its attack buffer too): an agent killed earlier in the order does
 *      not attack; an attack on a cell emptied earlier in the order hits nothing. Simultaneous
 *      attacks on one agent therefore add up, and the kill goes to the attacker that lands the
 *      fatal blow; of two agents attacking each other, the first in the order may kill the other.
 *   2. Recovery: every agent still alive recovers 0.1 hp.
 *   3. Moves, one at a time, in an order drawn per step: a move succeeds when its target cell is
 *      inside the walls and empty at that moment; otherwise the agent stays. A cell left earlier in
 *      the order can be entered; of two agents moving into one cell, the first in the order gets it.
 *      (MAgent moves agents in group and slot order; the drawn order removes that bias.)
 *   4. End of episode, then observations for every live agent (dead agents' are zeroed).
 * The drawn orders, the same for attacks and for moves, keep memory access local and let threads
 * share the work: the map is cut into bands of 4 rows, each band into tiles of 64 cells; a fair
 * coin decides whether the even or the odd bands go first; inside a band its tiles come in a
 * random order and the agents of each tile in a random order. An attack reaches 1 row and a move
 * 2, so bands of one parity (5+ rows apart) never interact: they run in parallel with `threads`
 * > 1, with the same result. Any two agents that can interact come in either order with
 * probability 1/2, as in a uniform shuffle.
 *
 * Speed: the state is struct-of-arrays (positions Int32Array, hp Float32Array, an occupancy grid
 * Int32Array); the step is one pass over the actions plus the attack and move lists, and allocates
 * nothing. Observations, where MAgent spends most of its time, are copied, not built: each group
 * keeps a padded, interleaved (height x width x 5) float map of the world from its own perspective,
 * updated in place on every move, hit and death; an agent's view is 13 row copies from it
 * (battle-kernels.ts). The copy runs in WebAssembly (SIMD loads and stores, battle-wasm.ts) over
 * one WebAssembly.Memory that holds the whole state when it fits in 4 GiB (2x500k on 3200x3200
 * does), else in JS (`copyWithin`); both give the same bytes. With `threads` > 1 that memory is
 * shared and worker threads take part in the attacks, the moves and the views (battle-threads.ts):
 * byte-identical to one thread.
 *
 * The files: this one holds the rules (reset and the step, with the order it draws);
 * battle-config.ts the config, what it implies and the placement; battle-constants.ts every
 * constant; battle-kernels.ts the state and what each thread runs on it (attacks, moves,
 * observations); battle-wasm.ts the observation copy compiled to WebAssembly; battle-threads.ts
 * the memory, the kernels and the worker threads a Battle steps with.
 */
import {
  allocAgentsFrame,
  defineEnvironment,
  type Environment,
  type EnvSpec,
  GibbsError,
  type GroupStep,
  type RenderFrame,
  Rng,
  type StepOutput,
  stepAfterDone,
  validateActions,
} from '@gibbs/core';
import {
  type BattleConfig,
  type BattleConfigInput,
  battleConfig,
  battleSpec,
  groupSizes,
  parseConfig,
  placeAgents,
  rewardsOf,
} from './battle-config.ts';
import {
  BATTLE_GROUPS,
  EMPTY,
  MAX_HP,
  N_FEATURES,
  N_MOVES,
  STAY,
  STEP_RECOVER,
  TILE_X_SHIFT,
  TILE_Y_SHIFT,
  VIEW_SIZE,
  WALL,
} from './battle-constants.ts';
import {
  attackBands,
  type BattleState,
  bandsOfParity,
  CTRL,
  initMaps,
  type Kernels,
  layoutOf,
  moveBands,
  putAgent,
  type Rewards,
  writeHp,
} from './battle-kernels.ts';
import { type StepPool, setUpKernels } from './battle-threads.ts';

// What moved out of this file stays importable from it (`@gibbs/env/battle`).
export {
  type BattleConfig,
  type BattleConfigInput,
  battleConfig,
  blockCells,
  defaultAgents,
  maxAgents,
} from './battle-config.ts';
export {
  ACTION_DX,
  ACTION_DY,
  ACTION_NAMES,
  BATTLE_GROUPS,
  CHANNEL_NAMES,
  DAMAGE,
  MAX_HP,
  N_ACTIONS,
  N_ATTACKS,
  N_FEATURES,
  N_MOVES,
  STAY,
  STEP_RECOVER,
  VIEW_CHANNELS,
  VIEW_RADIUS,
  VIEW_SIDE,
  VIEW_SIZE,
} from './battle-constants.ts';

/** Wall-clock time of the two phases of `step`, summed over the steps since construction. */
export interface BattleTimings {
  steps: number;
  /** Attacks, recovery, moves, rewards, termination. */
  stepMs: number;
  /** Views and features of every live agent. */
  obsMs: number;
}

export class Battle implements Environment {
  readonly spec: EnvSpec;
  readonly config: BattleConfig;
  readonly width: number;
  readonly height: number;
  /** Threads that build observations (1: this thread only). */
  readonly threads: number;
  /** Which observation kernel runs: WebAssembly (state within 4 GiB) or JS copyWithin. */
  readonly kernel: 'wasm' | 'js';
  /** [steps, stepMs, obsMs]: a typed array, so that adding times allocates no heap numbers. */
  private readonly clock = new Float64Array(3);
  private timed = false;

  private readonly rng = new Rng(0);
  private readonly n0: number;
  private readonly n: number;
  private readonly caps: readonly [number, number];
  private readonly obs: BattleState;
  private readonly kernels: Kernels;
  private readonly pool: StepPool | null;
  /** Control block of the thread pool (and the move counters of moveBands). */
  private readonly ctrl: Int32Array;
  // state, indexed by global agent index (red 0..n0-1, blue n0..n-1): views of `obs`'s arrays
  private readonly px: Int32Array;
  private readonly py: Int32Array;
  private readonly hp: Float32Array;
  private readonly alive: Uint8Array;
  /** `alive` per group (views of it), for validateActions. */
  private readonly aliveByGroup: readonly Uint8Array[];
  private readonly reward: Float32Array;
  private readonly terminated: Uint8Array;
  private readonly truncated: Uint8Array;
  private readonly lastAction: Int32Array;
  private readonly heading: Float32Array;
  /** Step on which the agent last damaged an enemy without killing it (the +0.2 rule). */
  private readonly hitStep: Int32Array;
  private readonly occ: Int32Array;
  private readonly attackers: Int32Array;
  private readonly movers: Int32Array;
  private readonly tilesX: number;
  /** Tiles band by band, each band's tiles in the drawn order (see attacks, moves). */
  private readonly bandTiles: Int32Array;
  private readonly moveCounts = new Int32Array(2);
  /** Hits of red, blue, kills of red, blue on the last step. */
  private readonly attackCounts = new Int32Array(4);
  private readonly rewards: Rewards;
  private readonly tileCount: Int32Array;
  private readonly tileStart: Int32Array;
  private readonly aliveCount = new Int32Array(2);
  private readonly episodeKills = new Int32Array(2);
  /** The step reward as float32, like MAgent's (the others are in `rewards`). */
  private readonly rStep: number;

  private readonly info: Record<string, number>;
  private readonly out: {
    groups: GroupStep[];
    step: number;
    done: boolean;
    info: Record<string, number>;
  };
  private started = false;
  private episode = -1;

  constructor(input: BattleConfigInput = {}) {
    const cfg = parseConfig(input);
    warmUp();
    this.config = cfg;
    const map = cfg.map;
    this.width = map;
    this.height = map;
    const caps = groupSizes(cfg);
    this.caps = caps;
    this.n0 = caps[0];
    this.n = caps[0] + caps[1];
    this.threads = cfg.threads;
    this.spec = battleSpec(cfg, caps);
    this.rStep = Math.fround(cfg.stepReward);
    this.rewards = rewardsOf(cfg);
    const set = setUpKernels(layoutOf(map, map, caps[0], caps[1]), {
      kernel: cfg.kernel,
      threads: cfg.threads,
      rewards: this.rewards,
    });
    this.kernel = set.kernel;
    this.obs = set.state;
    this.ctrl = set.ctrl;
    this.kernels = set.kernels;
    this.pool = set.pool;
    const n = this.n;
    const { mapFloats, features, bufs } = this.obs;
    this.px = this.obs.px;
    this.py = this.obs.py;
    this.alive = this.obs.alive;
    this.lastAction = this.obs.lastAction;
    this.reward = this.obs.reward;
    this.hp = this.obs.hp;
    this.terminated = this.obs.terminated;
    this.truncated = new Uint8Array(n);
    this.heading = this.obs.heading;
    this.hitStep = this.obs.hitStep;
    this.occ = this.obs.occ;
    this.attackers = new Int32Array(n);
    this.movers = new Int32Array(n);
    this.tilesX = ((map - 1) >> TILE_X_SHIFT) + 1;
    const tiles = this.tilesX * (((map - 1) >> TILE_Y_SHIFT) + 1);
    this.bandTiles = Int32Array.from({ length: tiles }, (_, i) => i);
    this.tileCount = new Int32Array(tiles);
    this.tileStart = new Int32Array(tiles);

    // What step and reset return: views into the state, filled in place.
    const outGroups: GroupStep[] = BATTLE_GROUPS.map((_, g) => {
      const lo = g === 0 ? 0 : this.n0;
      const hi = lo + caps[g];
      return {
        view: bufs[g].subarray(mapFloats, mapFloats + caps[g] * VIEW_SIZE),
        features: features.subarray(lo * N_FEATURES, hi * N_FEATURES),
        reward: this.reward.subarray(lo, hi),
        alive: this.alive.subarray(lo, hi),
        terminated: this.terminated.subarray(lo, hi),
        truncated: this.truncated.subarray(lo, hi),
      };
    });
    this.info = {};
    for (const k of ['alive', 'kills', 'attacks', 'hits', 'moves'])
      for (const name of BATTLE_GROUPS) this.info[`${k}.${name}`] = 0;
    this.out = { groups: outGroups, step: 0, done: false, info: this.info };
    this.aliveByGroup = outGroups.map((o) => o.alive);
  }

  /**
   * Milliseconds spent in each phase of the steps timed so far (for `pnpm gibbs bench`). The first
   * call switches timing on: reading the clock allocates (Node's performance.now builds an
   * hrtime array), and an untimed step allocates nothing at all.
   */
  phaseMs(): Record<string, number> {
    this.timed = true;
    return { observations: this.clock[2], step: this.clock[1] };
  }

  /** Steps timed so far and the milliseconds of each phase (timing on: see phaseMs). */
  get timings(): BattleTimings {
    this.timed = true;
    return { steps: this.clock[0], stepMs: this.clock[1], obsMs: this.clock[2] };
  }

  /** Resolves once every worker thread has started (they join the work as soon as they are up). */
  ready(): Promise<void> {
    return this.pool ? this.pool.ready() : Promise.resolve();
  }

  /** Stop the worker threads (a single-thread Battle has none). */
  async dispose(): Promise<void> {
    await this.pool?.dispose();
  }

  // ---- reset --------------------------------------------------------------------------------

  reset(seed: number): StepOutput {
    if (typeof seed !== 'number' || !Number.isFinite(seed))
      throw GibbsError.invalid('battle: reset seed', seed, 'a finite number');
    this.rng.reseed(seed);
    // The tile orders are reshuffled from where they were: start every episode from the identity.
    for (let i = 0; i < this.bandTiles.length; i++) this.bandTiles[i] = i;
    this.started = true;
    this.episode++;
    const { width: W, height: H, occ, n } = this;
    occ.fill(EMPTY);
    for (let x = 0; x < W; x++) {
      occ[x] = WALL;
      occ[(H - 1) * W + x] = WALL;
    }
    for (let y = 0; y < H; y++) {
      occ[y * W] = WALL;
      occ[y * W + W - 1] = WALL;
    }
    initMaps(this.obs);

    placeAgents(this.config, this.rng, this.obs); // positions and hp
    this.alive.fill(1);
    this.reward.fill(0);
    this.terminated.fill(0);
    this.truncated.fill(0);
    this.lastAction.fill(-1);
    this.heading.fill(Number.NaN);
    this.hitStep.fill(0);
    for (let a = 0; a < n; a++) {
      occ[this.py[a] * W + this.px[a]] = a;
      putAgent(this.obs, a);
    }
    this.aliveCount[0] = this.caps[0];
    this.aliveCount[1] = this.caps[1];
    this.episodeKills.fill(0);
    this.out.step = 0;
    this.out.done = false;
    for (const k of Object.keys(this.info)) this.info[k] = 0;
    this.info['alive.red'] = this.caps[0];
    this.info['alive.blue'] = this.caps[1];
    this.observe();
    return this.out;
  }

  // ---- step ---------------------------------------------------------------------------------

  step(actions: readonly Int32Array[]): StepOutput {
    if (!this.started)
      throw new GibbsError(
        'battle: step before reset; call reset(seed) first',
        'step',
        'not reset',
        'reset(seed) first',
      );
    if (this.out.done) throw stepAfterDone(this.spec, this.out.step);
    validateActions(this.spec, actions, this.aliveByGroup);
    const timed = this.timed;
    const t0 = timed ? performance.now() : 0;
    const t = ++this.out.step;
    const { alive, reward, lastAction, hp, attackers, movers, n0, n, terminated } = this;
    const info = this.info;
    reward.fill(0);
    terminated.fill(0);
    let nAtt = 0;
    let nMov = 0;
    let attacks0 = 0;
    let attacks1 = 0;

    // 1. Record every live agent's action; its reward starts at the step reward.
    const act0 = actions[0];
    const act1 = actions[1];
    for (let a = 0; a < n; a++) {
      if (alive[a] === 0) continue;
      const v = a < n0 ? act0[a] : act1[a - n0];
      lastAction[a] = v;
      reward[a] = this.rStep;
      if (v >= N_MOVES) {
        attackers[nAtt++] = a;
        if (a < n0) attacks0++;
        else attacks1++;
      } else if (v !== STAY) movers[nMov++] = a;
    }

    // 2. Attacks, in an order drawn per step, one at a time on the current state.
    this.attacks(attackers, nAtt, t);
    const hits0 = this.attackCounts[0];
    const hits1 = this.attackCounts[1];
    const kills0 = this.attackCounts[2];
    const kills1 = this.attackCounts[3];
    this.aliveCount[1] -= kills0;
    this.aliveCount[0] -= kills1;

    // 3. Recovery of every agent still alive.
    for (let a = 0; a < n; a++) {
      if (alive[a] === 0 || hp[a] >= MAX_HP) continue;
      const h = hp[a] + STEP_RECOVER;
      hp[a] = Math.min(h, MAX_HP);
      writeHp(this.obs, a);
    }

    // 4. Moves, in an order drawn per step, one at a time on the current state.
    this.moves(movers, nMov);
    const moves0 = this.moveCounts[0];
    const moves1 = this.moveCounts[1];

    // 5. End of the episode: a group wiped out (termination) or the time limit (truncation).
    const c0 = this.aliveCount[0];
    const c1 = this.aliveCount[1];
    if (c0 === 0 || c1 === 0) {
      for (let a = 0; a < n; a++) if (alive[a] === 1) terminated[a] = 1;
      this.out.done = true;
    } else if (t >= this.config.maxSteps) {
      this.truncated.set(alive);
      this.out.done = true;
    }
    this.episodeKills[0] += kills0;
    this.episodeKills[1] += kills1;
    info['alive.red'] = c0;
    info['alive.blue'] = c1;
    info['kills.red'] = kills0;
    info['kills.blue'] = kills1;
    info['attacks.red'] = attacks0;
    info['attacks.blue'] = attacks1;
    info['hits.red'] = hits0;
    info['hits.blue'] = hits1;
    info['moves.red'] = moves0;
    info['moves.blue'] = moves1;

    if (!timed) {
      this.observe();
      return this.out;
    }
    const t1 = performance.now();
    this.observe();
    const t2 = performance.now();
    this.clock[0]++;
    this.clock[1] += t1 - t0;
    this.clock[2] += t2 - t1;
    return this.out;
  }

  /**
   * The attacks, like the moves (see there): band by band, even or odd bands first by a coin,
   * bands of one parity together (see attackBands), split among the threads.
   */
  private attacks(attackers: Int32Array, nAtt: number, step: number): void {
    const tx = this.tilesX;
    const tiles = this.bandTiles;
    for (let b = 0; b < tiles.length; b += tx) shuffle(this.rng, tiles, b, tx);
    this.drawOrder(attackers, nAtt, tiles, this.obs.bandStart);
    const first = drawInt(this.rng, 2);
    const counts = this.attackCounts;
    counts.fill(0);
    this.ctrl[CTRL.STEP] = step;
    for (let phase = 0; phase < 2; phase++) {
      const parity = phase === 0 ? first : 1 - first;
      const n = bandsOfParity(this.height, parity);
      if (this.pool) this.pool.runAttacks(this.kernels, parity, n);
      else attackBands(this.obs, this.rewards, step, parity, 0, n, counts, 0);
    }
    if (this.pool) this.pool.takeAttacks(counts);
  }

  /**
   * The moves: bands of 4 rows; a fair coin picks whether the even or the odd bands go first,
   * and bands of one parity (5+ rows apart, see moveBands) run together, split among the threads.
   * Inside a band, its tiles come in a random order and its movers in a random order per tile.
   */
  private moves(movers: Int32Array, nMov: number): void {
    const tx = this.tilesX;
    const tiles = this.bandTiles;
    for (let b = 0; b < tiles.length; b += tx) shuffle(this.rng, tiles, b, tx);
    this.drawOrder(movers, nMov, tiles, this.obs.bandStart);
    const first = drawInt(this.rng, 2);
    const counts = this.moveCounts;
    counts.fill(0);
    for (let phase = 0; phase < 2; phase++) {
      const parity = phase === 0 ? first : 1 - first;
      const n = bandsOfParity(this.height, parity);
      if (this.pool) this.pool.runMoves(this.kernels, parity, n);
      else moveBands(this.obs, parity, 0, n, counts, 0);
    }
    if (this.pool) this.pool.takeMoves(counts);
  }

  /**
   * Write into `order` the first `len` agents of `list` in this step's drawn order: tile by tile
   * in the order of `tiles`, and in a random order inside each tile (a counting sort by tile,
   * then a Fisher-Yates shuffle of each tile's run). Any two agents are thus ordered by a fair
   * coin, as in a uniform shuffle, while agents processed one after the other are neighbours on
   * the map, so that their cells, maps and slots stay in cache. With `bands`, `tiles` lists the
   * tiles band by band (tile rows are the 4-row move bands) and bands[b] gets the start of band
   * b's run.
   */
  private drawOrder(list: Int32Array, len: number, tiles: Int32Array, bands: Int32Array | null) {
    const { px, py, tileCount: count, tileStart: start } = this;
    const order = this.obs.order;
    const tx = this.tilesX;
    count.fill(0);
    for (let k = 0; k < len; k++) {
      const a = list[k];
      count[(py[a] >> TILE_Y_SHIFT) * tx + (px[a] >> TILE_X_SHIFT)]++;
    }
    let run = 0;
    for (let i = 0; i < tiles.length; i++) {
      if (bands !== null && i % tx === 0) bands[i / tx] = run;
      const t = tiles[i];
      start[t] = run;
      run += count[t];
    }
    if (bands !== null) bands[bands.length - 1] = run;
    for (let k = 0; k < len; k++) {
      const a = list[k];
      order[start[(py[a] >> TILE_Y_SHIFT) * tx + (px[a] >> TILE_X_SHIFT)]++] = a;
    }
    // start[t] is now the end of tile t's run
    for (let i = 0; i < tiles.length; i++) {
      const t = tiles[i];
      if (count[t] > 1) shuffle(this.rng, order, start[t] - count[t], count[t]);
    }
  }

  private observe(): void {
    if (this.pool) this.pool.runObserve(this.kernels);
    else this.kernels.observe(0, this.n);
  }

  // ---- inspection and rendering -------------------------------------------------------------

  /** Global index of a slot, checked. */
  private index(group: number, slot: number): number {
    if (group !== 0 && group !== 1)
      throw GibbsError.invalid('battle: group', group, '0 (red) or 1 (blue)');
    if (!Number.isInteger(slot) || slot < 0 || slot >= this.caps[group])
      throw GibbsError.invalid(
        `battle: slot of ${BATTLE_GROUPS[group]}`,
        slot,
        `an integer in [0, ${this.caps[group] - 1}]`,
      );
    return (group === 0 ? 0 : this.n0) + slot;
  }

  /** Position, hp and last action of one slot (for tests and the inspector). */
  agent(
    group: number,
    slot: number,
  ): { x: number; y: number; hp: number; alive: boolean; action: number } {
    const a = this.index(group, slot);
    return {
      x: this.px[a],
      y: this.py[a],
      hp: this.hp[a],
      alive: this.alive[a] === 1,
      action: this.lastAction[a],
    };
  }

  /** Who is at a cell: 'wall', 'empty', or the group and slot of the agent there. */
  at(x: number, y: number): 'wall' | 'empty' | { group: number; slot: number } {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return 'wall';
    const a = this.occ[y * this.width + x];
    if (a === WALL) return 'wall';
    if (a === EMPTY) return 'empty';
    return a < this.n0 ? { group: 0, slot: a } : { group: 1, slot: a - this.n0 };
  }

  /** Live agents per group and kills per group since the last reset. */
  counts(): { alive: [number, number]; kills: [number, number] } {
    return {
      alive: [this.aliveCount[0], this.aliveCount[1]],
      kills: [this.episodeKills[0], this.episodeKills[1]],
    };
  }

  render(): RenderFrame {
    const { width: W, height: H, occ, n, n0 } = this;
    const cells = new Uint8Array(W * H);
    for (let c = 0; c < W * H; c++) {
      const a = occ[c];
      cells[c] = a === WALL ? 1 : a === EMPTY ? 0 : a < n0 ? 2 : 3;
    }
    const count = this.aliveCount[0] + this.aliveCount[1];
    const agents = allocAgentsFrame(count);
    let k = 0;
    for (let a = 0; a < n; a++) {
      if (this.alive[a] === 0) continue;
      const red = a < n0;
      agents.group[k] = red ? 0 : 1;
      agents.slot[k] = red ? a : a - n0;
      agents.x[k] = this.px[a];
      agents.y[k] = this.py[a];
      agents.hp[k] = Math.max(0, this.hp[a]) / MAX_HP;
      agents.heading[k] = this.heading[a];
      agents.action[k] = this.lastAction[a];
      agents.reward[k] = this.reward[a];
      k++;
    }
    return {
      step: this.out.step,
      episode: Math.max(0, this.episode),
      width: W,
      height: H,
      cells,
      legend: ['empty', 'wall', ...BATTLE_GROUPS],
      groups: [...BATTLE_GROUPS],
      agents,
    };
  }
}

// ---- the drawn order ---------------------------------------------------------------------

/**
 * rng.int(n), value for value, without its floating-point modulo in the common case: Lemire's
 * method draws m = u32 * n and rejects only when m mod 2^32 < (2^32 - n) mod n, which needs
 * computing only when m mod 2^32 < n.
 */
export function drawInt(rng: Rng, n: number): number {
  if (n > 2097152) return rng.int(n);
  for (;;) {
    const m = rng.u32() * n; // exact: < 2^53
    const hi = Math.floor(m / 4294967296);
    const low = m - hi * 4294967296;
    if (low >= n || low >= (4294967296 - n) % n) return hi;
  }
}

/** Fisher-Yates shuffle of list[from .. from+len) with `rng`. */
function shuffle(rng: Rng, list: Int32Array, from: number, len: number): void {
  for (let i = len - 1; i > 0; i--) {
    const j = from + drawInt(rng, i + 1);
    const tmp = list[from + i];
    list[from + i] = list[j];
    list[j] = tmp;
  }
}

/**
 * Once per process, before the first Battle: play a few scripted steps on a tiny throwaway Battle
 * that take every branch of the step (a hit, a kill, the death of an agent that hit someone that
 * same step, moves, a group wiped out, the time limit), and reseed throwaway Rngs so that each of
 * xoshiro's four state fields has held a value of 2^31 or more. V8 compiles the hot functions with
 * the type feedback of the branches run so far and the field representations seen so far; without
 * this, the first kill, the first end of an episode and the first reseed that stores a large
 * number in a field deoptimize the whole step pipeline (attacks, moves, the drawn orders, the Rng),
 * and on a busy machine it runs several times slower for tens of milliseconds each time, until
 * recompiled: at small sizes most of a few-thousand-step run. No state is shared with any other
 * Battle (each has its own buffers and Rng): results are the same with or without it.
 */
let warmed = false;
function warmUp(): void {
  if (warmed) return;
  warmed = true;
  // seeds 0, 1, 2 and 5 put a value >= 2^31 in s0, s2, s3 and s1 respectively
  for (const seed of [0, 1, 2, 5]) new Rng(seed);
  const right = 13 + 4; // attack (1, 0)
  const left = 13 + 3; // attack (-1, 0)
  // Blue 0 (hp 1) hits red 0 and is killed by red 0 or red 2: when it goes first in the drawn
  // order it dies having hit (a third of the episodes); red 1 kills blue 1; blue 2 moves.
  // The time limit ends each episode.
  const fight = new Battle({
    map: 8,
    placement: 'explicit',
    maxSteps: 3,
    explicit: {
      red: [
        { x: 2, y: 2 },
        { x: 2, y: 4 },
        { x: 4, y: 2 },
      ],
      blue: [
        { x: 3, y: 2, hp: 1 },
        { x: 3, y: 4, hp: 1 },
        { x: 6, y: 6 },
      ],
    },
  });
  const acts = [new Int32Array(3), new Int32Array(3)];
  for (let episode = 0; episode < 8; episode++) {
    fight.reset(episode);
    for (let t = 0; t < 3; t++) {
      acts[0].set(t === 0 ? [right, right, left] : [t, 13 + t, 6]);
      acts[1].set(t === 0 ? [left, 12, 3] : [13 + t, t + 7, 0]);
      fight.step(acts);
    }
  }
  // One group wiped out, by either.
  for (const redKills of [true, false]) {
    const wipe = new Battle({
      map: 6,
      placement: 'explicit',
      explicit: {
        red: [{ x: 2, y: 2, hp: redKills ? 10 : 1 }],
        blue: [{ x: 3, y: 2, hp: redKills ? 1 : 10 }],
      },
    });
    wipe.reset(0);
    wipe.step([Int32Array.of(redKills ? right : STAY), Int32Array.of(redKills ? STAY : left)]);
  }
}

export const battle = defineEnvironment({
  name: 'battle',
  description:
    "MAgent2's battle_v4: red vs blue, hp 10, damage 2, 21 actions (13 moves, 8 attacks), 13x13x5 circular views",
  config: battleConfig,
  create: (config) => new Battle(config),
});
