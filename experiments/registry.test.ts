/** The registry of @gibbs/experiments names every experiment module of the package, and each loads. */
import { readdirSync } from 'node:fs';
import { GibbsError, isExperiment } from '@gibbs/core';
import { describe, expect, it } from 'vitest';
import {
  EXPERIMENT_NAMES,
  experimentUrl,
  isBuiltinExperiment,
  loadBuiltinExperiment,
} from './index.ts';

describe('@gibbs/experiments', () => {
  it('lists every experiment module of the package ("_" files are shared parts, not experiments)', () => {
    const files = readdirSync(import.meta.dirname)
      .filter((f) => /^[a-z].*\.ts$/.test(f) && !f.endsWith('.test.ts') && f !== 'index.ts')
      .map((f) => f.slice(0, -3))
      .sort();
    expect(EXPERIMENT_NAMES).toEqual(files);
  });

  it('loads each by name, under that name, from the URL it gives', async () => {
    for (const name of EXPERIMENT_NAMES) {
      const exp = await loadBuiltinExperiment(name);
      expect(isExperiment(exp), name).toBe(true);
      expect(exp.name).toBe(name);
      const mod = (await import(experimentUrl(name).href)) as { default: unknown };
      expect(mod.default).toBe(exp);
    }
  });

  it('refuses an unknown name with a GibbsError that lists the built-ins', async () => {
    expect(isBuiltinExperiment('nope')).toBe(false);
    expect(isBuiltinExperiment('toString')).toBe(false);
    await expect(loadBuiltinExperiment('nope')).rejects.toThrow(GibbsError);
    expect(() => experimentUrl('nope')).toThrow(/battle-train/);
  });
});
