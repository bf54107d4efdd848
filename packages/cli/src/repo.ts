/** Where the built-in experiments live, and how a name or a path becomes an Experiment. */
import { existsSync, readdirSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type Experiment, GibbsError, isExperiment } from '@gibbs/core';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const EXPERIMENTS_DIR = resolve(REPO_ROOT, 'experiments');

/** Built-in experiment names: every `experiments/<name>.ts` that is not a test. */
export function builtinExperiments(): string[] {
  if (!existsSync(EXPERIMENTS_DIR)) return [];
  return readdirSync(EXPERIMENTS_DIR)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.startsWith('_'))
    .map((f) => f.slice(0, -3))
    .sort();
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
  let mod: Record<string, unknown>;
  if (looksLikePath(ref)) mod = await importModule(ref, 'experiment module');
  else {
    const names = builtinExperiments();
    if (!names.includes(ref)) {
      throw GibbsError.invalid(
        'experiment',
        ref,
        `a built-in experiment (${names.join(', ')}) or the path of a module (./my-experiment.ts)`,
      );
    }
    mod = (await import(pathToFileURL(resolve(EXPERIMENTS_DIR, `${ref}.ts`)).href)) as Record<
      string,
      unknown
    >;
  }
  const candidate = mod.default ?? mod.experiment;
  if (!isExperiment(candidate)) {
    throw new GibbsError(
      `experiment module ${ref}: it must export an experiment (defineExperiment(...)) as default or as \`experiment\`; found exports: ${Object.keys(mod).join(', ') || 'none'}`,
      'experiment',
      ref,
      'a default export made with defineExperiment',
    );
  }
  return candidate;
}
