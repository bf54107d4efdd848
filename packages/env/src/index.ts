/**
 * The built-in environments, each on core's contract. `environments` is the registry that
 * `pnpm gibbs envs`, the checker and the viewer read: one line per world.
 */
import type { EnvironmentEntry } from '@gibbs/core';
import { gather } from './gather.ts';
import { ising } from './ising.ts';

export const environments: Record<string, EnvironmentEntry> = {
  ising,
  gather,
};
