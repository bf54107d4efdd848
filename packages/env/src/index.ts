/**
 * The built-in environments, each on core's contract. `environments` is the registry that
 * `pnpm gibbs envs`, the checker and the viewer read: one line per world.
 */
import type { EnvironmentEntry } from '@gibbs/core';
import { aifForage } from './aif-forage.ts';
import { battle } from './battle.ts';
import { gather } from './gather.ts';
import { gaussianSqueeze } from './gaussian-squeeze.ts';
import { ising } from './ising.ts';
import { pursuit } from './pursuit.ts';
import { tigerDeer } from './tiger-deer.ts';
import { tmaze } from './tmaze.ts';

export const environments: Record<string, EnvironmentEntry> = {
  'aif-forage': aifForage,
  battle,
  ising,
  tmaze,
  gather,
  pursuit,
  'gaussian-squeeze': gaussianSqueeze,
  'tiger-deer': tigerDeer,
};
