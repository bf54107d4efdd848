/** The built-in experiments (by name, from @gibbs/experiments' registry) and user modules (by path). */
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type Experiment, experimentFromModule, GibbsError } from '@gibbs/core';
import {
  EXPERIMENT_NAMES,
  experimentUrl,
  isBuiltinExperiment,
  loadBuiltinExperiment,
} from '@gibbs/experiments';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** Built-in experiment names, sorted. */
export function builtinExperiments(): string[] {
  return [...EXPERIMENT_NAMES];
}

/** The file of a built-in experiment's module (what the viewer bundles, a worker imports). */
export function builtinExperimentPath(name: string): string {
  return fileURLToPath(experimentUrl(name));
}

/**
 * Built-in experiments that run in a browser page (the static viewer's list): all of them (those
 * that keep files, battle-train and battle-eval, keep them in memory there).
 */
export function browserExperiments(): string[] {
  return builtinExperiments();
}

function looksLikePath(ref: string): boolean {
  return ref.startsWith('.') || isAbsolute(ref) || /\.(m?[jt]s)$/.test(ref);
}

/** Import a module by path, wrapping failures in an error that names the module. */
export async function importModule(path: string, what: string): Promise<Record<string, unknown>> {
  const abs = resolve(process.cwd(), path);
  if (!existsSync(abs)) throw GibbsError.invalid(what, path, 'the path of an existing module');
  try {
    return (await import(pathToFileURL(abs).href)) as Record<string, unknown>;
  } catch (err) {
    throw new GibbsError(
      `${what} ${path}: importing the module failed: ${(err as Error).message}`,
      what,
      path,
      'a module that imports without error',
      { cause: err },
    );
  }
}

/** Resolve a built-in name or a module path to the experiment it exports. */
export async function loadExperiment(ref: string): Promise<Experiment> {
  if (!looksLikePath(ref) || isBuiltinExperiment(ref)) {
    if (isBuiltinExperiment(ref)) return loadBuiltinExperiment(ref);
    throw GibbsError.invalid(
      'experiment',
      ref,
      `a built-in experiment (${EXPERIMENT_NAMES.join(', ')}) or the path of a module (./my-experiment.ts)`,
    );
  }
  return experimentFromModule(await importModule(ref, 'experiment module'), ref);
}
