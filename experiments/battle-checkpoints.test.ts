/**
 * The trained Battle policies committed in docs/results/battle-checkpoints/ still load and still
 * play as docs/results/mean-field.md says: every network loads as a player of its algorithm, and
 * the round-200 MF-Q and AC policies wipe out a freshly initialised (near-uniform) opponent at
 * mlii/mfrl's setting (64 vs 64 on 40x40, 400 steps). A loader that assigned weights wrongly
 * would leave a policy that never kills (uniform play in Battle never kills).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createPlayer, crossPlay, type GroupAgent } from '@gibbs/agents';
import { loadPlayer } from '@gibbs/agents/checkpoint';
import { Rng } from '@gibbs/core';
import { initBackend } from '@gibbs/core/backend';
import { environments } from '@gibbs/env';
import { beforeAll, describe, expect, it } from 'vitest';

const DIR = join(import.meta.dirname, '..', 'docs', 'results', 'battle-checkpoints');
const entry = environments.battle;
const makeEnv = () =>
  entry.create(entry.config.parse({ map: 40, agents: 64, maxSteps: 400, placement: 'block' }));
let shape: {
  view: { height: number; width: number; channels: number };
  features: number;
  actions: number;
};

beforeAll(async () => {
  await initBackend();
  const probe = makeEnv();
  const g = probe.spec.groups[0];
  if (!g.view) throw new Error('battle has a view');
  shape = { view: g.view, features: g.features, actions: g.actions };
  await probe.dispose?.();
});

describe('docs/results/battle-checkpoints', () => {
  it('holds the twelve round-200 networks, each loading as its algorithm', async () => {
    const names = readdirSync(DIR)
      .filter((n) => /^[a-z]+-s\d$/.test(n))
      .sort();
    expect(names).toEqual(
      ['ac', 'il', 'mfac', 'mfq'].flatMap((a) => [1, 2, 3].map((s) => `${a}-s${s}`)),
    );
    for (const name of names) {
      const { player, algo } = await loadPlayer(join(DIR, name), shape, new Rng(1));
      expect(algo).toBe(name.split('-')[0]);
      player.dispose();
    }
  });

  for (const [name, temperature] of [
    ['mfq-s1', 0.1],
    ['ac-s1', 1],
  ] as const) {
    it(`${name} wipes out an untrained opponent`, async () => {
      const { player } = await loadPlayer(join(DIR, name), shape, new Rng(1));
      const untrained = createPlayer('ac', shape, {}, new Rng(2));
      const agents: [GroupAgent, GroupAgent] = [player, untrained];
      const eps = await crossPlay(makeEnv, agents, {
        episodes: 2,
        seed: 3,
        temperatures: [temperature, 1],
      });
      for (const e of eps) {
        expect(e.winner).toBe('red');
        expect(e.red.kills).toBeGreaterThanOrEqual(60);
      }
      player.dispose();
      untrained.dispose();
    }, 120_000);
  }
});
