/** aif-mixed: active-inference foragers and Q-learning rivals in one world. */
import { describe, expect, it } from 'vitest';
import experiment, { aifMixedParams } from './aif-mixed.ts';

describe('aif-mixed experiment', () => {
  it('runs both kinds of agent in one world, logs both groups, trains the rivals', async () => {
    const params = aifMixedParams.parse({
      width: 12,
      height: 12,
      agents: 12,
      rivals: 24,
      food: 14,
      episodeLength: 12,
      policyLen: 2,
    });
    const sim = await experiment.create({ params, seed: 3 });
    for (let s = 0; s < 24; s++) {
      await sim.advance();
      // What the run loop checks at every step: each logged value is a finite number.
      const values = sim.metrics().values;
      for (const [k, v] of Object.entries(values)) expect(Number.isFinite(v), k).toBe(true);
      if (s < 11) expect(values).not.toHaveProperty('rivals_loss');
    }
    const m = sim.metrics();
    expect(Object.keys(m.groups).sort()).toEqual(['foragers', 'rivals']);
    for (const k of [
      'food_rate_foragers',
      'food_rate_rivals',
      'free_energy',
      'efe',
      'rivals_loss',
    ]) {
      expect(Number.isFinite(m.values[k])).toBe(true);
    }
    expect(m.values.rivals_loss).toBeGreaterThan(0);
    const eps = sim.drainEpisodes?.() ?? [];
    expect(eps).toHaveLength(2);
    // Each episode's food rates: a forager or rival that finds food gets reward 1, so the rate is
    // the group's total reward over its agent-steps.
    for (const e of eps) {
      expect(e.length).toBe(12);
      expect(e.values.food_rate_foragers).toBeCloseTo(
        e.groups.foragers.reward_total / (12 * 12),
        12,
      );
      expect(e.values.food_rate_rivals).toBeCloseTo(e.groups.rivals.reward_total / (24 * 12), 12);
    }
    expect(eps[0].groups.rivals.loss).toBeGreaterThan(0);
    expect(sim.inspect?.(0, 3)?.distributions['q(pi)']).toHaveLength(25);
    expect(sim.inspect?.(1, 23)?.distributions.policy).toHaveLength(5);
    expect(sim.inspect?.(1, 24)).toBeNull();
    const frame = sim.frame();
    expect(frame?.groups).toEqual(['foragers', 'rivals']);
    expect(frame?.agents.count).toBe(36);
    await sim.dispose?.();
  });
});
