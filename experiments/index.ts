/**
 * @gibbs/experiments: the built-in experiments, each a plain module that composes a world of
 * @gibbs/env with agents of @gibbs/agents (copy one to start your own). The registry names them
 * and loads them lazily (a name costs nothing until its module is imported: battle-train pulls in
 * tfjs, battle does not). The CLI, the viewer and the tests reach experiments through it, by
 * name; workers import a module by its URL (`experimentUrl`).
 */
import { type Experiment, experimentFromModule, GibbsError } from '@gibbs/core';

type Loader = () => Promise<Record<string, unknown>>;

/** Name to loader; the literal paths let bundlers (the static viewer) see every module. */
const LOADERS: Record<string, Loader> = {
  'aif-forage': () => import('./aif-forage.ts'),
  'aif-mixed': () => import('./aif-mixed.ts'),
  battle: () => import('./battle.ts'),
  'battle-eval': () => import('./battle-eval.ts'),
  'battle-train': () => import('./battle-train.ts'),
  gather: () => import('./gather.ts'),
  'gaussian-squeeze': () => import('./gaussian-squeeze.ts'),
  ising: () => import('./ising.ts'),
  'ising-mcmc': () => import('./ising-mcmc.ts'),
  pursuit: () => import('./pursuit.ts'),
  'tiger-deer': () => import('./tiger-deer.ts'),
  tmaze: () => import('./tmaze.ts'),
};

/** The built-in experiments' names, sorted. */
export const EXPERIMENT_NAMES: readonly string[] = Object.keys(LOADERS).sort();

function check(name: string): void {
  if (!Object.hasOwn(LOADERS, name)) {
    throw GibbsError.invalid(
      'experiment',
      name,
      `a built-in experiment (${EXPERIMENT_NAMES.join(', ')}) or the path of a module (./my-experiment.ts)`,
    );
  }
}

/** Is `name` a built-in experiment? */
export function isBuiltinExperiment(name: string): boolean {
  return Object.hasOwn(LOADERS, name);
}

/** The URL of a built-in experiment's module (what a worker imports, what a bundler bundles). */
export function experimentUrl(name: string): URL {
  check(name);
  return new URL(`./${name}.ts`, import.meta.url);
}

/** A built-in experiment, imported on first use. */
export async function loadBuiltinExperiment(name: string): Promise<Experiment> {
  check(name);
  return experimentFromModule(await LOADERS[name](), name);
}
