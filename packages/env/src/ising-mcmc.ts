/**
 * Markov chain Monte Carlo reference for the Ising lattice (./ising.ts), in the game's convention:
 * temperature τ acts on an agent's own reward r_i = 0.5 s_i h_i, so the heat-bath (Glauber) rule
 *
 *   P(s_i = +1 | h_i) = e^{h_i / 2τ} / (e^{h_i / 2τ} + e^{-h_i / 2τ}) = 1 / (1 + e^{-h_i / τ})
 *
 * samples the Boltzmann distribution of E = -J Σ_bonds s_i s_j with β J = 1 / (2τ). Onsager's
 * critical point β_c J = ln(1 + √2) / 2 is therefore at τ_c = 1 / ln(1 + √2) ≈ 1.1346.
 *
 * One sweep = one update attempt per site, colour by colour on a checkerboard (all sites with
 * x + y even, then all with x + y odd). On a lattice of even side the sites of one colour do not
 * neighbour each other, so a colour's updates are independent given the other colour (the order
 * that GPU and SIMD samplers parallelise); the updates are done in place, so the chain is a valid
 * single-site sampler for odd sides too.
 */
import { GibbsError, Rng } from '@gibbs/core';
import { energyPerSite, type IsingConfig, initSpins, magnetisation } from './ising.ts';

/** τ_c = 1 / ln(1 + √2) (Onsager 1944), in the game's convention β J = 1 / (2τ). */
export const CRITICAL_TEMPERATURE = 1 / Math.log(1 + Math.SQRT2);

/**
 * The lowest temperature the closed forms take: below τ ≈ 0.0028, cosh(2K)² overflows a double
 * and Onsager's energy is NaN. Experiments refuse temperatures under this bound at the boundary.
 */
export const MIN_TEMPERATURE = 0.01;

/** β J of the game's temperature τ. */
export function couplingOf(tau: number): number {
  return 1 / (2 * tau);
}

/**
 * Complete elliptic integral of the first kind K(k) = ∫_0^{π/2} dθ / √(1 - k² sin² θ), by the
 * arithmetic-geometric mean: K(k) = π / (2 AGM(1, √(1 - k²))). Infinite at k = 1.
 */
export function ellipticK(k: number): number {
  if (!(k >= 0 && k <= 1)) throw GibbsError.invalid('ellipticK modulus', k, 'a number in [0, 1]');
  let a = 1;
  let b = Math.sqrt(1 - k * k);
  if (b === 0) return Number.POSITIVE_INFINITY;
  for (let i = 0; i < 64 && Math.abs(a - b) > 1e-15 * a; i++) {
    const an = (a + b) / 2;
    b = Math.sqrt(a * b);
    a = an;
  }
  return Math.PI / (2 * a);
}

/**
 * Onsager's exact internal energy per site of the infinite square lattice, in units of J:
 *
 *   u = -coth(2K) [1 + (2/π) (2 tanh²(2K) - 1) K(q)],   q = 2 sinh(2K) / cosh²(2K),  K = βJ
 *
 * (L. Onsager, Phys. Rev. 65, 117 (1944), the derivative of his free energy with respect to β;
 * this form is the one in statistical-mechanics textbooks). At τ_c the elliptic integral
 * diverges while its prefactor vanishes: u(τ_c) = -√2.
 */
export function onsagerEnergy(tau: number): number {
  if (!(tau > 0)) throw GibbsError.invalid('temperature', tau, 'a number > 0');
  const K2 = 2 * couplingOf(tau);
  const t = Math.tanh(K2);
  const c = Math.cosh(K2);
  const q = Math.min(1, (2 * Math.sinh(K2)) / (c * c));
  const pre = 2 * t * t - 1;
  const ell = q >= 1 ? 0 : pre * ellipticK(q);
  return -(1 / t) * (1 + (2 / Math.PI) * ell);
}

/**
 * Spontaneous magnetisation per site of the infinite lattice (Onsager 1949, proved by C. N. Yang,
 * Phys. Rev. 85, 808 (1952)): M = (1 - sinh(2K)^-4)^(1/8) below τ_c, 0 above.
 */
export function onsagerMagnetisation(tau: number): number {
  if (!(tau > 0)) throw GibbsError.invalid('temperature', tau, 'a number > 0');
  const s = Math.sinh(2 * couplingOf(tau));
  const x = 1 - s ** -4;
  return x > 0 ? x ** 0.125 : 0;
}

/**
 * Exponential (geometric) cooling from `start` to `target` over `steps` steps, then `target`:
 * τ(t) = start * (target / start)^(t / steps). Simulated annealing through τ_c lets a finite
 * lattice pick one ordered domain instead of freezing into stripes; `steps` 0 means no cooling.
 */
export function coolingTemperature(
  step: number,
  target: number,
  start: number,
  steps: number,
): number {
  if (steps <= 0 || step >= steps || start <= target) return target;
  return start * (target / start) ** (step / steps);
}

export type McmcMethod = 'heat-bath' | 'metropolis';

export interface IsingMcmcOptions {
  size: number;
  seed: number;
  init?: IsingConfig['init'];
  method?: McmcMethod;
}

/** A single-site sampler over a typed array of ±1 spins (see the module comment). */
export class IsingMcmc {
  readonly size: number;
  readonly method: McmcMethod;
  /** Spins ±1, row-major (index y * L + x), the same layout as IsingEnv.spins. */
  readonly spins: Int8Array;
  private readonly rng: Rng;
  /** Acceptance thresholds for h = -4, -2, 0, 2, 4 (index (h + 4) / 2), per colour pass. */
  private readonly table = new Float64Array(5);
  private tableTau = Number.NaN;

  constructor(opts: IsingMcmcOptions) {
    if (!(Number.isInteger(opts.size) && opts.size >= 2 && opts.size <= 4096))
      throw GibbsError.invalid('size', opts.size, 'an integer in [2, 4096]');
    this.size = opts.size;
    this.method = opts.method ?? 'heat-bath';
    if (this.method !== 'heat-bath' && this.method !== 'metropolis')
      throw GibbsError.invalid('method', this.method, '"heat-bath" or "metropolis"');
    this.rng = new Rng(opts.seed);
    this.spins = new Int8Array(opts.size * opts.size);
    initSpins(this.spins, opts.init ?? 'random', this.rng);
  }

  /** One sweep at temperature τ: every site once, even colour first. */
  sweep(tau: number): void {
    if (!(tau > 0 && Number.isFinite(tau)))
      throw GibbsError.invalid('temperature', tau, 'a finite number > 0');
    if (tau !== this.tableTau) this.fillTable(tau);
    const { spins, size: L, rng, table } = this;
    const heatBath = this.method === 'heat-bath';
    for (let colour = 0; colour < 2; colour++) {
      for (let y = 0; y < L; y++) {
        const row = y * L;
        const up = ((y + L - 1) % L) * L;
        const down = ((y + 1) % L) * L;
        for (let x = (y + colour) & 1; x < L; x += 2) {
          const i = row + x;
          const h =
            spins[row + (x === 0 ? L - 1 : x - 1)] +
            spins[row + (x === L - 1 ? 0 : x + 1)] +
            spins[up + x] +
            spins[down + x];
          const p = table[(h + 4) >> 1];
          if (heatBath) {
            // table = P(up | h) = 1 / (1 + e^{-h/τ})
            spins[i] = rng.float() < p ? 1 : -1;
          } else if (spins[i] * h <= 0 || rng.float() < table[(spins[i] * h + 4) >> 1]) {
            // Metropolis: flipping s_i costs β ΔE = s_i h_i / τ; accept with min(1, e^{-s h/τ}).
            spins[i] = -spins[i];
          }
        }
      }
    }
  }

  private fillTable(tau: number): void {
    for (let j = 0; j < 5; j++) {
      const h = 2 * j - 4;
      this.table[j] =
        this.method === 'heat-bath' ? 1 / (1 + Math.exp(-h / tau)) : Math.exp(-h / tau);
    }
    this.tableTau = tau;
  }

  /** |N_up - N_down| / N. */
  order(): number {
    return Math.abs(magnetisation(this.spins));
  }

  magnetisation(): number {
    return magnetisation(this.spins);
  }

  /** -Σ_bonds s_i s_j / N. */
  energy(): number {
    return energyPerSite(this.spins, this.size);
  }
}
