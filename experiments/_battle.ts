/**
 * Shared by battle-train and battle-eval (not an experiment itself: files starting with "_" are not
 * listed): the Battle options both take, the environment they make of them, and the simulation
 * that plays their SelfPlay on it.
 */
import type { SelfPlay } from '@gibbs/agents';
import { type Environment, GibbsError, type MetricRecord, type Simulation } from '@gibbs/core';
import { environments } from '@gibbs/env';
import { z } from 'zod';

/** The map options (spread into an experiment's params). */
export const battleMapParams = {
  map: z.number().int().min(8).default(40).describe('side of the square map, walls included'),
  agents: z.number().int().positive().default(64).describe('agents per side'),
  maxSteps: z.number().int().positive().default(400).describe('steps after which a round ends'),
  placement: z.enum(['block', 'random']).default('block').describe('block (mfrl) or random start'),
};

/**
 * Cores of this machine in Node; in a page 1: more learner threads there need a cross-origin
 * isolated page (SharedArrayBuffer) and start a tfjs per Web Worker, so they are asked for.
 */
function defaultThreads(): number {
  const os = (
    globalThis as {
      process?: { getBuiltinModule?: (n: string) => { availableParallelism(): number } };
    }
  ).process?.getBuiltinModule?.('node:os');
  return os ? Math.min(16, Math.max(1, os.availableParallelism())) : 1;
}

/** Learner threads (forward passes and gradients, @gibbs/agents' ThreadPool): all cores. */
export const learnerThreadsParam = z
  .number()
  .int()
  .min(1)
  .max(16)
  .default(defaultThreads())
  .describe(
    'learner threads (default: the cores in Node, 1 in a page); one seed and one K give one run, byte for byte',
  );

/** Battle's own observation threads (worth it from thousands of agents on). */
export const envThreadsParam = z
  .number()
  .int()
  .min(1)
  .max(16)
  .default(1)
  .describe('Battle observation threads');

/** The Battle environment of @gibbs/env with these options. */
export function createBattle(params: {
  map: number;
  agents: number;
  maxSteps: number;
  placement: 'block' | 'random';
  envThreads: number;
}): Environment {
  const entry = environments.battle;
  if (!entry)
    throw GibbsError.invalid('environment', 'battle', 'the battle environment in @gibbs/env');
  return entry.create(
    entry.config.parse({
      map: params.map,
      agents: params.agents,
      maxSteps: params.maxSteps,
      placement: params.placement,
      threads: params.envThreads,
    }),
  );
}

/** The simulation that advances `sp` one step at a time; disposing it disposes `sp` and `env`. */
export function battleSimulation(
  backend: string,
  env: Environment,
  sp: SelfPlay,
  metrics: () => MetricRecord = () => sp.metrics(),
): Simulation {
  return {
    backend,
    advance: () => sp.advance(),
    metrics,
    frame: () => env.render(),
    dispose: async () => {
      await sp.dispose();
      await env.dispose?.();
    },
  };
}
