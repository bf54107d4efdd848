/** aif-forage: the foragers' model is a valid generative model, and it beats random walkers. */

import { validateModel } from '@gibbs/agents/aif/model';
import { Rng } from '@gibbs/core';
import { AifForageEnv } from '@gibbs/env/aif-forage';
import { describe, expect, it } from 'vitest';
import experiment, { AifForageSimulation, aifForageParams, forageModel } from './aif-forage.ts';

const small = { width: 16, height: 16, agents: 32, food: 24, episodeLength: 200 };

describe('aif-forage experiment', () => {
  it('builds a valid model: 26 offsets, 5 moves, 125 policies at horizon 3', () => {
    const m = forageModel({
      radius: 2,
      smellNoise: 0.1,
      volatility: 0.05,
      appear: 0.2,
      foodPref: 4,
      concentration: 2,
    });
    const shape = validateModel(m, 125);
    expect(shape).toEqual({ numStates: [26], numControls: [5], numObs: [2, 3] });
    // Moving right from food offset (+1, 0) puts the food under the agent: state 12 (centre).
    const B = m.B[0].data;
    const from = 2 * 5 + 3; // (dx, dy) = (1, 0)
    expect(B[(12 * 26 + from) * 5 + 2]).toBeCloseTo(0.95, 12);
  });

  it('gathers more food than random walkers in the same world', () => {
    const steps = 60;
    const sim = new AifForageSimulation(aifForageParams.parse(small), 5);
    for (let s = 0; s < steps; s++) sim.advance();
    const env = new AifForageEnv({ ...small, smellNoise: 0.1, maxSteps: 200 });
    env.reset(1);
    const rng = new Rng(2);
    const act = [new Int32Array(small.agents)];
    let random = 0;
    for (let s = 0; s < steps; s++) {
      for (let i = 0; i < small.agents; i++) act[0][i] = rng.int(5);
      random += env.step(act).info.food_eaten;
    }
    expect(sim.foodGathered).toBeGreaterThan(1.4 * random);
    const v = sim.metrics().values;
    for (const k of [
      'free_energy',
      'efe',
      'efe_utility',
      'efe_state_info_gain',
      'belief_entropy',
    ]) {
      expect(Number.isFinite(v[k])).toBe(true);
    }
    expect(v.efe_state_info_gain).toBeGreaterThan(0);
  });

  it('learns the likelihood when asked (novelty on), and inspect shows 125 policies', async () => {
    const s = await experiment.create({
      params: aifForageParams.parse({ ...small, agents: 4, learnA: 1 }),
      seed: 1,
    });
    for (let t = 0; t < 3; t++) s.advance();
    expect(s.metrics().values.efe_param_info_gain).toBeGreaterThan(0);
    const ins = s.inspect?.(0, 1);
    expect(ins?.distributions['q(pi)']).toHaveLength(125);
    expect(ins?.labels?.['beliefs: food offset']?.[25]).toBe('far');
    expect(ins?.labels?.['q(pi)']?.[0]).toBe('stay > stay > stay');
  });
});
