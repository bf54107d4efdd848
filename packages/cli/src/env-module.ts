/**
 * How a user's module (or a registered name) becomes an environment factory, for `pnpm gibbs
 * check`. A module may export, as `default` or as `environment` (looked at first, in that order),
 * or else as any other named export:
 *   1. an EnvironmentEntry made with defineEnvironment({ name, description, config, create }):
 *      the preferred form; its config schema takes `--<key> value` options;
 *   2. a factory: a function of no arguments returning an Environment (a fresh one per call);
 *   3. an Environment instance (then the checker cannot build a second, fresh instance).
 */

import { isAbsolute } from 'node:path';
import {
  type Environment,
  type EnvironmentEntry,
  GibbsError,
  isEnvironment,
  isExperiment,
  parseParams,
} from '@gibbs/core';
import { environments } from '@gibbs/env';
import { z } from 'zod';
import { importModule } from './repo.ts';

export interface ResolvedEnvironment {
  /** What the user named: the module path or the registered name. */
  ref: string;
  /** How it was found: "registered environment battle", "export default (EnvironmentEntry)"... */
  source: string;
  /** Makes an environment (throws what the module's code throws). */
  factory: (() => Environment) | Environment;
  /** The config passed to the entry's create, when the export is an entry. */
  config?: Record<string, unknown>;
}

export function isEnvironmentEntry(x: unknown): x is EnvironmentEntry {
  if (typeof x !== 'object' || x === null) return false;
  const e = x as Record<string, unknown>;
  return (
    typeof e.name === 'string' && typeof e.create === 'function' && e.config instanceof z.ZodObject
  );
}

/**
 * Resolve `ref` (a registered environment name or a module path) to a factory. `rawConfig` holds
 * `--key value` options for an EnvironmentEntry's config; they are rejected for other exports.
 */
export async function resolveEnvironment(
  ref: string,
  rawConfig: Record<string, unknown> = {},
): Promise<ResolvedEnvironment> {
  if (!looksLikePath(ref)) {
    const entry = environments[ref];
    if (!entry) {
      throw GibbsError.invalid(
        'environment',
        ref,
        `a registered environment (${Object.keys(environments).join(', ') || 'none yet'}) or the path of a module (./my-env.ts)`,
      );
    }
    return fromEntry(ref, `registered environment ${ref}`, entry, rawConfig);
  }
  const mod = await importModule(ref, 'environment module');
  const keys = Object.keys(mod);
  // `default` and `environment` first, whatever they are; then the other exports, entries before
  // instances before factories (so that an exported helper function does not win over an entry).
  const preferred = ['default', 'environment'].filter((k) => k in mod);
  const others = keys.filter((k) => k !== 'default' && k !== 'environment');
  for (const key of preferred) {
    const found = candidate(ref, mod, key, rawConfig, ['entry', 'instance', 'factory']);
    if (found) return found;
  }
  for (const kind of ['entry', 'instance', 'factory'] as const)
    for (const key of others) {
      const found = candidate(ref, mod, key, rawConfig, [kind]);
      if (found) return found;
    }
  const hint = isExperiment(mod.default ?? mod.experiment)
    ? ' (it exports an experiment: check the module of the environment it plays instead)'
    : '';
  throw new GibbsError(
    `environment module ${ref}: it exports no environment${hint}; found exports: ${keys.join(', ') || 'none'}; expected (as default or \`environment\`) an EnvironmentEntry made with defineEnvironment, a factory () => Environment, or an Environment`,
    'environment module',
    ref,
    'a module exporting an environment',
  );
}

type Kind = 'entry' | 'instance' | 'factory';

/** The export `key` as an environment of one of `kinds`, or null. */
function candidate(
  ref: string,
  mod: Record<string, unknown>,
  key: string,
  rawConfig: Record<string, unknown>,
  kinds: readonly Kind[],
): ResolvedEnvironment | null {
  const value = mod[key];
  const where = `export ${key === 'default' ? 'default' : `\`${key}\``}`;
  if (kinds.includes('entry') && isEnvironmentEntry(value))
    return fromEntry(ref, `${where} (EnvironmentEntry ${value.name})`, value, rawConfig);
  if (kinds.includes('instance') && isEnvironment(value)) {
    noConfig(ref, rawConfig, `${where} is an Environment instance`);
    return { ref, source: `${where} (Environment instance)`, factory: value };
  }
  if (
    kinds.includes('factory') &&
    typeof value === 'function' &&
    value.length === 0 &&
    !isClass(value)
  ) {
    noConfig(ref, rawConfig, `${where} is a factory`);
    const fn = value as () => unknown;
    return {
      ref,
      source: `${where} (factory)`,
      factory: () => {
        const env = fn();
        if (!isEnvironment(env))
          throw GibbsError.invalid(
            `environment module ${ref}: ${where}()`,
            env,
            'an Environment (an object with spec, reset, step and render)',
          );
        return env;
      },
    };
  }
  return null;
}

function fromEntry(
  ref: string,
  source: string,
  entry: EnvironmentEntry,
  rawConfig: Record<string, unknown>,
): ResolvedEnvironment {
  const config = parseParams(entry.config, rawConfig, `environment ${entry.name}`) as Record<
    string,
    unknown
  >;
  return { ref, source, config, factory: () => entry.create(config) };
}

function noConfig(ref: string, rawConfig: Record<string, unknown>, why: string): void {
  const keys = Object.keys(rawConfig);
  if (keys.length > 0)
    throw GibbsError.invalid(
      `--${keys[0]}`,
      rawConfig[keys[0]],
      `no config options: ${ref}'s ${why}, not an EnvironmentEntry with a config schema`,
    );
}

/** Same rule as `pnpm gibbs run`: ./x, /x or *.ts is a path, anything else a registered name. */
function looksLikePath(ref: string): boolean {
  return ref.startsWith('.') || isAbsolute(ref) || /\.(m?[jt]s)$/.test(ref);
}

function isClass(fn: unknown): boolean {
  return typeof fn === 'function' && /^class[\s{]/.test(Function.prototype.toString.call(fn));
}
