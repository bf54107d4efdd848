/**
 * Every registered environment, in its default config, passes the checker on short episodes; and
 * every one refuses `step` after `done` with a GibbsError saying to call reset (the contract).
 */
import { allocActions, checkEnv, GibbsError, Rng } from '@gibbs/core';
import { describe, expect, it } from 'vitest';
import { environments } from '../src/index.ts';

describe('registry', () => {
  for (const [name, entry] of Object.entries(environments)) {
    it(`${name}: registered under its own name, passes checkEnv`, () => {
      expect(entry.name).toBe(name);
      const config = entry.config.parse({});
      const problems = checkEnv(() => entry.create(config), {
        episodeSteps: 30,
        determinismSteps: 10,
      });
      expect(problems.map((p) => p.message)).toEqual([]);
    });

    it(`${name}: step after done throws a GibbsError until reset`, async () => {
      const env = entry.create(entry.config.parse({ maxSteps: 3 }));
      try {
        await env.ready?.();
        const rng = new Rng(1);
        const actions = allocActions(env.spec);
        let out = env.reset(1);
        let steps = 0;
        while (!out.done) {
          actions.forEach((a, g) => {
            for (let i = 0; i < a.length; i++) a[i] = rng.int(env.spec.groups[g].actions);
          });
          out = env.step(actions);
          expect(++steps).toBeLessThanOrEqual(3);
        }
        let err: unknown;
        try {
          env.step(actions);
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(GibbsError);
        expect((err as Error).message).toBe(
          `${env.spec.name}: step after the episode ended (done at step ${steps}); call reset(seed) first`,
        );
        // Reset makes it step again.
        env.reset(2);
        expect(env.step(actions).step).toBe(1);
      } finally {
        await env.dispose?.();
      }
    });
  }
});
