/**
 * `pnpm gibbs run ising --size 20 --temperature 0.6 --steps 4000`
 *
 * Tabular MF-Q on the Ising lattice (packages/agents/src/ising-mfq.ts; Yang et al. 2018, the
 * Ising experiment): one Q-table per site over (number of up neighbours, action), Boltzmann
 * policy at temperature τ, Q ← Q + α (r - Q). One run step = one environment step (one joint action of all
 * L * L agents; under the default checkerboard schedule half of them sample on each step).
 *
 * With `coolSteps` > 0 the policy's temperature starts at `startTemperature` and cools
 * geometrically to `temperature` over that many steps (simulated annealing, as for ising-mcmc).
 *
 * Logged values: order |N_up - N_down| / N, energy per site (= -mean reward), magnetisation,
 * policy_entropy (mean over the agents that sampled, nats), temperature, q_mse (updated entries
 * against 0.5 s(a)(2k - 4)), and Onsager's exact_energy / exact_magnetisation at τ.
 */
import { IsingMfq } from '@gibbs/agents/ising-mfq';
import { defineExperiment, GibbsError, type MetricRecord } from '@gibbs/core';
import { IsingEnv } from '@gibbs/env/ising';
import {
  coolingTemperature,
  MIN_TEMPERATURE,
  onsagerEnergy,
  onsagerMagnetisation,
} from '@gibbs/env/ising-mcmc';
import { z } from 'zod';

export default defineExperiment({
  name: 'ising',
  description: 'Tabular MF-Q on the Ising lattice (Yang et al. 2018): the phase transition learned',
  params: z.object({
    size: z.number().int().min(2).max(2048).default(20).describe('lattice side L'),
    temperature: z
      .number()
      .min(MIN_TEMPERATURE)
      .default(1)
      .describe('Boltzmann temperature tau (tau_c = 1.1346)'),
    alpha: z.number().gt(0).max(1).default(0.1).describe('learning rate of Q += alpha (r - Q)'),
    meanAction: z
      .enum(['current', 'previous'])
      .default('current')
      .describe('up-count indexing the update: after the step (paper) or before it (mfrl code)'),
    schedule: z
      .enum(['checkerboard', 'synchronous'])
      .default('checkerboard')
      .describe('who samples each step: one checkerboard colour, or everybody'),
    init: z.enum(['random', 'up', 'down']).default('random').describe('initial spins'),
    startTemperature: z
      .number()
      .min(MIN_TEMPERATURE)
      .default(2.5)
      .describe('temperature at step 0 when cooling'),
    coolSteps: z
      .number()
      .int()
      .min(0)
      .default(1000)
      .describe('steps of geometric cooling (0: none)'),
  }),
  liveParams: ['temperature'],
  defaultSteps: 4000,
  create: ({ params, seed }) => {
    const p = { ...params };
    // One episode for the whole run: the spins and the Q-tables evolve together.
    const env = new IsingEnv({ size: p.size, init: p.init, maxSteps: 2 ** 31 - 1 });
    const agent = new IsingMfq({
      size: p.size,
      alpha: p.alpha,
      meanAction: p.meanAction,
      schedule: p.schedule,
      seed: seed + 1,
    });
    const actions = [new Int32Array(p.size * p.size)];
    let out = env.reset(seed);
    let step = 0;
    let tau = coolingTemperature(0, p.temperature, p.startTemperature, p.coolSteps);
    let entropy = 0;
    let qmse = 0;
    return {
      advance() {
        tau = coolingTemperature(step, p.temperature, p.startTemperature, p.coolSteps);
        entropy = agent.act(out.groups[0].features, tau, actions[0]);
        out = env.step(actions);
        qmse = agent.learn(out.groups[0].features, out.groups[0].reward);
        step++;
      },
      metrics(): MetricRecord {
        return {
          step,
          episode: 0,
          values: {
            order: env.order(),
            energy: env.energy(),
            magnetisation: env.magnetisation(),
            policy_entropy: entropy,
            temperature: tau,
            q_mse: qmse,
            exact_energy: onsagerEnergy(tau),
            exact_magnetisation: onsagerMagnetisation(tau),
          },
          groups: { spins: { reward_mean: -env.energy() } },
        };
      },
      frame: () => env.render(),
      inspect(group, slot) {
        if (group !== 0 || !(slot >= 0 && slot < p.size * p.size)) return null;
        const f = out.groups[0].features;
        const k = f[2 * slot + 1];
        const q = agent.q.subarray(slot * 10, slot * 10 + 10);
        return {
          group: 'spins',
          slot,
          values: {
            x: slot % p.size,
            y: Math.floor(slot / p.size),
            spin: f[2 * slot],
            up_neighbours: k,
            reward: out.groups[0].reward[slot],
          },
          distributions: {
            policy: [1 - agent.probUp(slot, k, tau), agent.probUp(slot, k, tau)],
            mean_action: [1 - k / 4, k / 4],
            'Q(down | k=0..4)': [q[0], q[2], q[4], q[6], q[8]],
            'Q(up | k=0..4)': [q[1], q[3], q[5], q[7], q[9]],
          },
          labels: { policy: ['down', 'up'], mean_action: ['down', 'up'] },
        };
      },
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
