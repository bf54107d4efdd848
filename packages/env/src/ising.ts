/**
 * The Ising lattice as a multi-agent game (Yang et al. 2018, the Ising experiment; mlii/mfrl's
 * Ising): an L x L periodic square lattice with one agent per site. Agent i chooses its spin,
 * action 0 = down (s = -1), 1 = up (s = +1); all agents act at once, and each is paid
 *
 *   r_i = 0.5 * s_i * h_i,     h_i = Σ_{j ∈ 4 nearest neighbours} s_j       (after the step)
 *
 * so the sum of all rewards is the sum over bonds of s_i s_j, and the energy per site
 * E/N = -Σ_bonds s_i s_j / N (coupling J = 1) is minus the mean reward.
 *
 * Observation of agent i (no spatial view, 2 features): [own spin s_i in {-1, +1}, number of up
 * neighbours k_i in 0..4]. k_i is the agent's neighbourhood mean action in disguise:
 * ā_i(up) = k_i / 4, h_i = 2 k_i - 4.
 *
 * Metrics (StepOutput.info and methods): `order` ξ = |N_up - N_down| / N, `energy` per site,
 * `magnetisation` (N_up - N_down) / N.
 */
import {
  allocGroupStep,
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
import { z } from 'zod';

export const isingConfig = z.object({
  size: z.number().int().min(2).max(4096).default(20).describe('lattice side L (N = L * L agents)'),
  maxSteps: z.number().int().positive().default(1000).describe('steps per episode'),
  init: z
    .enum(['random', 'up', 'down'])
    .default('random')
    .describe('initial spins: independent fair coins, or all up / all down'),
});
export type IsingConfig = z.infer<typeof isingConfig>;

/** Action indices. */
export const SPIN_DOWN = 0;
export const SPIN_UP = 1;

/**
 * Neighbour field h_i = Σ of the 4 neighbours' spins (-4..4) of every site of a periodic L x L
 * lattice of ±1 spins, written into `out`.
 */
export function neighbourField(spins: Int8Array, L: number, out: Int8Array): Int8Array {
  for (let y = 0; y < L; y++) {
    const row = y * L;
    const up = ((y + L - 1) % L) * L;
    const down = ((y + 1) % L) * L;
    for (let x = 0; x < L; x++) {
      const left = x === 0 ? L - 1 : x - 1;
      const right = x === L - 1 ? 0 : x + 1;
      out[row + x] = spins[row + left] + spins[row + right] + spins[up + x] + spins[down + x];
    }
  }
  return out;
}

/** Energy per site -Σ_bonds s_i s_j / N (each bond once: right and down neighbours). */
export function energyPerSite(spins: Int8Array, L: number): number {
  let bonds = 0;
  for (let y = 0; y < L; y++) {
    const row = y * L;
    const down = ((y + 1) % L) * L;
    for (let x = 0; x < L; x++) {
      const s = spins[row + x];
      bonds += s * (spins[row + (x === L - 1 ? 0 : x + 1)] + spins[down + x]);
    }
  }
  return -bonds / (L * L);
}

/** Magnetisation (N_up - N_down) / N. */
export function magnetisation(spins: Int8Array): number {
  let m = 0;
  for (let i = 0; i < spins.length; i++) m += spins[i];
  return m / spins.length;
}

/** Fill ±1 spins as the `init` option says. */
export function initSpins(spins: Int8Array, init: IsingConfig['init'], rng: Rng): void {
  if (init === 'up') spins.fill(1);
  else if (init === 'down') spins.fill(-1);
  else for (let i = 0; i < spins.length; i++) spins[i] = rng.u32() & 1 ? 1 : -1;
}

export class IsingEnv implements Environment {
  readonly spec: EnvSpec;
  readonly size: number;
  /** Current spins, ±1, row-major (index y * L + x). Read-only for callers. */
  readonly spins: Int8Array;
  private readonly field: Int8Array;
  private readonly out: GroupStep;
  /** The out's alive mask, as validateActions takes it. */
  private readonly alive: readonly Uint8Array[];
  private readonly lastAction: Int16Array;
  private readonly rng = new Rng(0);
  private steps = 0;
  private episode = -1;
  private info: Record<string, number> = { order: 0, energy: 0, magnetisation: 0 };

  constructor(readonly config: IsingConfig) {
    const L = config.size;
    if (!(Number.isInteger(L) && L >= 2 && L <= 4096))
      throw GibbsError.invalid('ising.size', L, 'an integer in [2, 4096]');
    if (!(Number.isInteger(config.maxSteps) && config.maxSteps >= 1))
      throw GibbsError.invalid('ising.maxSteps', config.maxSteps, 'an integer >= 1');
    if (!['random', 'up', 'down'].includes(config.init))
      throw GibbsError.invalid('ising.init', config.init, '"random", "up" or "down"');
    this.size = L;
    const N = L * L;
    this.spec = {
      name: 'ising',
      groups: [
        {
          name: 'spins',
          capacity: N,
          view: null,
          features: 2,
          actions: 2,
          actionNames: ['down', 'up'],
        },
      ],
      maxSteps: config.maxSteps,
      grid: { width: L, height: L },
    };
    this.spins = new Int8Array(N);
    this.field = new Int8Array(N);
    this.out = allocGroupStep(this.spec.groups[0]);
    this.alive = [this.out.alive];
    this.lastAction = new Int16Array(N).fill(-1);
  }

  reset(seed: number): StepOutput {
    this.rng.reseed(seed);
    initSpins(this.spins, this.config.init, this.rng);
    this.steps = 0;
    this.episode++;
    this.lastAction.fill(-1);
    this.out.alive.fill(1);
    this.out.reward.fill(0);
    this.out.terminated.fill(0);
    this.out.truncated.fill(0);
    this.observe(false);
    return this.output();
  }

  step(actions: readonly Int32Array[]): StepOutput {
    if (this.episode < 0) throw GibbsError.invalid('ising.step', 'before reset', 'reset() first');
    if (this.steps >= this.config.maxSteps) throw stepAfterDone(this.spec, this.steps);
    validateActions(this.spec, actions, this.alive);
    const a = actions[0];
    const N = this.spins.length;
    for (let i = 0; i < N; i++) {
      this.spins[i] = a[i] === SPIN_UP ? 1 : -1;
      this.lastAction[i] = a[i];
    }
    this.steps++;
    const truncated = this.steps >= this.config.maxSteps ? 1 : 0;
    this.out.truncated.fill(truncated);
    this.observe(true);
    return this.output();
  }

  /** Features, rewards and metrics from the current spins. */
  private observe(withReward: boolean): void {
    const { spins, field, out } = this;
    neighbourField(spins, this.size, field);
    let m = 0;
    let rewardSum = 0;
    for (let i = 0; i < spins.length; i++) {
      const s = spins[i];
      const h = field[i];
      out.features[2 * i] = s;
      out.features[2 * i + 1] = (h + 4) / 2;
      const r = 0.5 * s * h;
      if (withReward) out.reward[i] = r;
      rewardSum += r;
      m += s;
    }
    const N = spins.length;
    this.info = { order: Math.abs(m) / N, energy: -rewardSum / N, magnetisation: m / N };
  }

  private output(): StepOutput {
    return {
      groups: [this.out],
      step: this.steps,
      done: this.steps >= this.config.maxSteps,
      info: this.info,
    };
  }

  /** Order parameter ξ = |N_up - N_down| / N of the current spins. */
  order(): number {
    return this.info.order;
  }

  /** Energy per site, -Σ_bonds s_i s_j / N. */
  energy(): number {
    return this.info.energy;
  }

  magnetisation(): number {
    return this.info.magnetisation;
  }

  render(): RenderFrame {
    return renderSpins(this.spins, this.size, this.steps, Math.max(0, this.episode), {
      action: this.lastAction,
      reward: this.out.reward,
    });
  }
}

/**
 * A render frame of a ±1 spin lattice: cell code 1 = spin up, 2 = spin down, one agent per site.
 * `last` gives the agents' last actions and rewards (-1 and 0 without it). Fresh buffers.
 */
export function renderSpins(
  spins: Int8Array,
  L: number,
  step: number,
  episode: number,
  last?: { action: Int16Array; reward: Float32Array },
): RenderFrame {
  const N = L * L;
  const cells = new Uint8Array(N);
  for (let i = 0; i < N; i++) cells[i] = spins[i] > 0 ? 1 : 2;
  const agents = {
    count: N,
    group: new Uint8Array(N),
    slot: new Int32Array(N),
    x: new Float32Array(N),
    y: new Float32Array(N),
    hp: new Float32Array(N).fill(1),
    heading: new Float32Array(N).fill(Number.NaN),
    action: last ? Int16Array.from(last.action) : new Int16Array(N).fill(-1),
    reward: last ? Float32Array.from(last.reward) : new Float32Array(N),
  };
  for (let i = 0; i < N; i++) {
    agents.slot[i] = i;
    agents.x[i] = i % L;
    agents.y[i] = Math.floor(i / L);
  }
  return {
    step,
    episode,
    width: L,
    height: L,
    cells,
    legend: ['empty', 'spin up', 'spin down'],
    groups: ['spins'],
    agents,
  };
}

export const ising = defineEnvironment({
  name: 'ising',
  description:
    'Ising lattice (Yang et al. 2018): one agent per site of a periodic L x L lattice, action = spin, reward 0.5 * s_i * (sum of 4 neighbour spins)',
  config: isingConfig,
  create: (config) => new IsingEnv(config),
});
