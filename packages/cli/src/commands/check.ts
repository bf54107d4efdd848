/**
 * `pnpm gibbs check <module|name> [--seed S] [--stochastic true|false] [--steps N]
 *  [--episode-steps N] [--<config key> value ...]`: run the environment checker (core's checkEnv)
 * on a user's module or a registered environment and print every problem found. Exits 1 when
 * there is any, 2 when the module cannot be used at all (not found, throws on import, exports no
 * environment). See env-module.ts for what a module may export.
 */
import {
  type CheckName,
  type CheckOptions,
  checkEnvReport,
  type EnvProblem,
  GibbsError,
  otherCoreCopy,
  type SkippedCheck,
} from '@gibbs/core';
import { environments } from '@gibbs/env';
import { parseArgs, takeInt, takeString } from '../args.ts';
import { resolveEnvironment } from '../env-module.ts';

export const describe =
  'check an environment (registered name or module path) against the contract; print every problem';

function usage(): string {
  return [
    'Usage: pnpm gibbs check <environment> [--seed S] [--stochastic true|false] [--steps N]',
    '                        [--episode-steps N] [--<config key> <value> ...]',
    `<environment> is a registered name (${Object.keys(environments).join(', ') || 'none yet'})`,
    'or the path of a module exporting, as default or `environment`, an EnvironmentEntry',
    '(defineEnvironment), a factory () => Environment, or an Environment.',
    '--stochastic true: another seed must change the trajectory; false: it must not.',
  ].join('\n');
}

export interface CheckRun {
  ref: string;
  source: string;
  config?: Record<string, unknown>;
  problems: EnvProblem[];
  /** The checks run without a problem. */
  passed: CheckName[];
  /** What the checker did not check, and why. */
  skipped: SkippedCheck[];
}

/** Resolve and check; throws GibbsError when the module itself cannot be used. */
export async function checkReference(
  ref: string,
  rawConfig: Record<string, unknown>,
  options: CheckOptions,
): Promise<CheckRun> {
  const env = await resolveEnvironment(ref, rawConfig);
  const { problems, passed, skipped } = checkEnvReport(env.factory, options);
  return { ref, source: env.source, config: env.config, problems, passed, skipped };
}

/**
 * The report as printed: a header, one line per problem with each original error's stack (or the
 * checks passed), then one line per thing skipped: a skipped check is never called passed.
 */
export function formatReport(run: CheckRun): string {
  const head = `${run.ref}: ${run.source}${run.config ? ` with config ${JSON.stringify(run.config)}` : ''}`;
  const skipped = run.skipped.map((s) => `skipped: ${s.check}: ${s.what} (${s.why})`);
  if (run.problems.length === 0) {
    const ok =
      skipped.length === 0
        ? `ok: passes every check (${run.passed.join(', ')})`
        : `ok: passes ${run.passed.join(', ')}`;
    return [head, ok, ...skipped].join('\n');
  }
  const lines = [`${head}\n${run.problems.length} problem(s):`];
  for (const p of run.problems) {
    lines.push(`  - ${p.message}`);
    if (p.cause instanceof Error && !(p.cause instanceof GibbsError && p.check !== 'call')) {
      // The user's frames only: cut where the checker's own frames begin.
      const stack = (p.cause.stack ?? `${p.cause.name}: ${p.cause.message}`).split('\n');
      const end = stack.findIndex((l) => l.includes('core/src/check.ts'));
      lines.push(...stack.slice(0, end > 0 ? end : 8).map((l) => `      ${l.trim()}`));
    }
  }
  return [...lines, ...skipped].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {
    command: 'gibbs check',
    params: true,
    options: {
      seed: { type: 'string' },
      steps: { type: 'string' },
      'episode-steps': { type: 'string' },
      stochastic: { type: 'string' },
    },
  });
  if (args.options.has('help')) {
    console.log(usage());
    return 0;
  }
  const ref = args.positionals[0];
  if (!ref || args.positionals.length > 1) {
    console.error(usage());
    return 2;
  }
  const seed = takeInt(args, 'seed', 1, 0, 2 ** 32 - 2);
  const determinismSteps = takeInt(args, 'steps', 50, 1);
  const episodeSteps = takeInt(args, 'episode-steps', -1, 1);
  const stochasticRaw = takeString(args, 'stochastic');
  if (stochasticRaw !== undefined && stochasticRaw !== 'true' && stochasticRaw !== 'false')
    throw GibbsError.invalid('--stochastic', stochasticRaw, 'true or false');
  const rawConfig: Record<string, unknown> = {};
  for (const [k, v] of args.options) {
    if (v === true) throw GibbsError.invalid(`--${k}`, 'no value', 'a value after the option');
    rawConfig[k] = v;
  }
  let run: CheckRun;
  try {
    run = await checkReference(ref, rawConfig, {
      seed,
      determinismSteps,
      episodeSteps: episodeSteps > 0 ? episodeSteps : undefined,
      stochastic: stochasticRaw === undefined ? undefined : stochasticRaw === 'true',
    });
  } catch (err) {
    // A GibbsError from the module's own copy of @gibbs/core is still a message for the user.
    if (!(err instanceof GibbsError) && !otherCoreCopy(err)) throw err;
    const { message, cause } = err as Error;
    console.error(`gibbs check: ${message}`);
    if (cause instanceof Error)
      console.error(
        (cause.stack ?? cause.message)
          .split('\n')
          .slice(0, 8)
          .map((l) => `    ${l.trim()}`)
          .join('\n'),
      );
    return 2;
  }
  const text = formatReport(run);
  console.log(text);
  return run.problems.length > 0 ? 1 : 0;
}
