/**
 * `pnpm gibbs run ising-mcmc --size 64 --temperature 0.8 --steps 1000`
 *
 * The physics baseline for the Ising game: a heat-bath (Glauber) or Metropolis chain in the game's
 * convention (τ acts on an agent's own reward 0.5 s h; β J = 1 / (2τ); τ_c ≈ 1.1346). One run
 * step = `sweeps` Monte Carlo sweeps (default 1: one update attempt per site), so `--steps` counts
 * sweeps by default. With `coolSteps` > 0 the temperature starts at `startTemperature` and cools
 * geometrically to `temperature` over that many steps (simulated annealing: a hot start that
 * cools through τ_c orders into one domain instead of freezing stripes in).
 *
 * Logged values: order |N_up - N_down| / N, energy per site, magnetisation, temperature, and
 * Onsager's infinite-lattice answers at the current temperature (exact_energy,
 * exact_magnetisation) for comparison.
 */
import { defineExperiment, GibbsError, type MetricRecord } from '@gibbs/core';
import { renderSpins } from '@gibbs/env/ising';
import {
  coolingTemperature,
  IsingMcmc,
  MIN_TEMPERATURE,
  onsagerEnergy,
  onsagerMagnetisation,
} from '@gibbs/env/ising-mcmc';
import { z } from 'zod';

export default defineExperiment({
  name: 'ising-mcmc',
  description:
    'MCMC reference for the Ising lattice (heat-bath or Metropolis, checkerboard sweeps), compared with Onsager',
  params: z.object({
    size: z.number().int().min(2).max(4096).default(64).describe('lattice side L'),
    temperature: z
      .number()
      .min(MIN_TEMPERATURE)
      .default(1)
      .describe('temperature tau (tau_c = 1.1346)'),
    sweeps: z.number().int().positive().default(1).describe('Monte Carlo sweeps per run step'),
    method: z.enum(['heat-bath', 'metropolis']).default('heat-bath').describe('update rule'),
    init: z.enum(['random', 'up', 'down']).default('random').describe('initial spins'),
    startTemperature: z
      .number()
      .min(MIN_TEMPERATURE)
      .default(2.5)
      .describe('temperature at step 0 when cooling'),
    coolSteps: z.number().int().min(0).default(0).describe('steps of geometric cooling (0: none)'),
  }),
  liveParams: ['temperature'],
  defaultSteps: 1000,
  create: ({ params, seed }) => {
    const p = { ...params };
    const mc = new IsingMcmc({ size: p.size, seed, init: p.init, method: p.method });
    let step = 0;
    let tau = coolingTemperature(0, p.temperature, p.startTemperature, p.coolSteps);
    return {
      advance() {
        tau = coolingTemperature(step, p.temperature, p.startTemperature, p.coolSteps);
        for (let k = 0; k < p.sweeps; k++) mc.sweep(tau);
        step++;
      },
      metrics(): MetricRecord {
        return {
          step,
          episode: 0,
          values: {
            order: mc.order(),
            energy: mc.energy(),
            magnetisation: mc.magnetisation(),
            temperature: tau,
            exact_energy: onsagerEnergy(tau),
            exact_magnetisation: onsagerMagnetisation(tau),
          },
          groups: {},
        };
      },
      frame: () => renderSpins(mc.spins, p.size, step, 0),
      setParam(name, value) {
        if (name !== 'temperature')
          throw GibbsError.invalid('live parameter', name, '"temperature"');
        if (typeof value !== 'number' || !(value >= MIN_TEMPERATURE))
          throw GibbsError.invalid('temperature', value, `a number >= ${MIN_TEMPERATURE}`);
        p.temperature = value;
        p.coolSteps = 0;
      },
    };
  },
});
