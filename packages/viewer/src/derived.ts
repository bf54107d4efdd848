/**
 * Series the viewer derives from a record for its charts: Onsager's exact free energy per site of
 * the Ising lattice at the record's temperature (beside the exact energy the experiment logs).
 */
import type { MetricRecord } from '@gibbs/core';
import { couplingOf } from '@gibbs/env/ising-mcmc';

const POINTS = 256;

/**
 * Onsager's free energy per site of the infinite square lattice, in units of J, at temperature τ
 * (the game's convention βJ = 1 / (2τ)):
 *
 *   -βf = ln(2 cosh 2K) + (1 / 2π) ∫_0^π ln[(1 + √(1 - κ² sin² φ)) / 2] dφ,
 *   κ = 2 sinh 2K / cosh² 2K,   K = βJ
 *
 * (L. Onsager, Phys. Rev. 65, 117 (1944)); Simpson's rule over 256 intervals. Limits: -2 (all
 * aligned) as τ → 0, -ln 2 / K as τ → ∞.
 */
export function onsagerFreeEnergy(tau: number): number {
  const K = couplingOf(tau);
  const c = Math.cosh(2 * K);
  const kappa = Math.min(1, (2 * Math.sinh(2 * K)) / (c * c));
  const g = (phi: number) => {
    const s = kappa * Math.sin(phi);
    return Math.log((1 + Math.sqrt(Math.max(0, 1 - s * s))) / 2);
  };
  const h = Math.PI / POINTS;
  let sum = g(0) + g(Math.PI);
  for (let i = 1; i < POINTS; i++) sum += (i % 2 === 1 ? 4 : 2) * g(i * h);
  const integral = (sum * h) / 3;
  // ln(2 cosh 2K) without overflow for large K.
  const lnTwoCosh = 2 * K + Math.log1p(Math.exp(-4 * K));
  const minusBetaF = lnTwoCosh + integral / (2 * Math.PI);
  return -minusBetaF / K;
}

let cachedTau = Number.NaN;
let cachedF = Number.NaN;

/** The record with the viewer's derived values added (the same object when there are none). */
export function withDerived(r: MetricRecord): MetricRecord {
  const tau = r.values.temperature;
  if (typeof r.values.exact_energy !== 'number' || !(typeof tau === 'number' && tau > 0)) return r;
  if (tau !== cachedTau) {
    cachedTau = tau;
    cachedF = onsagerFreeEnergy(tau);
  }
  return { ...r, values: { ...r.values, exact_free_energy: cachedF } };
}
