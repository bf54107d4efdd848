/** The gather, pursuit, tiger-deer and gaussian-squeeze experiments: policies do what they claim, runs repeat. */
import { metricLine, parseParams, type Simulation } from '@gibbs/core';
import { describe, expect, it } from 'vitest';
import gather from './gather.ts';
import squeeze from './gaussian-squeeze.ts';
import pursuit from './pursuit.ts';
import tigerDeer from './tiger-deer.ts';

async function play(sim: Simulation, steps: number): Promise<string[]> {
  const lines: string[] = [];
  for (let s = 0; s < steps; s++) {
    await sim.advance();
    lines.push(metricLine(sim.metrics()));
  }
  return lines;
}

describe('world experiments', () => {
  it('gather: foraging eats far more food than random play; same seed, same metrics', async () => {
    const make = (policy: string, seed: number) =>
      gather.create({
        params: parseParams(gather.params, { map: 40, policy, maxSteps: 150 }, 'gather'),
        seed,
      });
    const forage = await make('forage', 3);
    const a = await play(forage, 150);
    const random = await make('random', 3);
    await play(random, 150);
    const eatenForage = forage.metrics().values.food_eaten_episode;
    const eatenRandom = random.metrics().values.food_eaten_episode;
    expect(eatenForage).toBeGreaterThan(10 * Math.max(1, eatenRandom));
    expect(await play(await make('forage', 3), 150)).toEqual(a);
    expect(await play(await make('forage', 4), 150)).not.toEqual(a);
    const ep = forage.drainEpisodes?.() ?? [];
    expect(ep).toHaveLength(1);
    expect(ep[0]).toMatchObject({ episode: 0, length: 150 });
    expect(forage.frame()?.width).toBe(40);
  });

  it('pursuit: chasing predators tag far more than random ones; both groups logged', async () => {
    const make = (policy: string) =>
      pursuit.create({
        params: parseParams(pursuit.params, { policy, maxSteps: 100 }, 'pursuit'),
        seed: 1,
      });
    const chase = await make('chase');
    await play(chase, 100);
    const random = await make('random');
    await play(random, 100);
    const m = chase.metrics();
    expect(m.values.tags_episode).toBeGreaterThan(5 * random.metrics().values.tags_episode);
    expect(Object.keys(m.groups).sort()).toEqual(['predators', 'prey']);
    // Each tag is +1 to a predator and -1 to a prey.
    expect(m.groups.prey.episode_reward).toBeCloseTo(-m.values.tags_episode, 6);
  });

  it('tiger-deer: hunting tigers kill far more deer than random ones', async () => {
    const make = (policy: string) =>
      tigerDeer.create({
        params: parseParams(tigerDeer.params, { policy, maxSteps: 90 }, 'tiger-deer'),
        seed: 2,
      });
    const hunting = await make('hunt');
    await play(hunting, 90);
    const random = await make('random');
    await play(random, 90);
    const killed = (sim: Simulation) => sim.metrics().values.deer_killed_episode;
    expect(killed(hunting)).toBeGreaterThan(3 * Math.max(1, killed(random)));
    expect(Object.keys(hunting.metrics().groups).sort()).toEqual(['deer', 'tigers']);
  });

  it('gaussian squeeze: gradient bandits squeeze x to x*, random play overshoots', async () => {
    const make = (policy: string) =>
      squeeze.create({ params: parseParams(squeeze.params, { policy }, 'squeeze'), seed: 1 });
    const bandit = await make('bandit');
    await play(bandit, 1000);
    const v = bandit.metrics().values;
    expect(v.efficiency).toBeGreaterThan(0.95);
    expect(Math.abs(v.x - v.x_star)).toBeLessThan(60);
    const random = await make('random');
    await play(random, 50);
    expect(random.metrics().values.efficiency).toBeLessThan(0.05);
    expect(random.metrics().values.policy_entropy).toBeCloseTo(Math.log(10), 9);
  });
});
