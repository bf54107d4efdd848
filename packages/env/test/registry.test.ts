/** Every registered environment, in its default config, passes the checker on short episodes. */
import { checkEnv } from '@gibbs/core';
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
  }
});
