/**
 * `pnpm gibbs bench <environment> [--steps T] [--warmup W] [--seed S] [--json]
 *  [--<config key> value ...]`, e.g.
 *   pnpm gibbs bench battle --agents 10000 --map 500 --steps 100 --placement random --threads 2
 *   pnpm gibbs bench ./my-world.ts --size 64
 *
 * Steps an environment (a registered name, or the path of a module exporting one, found as
 * `gibbs check` finds it: env-module.ts) with uniform random actions for every slot and reports
 * agent-steps per second (live agents stepped, observations included) and, for an environment
 * that reports its own phases (`phaseMs()`, as Battle does: observations and step), milliseconds
 * per step of each. Everything after the environment name that is not a bench option is the
 * environment's config, checked against its schema. Episodes that end are reset (untimed).
 * `--json` prints one JSON object (agent_steps_per_s, ms_per_step, phases_ms, ...).
 */
import {
  allocActions,
  type Environment,
  type EnvironmentEntry,
  episodeSeed,
  GibbsError,
  Rng,
  type StepOutput,
} from '@gibbs/core';
import { environments } from '@gibbs/env';
import { parseArgs, takeFlag, takeInt } from '../args.ts';
import { resolveEnvironment } from '../env-module.ts';

export const describe =
  'benchmark an environment (registered name or module path; random actions): agent-steps/s, ms per phase';

/** An environment that times its own phases: milliseconds per phase, summed over its steps. */
interface Phased {
  phaseMs(): Record<string, number>;
}

function phased(env: Environment): env is Environment & Phased {
  return typeof (env as Partial<Phased>).phaseMs === 'function';
}

export interface BenchOptions {
  steps: number;
  warmup: number;
  seed: number;
}

export interface BenchResult {
  env: string;
  config: Record<string, unknown>;
  seed: number;
  steps: number;
  warmup: number;
  /** Live agents summed over the timed steps (each live agent stepped once a step). */
  agent_steps: number;
  agent_steps_per_s: number;
  ms_per_step: number;
  /**
   * CPU time of the whole process (every thread) per step, and the agent-steps per CPU second:
   * on a shared, loaded machine this is what an idle machine would show for one thread.
   */
  cpu_ms_per_step: number;
  agent_steps_per_cpu_s: number;
  /** Per phase, ms per timed step (empty for an environment without phases). */
  phases_ms: Record<string, number>;
  /** Drawing the random actions, ms per step (not in the figures above). */
  actions_ms: number;
  /** Live agents after the last step, per group. */
  alive: Record<string, number>;
  episodes: number;
}

function live(out: StepOutput): number {
  let n = 0;
  for (const g of out.groups) for (let i = 0; i < g.alive.length; i++) n += g.alive[i];
  return n;
}

/** Benchmark one environment instance; it is disposed afterwards if it can be. */
export async function benchEnvironment(
  entry: Pick<EnvironmentEntry, 'create'> & { name?: string },
  config: Record<string, unknown>,
  opts: BenchOptions,
): Promise<BenchResult> {
  const env = entry.create(config);
  try {
    await env.ready?.();
    const rng = new Rng(opts.seed);
    const acts = allocActions(env.spec);
    const sizes = env.spec.groups.map((g) => g.actions);
    let episodes = 0;
    // Episode e starts from episodeSeed(seed, e), as in every loop of Gibbs.
    let out = env.reset(episodeSeed(opts.seed, 0));
    let agentSteps = 0;
    let stepMs = 0;
    let cpuMs = 0;
    let actionsMs = 0;
    let before: Record<string, number> = {};
    for (let t = 0; t < opts.warmup + opts.steps; t++) {
      if (t === opts.warmup && phased(env)) before = env.phaseMs();
      if (out.done) out = env.reset(episodeSeed(opts.seed, ++episodes));
      const a0 = performance.now();
      for (let g = 0; g < acts.length; g++) {
        const a = acts[g];
        const n = sizes[g];
        for (let i = 0; i < a.length; i++) a[i] = rng.int(n);
      }
      const n = live(out);
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      out = env.step(acts);
      const t1 = performance.now();
      const c1 = process.cpuUsage(c0);
      if (t >= opts.warmup) {
        agentSteps += n;
        stepMs += t1 - t0;
        cpuMs += (c1.user + c1.system) / 1000;
        actionsMs += t0 - a0;
      }
    }
    const phases: Record<string, number> = {};
    if (phased(env)) {
      const after = env.phaseMs();
      for (const k of Object.keys(after)) phases[k] = (after[k] - (before[k] ?? 0)) / opts.steps;
    }
    const alive: Record<string, number> = {};
    env.spec.groups.forEach((g, gi) => {
      let n = 0;
      for (let i = 0; i < g.capacity; i++) n += out.groups[gi].alive[i];
      alive[g.name] = n;
    });
    return {
      env: entry.name ?? env.spec.name,
      config,
      seed: opts.seed,
      steps: opts.steps,
      warmup: opts.warmup,
      agent_steps: agentSteps,
      agent_steps_per_s: agentSteps / (stepMs / 1000),
      ms_per_step: stepMs / opts.steps,
      cpu_ms_per_step: cpuMs / opts.steps,
      agent_steps_per_cpu_s: agentSteps / (cpuMs / 1000),
      phases_ms: phases,
      actions_ms: actionsMs / opts.steps,
      alive,
      episodes,
    };
  } finally {
    await env.dispose?.();
  }
}

function usage(): string {
  return [
    'Usage: pnpm gibbs bench <environment> [--steps T] [--warmup W] [--seed S] [--json]',
    '                        [--<config key> <value> ...]',
    `<environment> is a registered name (${Object.keys(environments).join(', ')})`,
    'or the path of a module exporting one, as for `pnpm gibbs check` (./my-world.ts).',
    'Example: pnpm gibbs bench battle --agents 10000 --map 500 --steps 100 --placement random',
    'The learners: pnpm gibbs bench learn --help',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {
    command: 'gibbs bench',
    params: true,
    options: {
      steps: { type: 'string' },
      warmup: { type: 'string' },
      seed: { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  if (args.positionals[0] === 'learn') {
    const rest = [...argv];
    rest.splice(argv.indexOf('learn'), 1);
    return (await import('./bench-learn.ts')).main(rest);
  }
  if (args.options.has('help')) {
    console.log(usage());
    return 0;
  }
  const name = args.positionals[0];
  if (!name || args.positionals.length > 1) {
    console.error(usage());
    return 2;
  }
  const steps = takeInt(args, 'steps', 100, 1);
  const warmup = takeInt(args, 'warmup', Math.min(10, Math.ceil(steps / 5)), 0);
  const seed = takeInt(args, 'seed', 1, 0, 2 ** 32 - 1);
  const json = takeFlag(args, 'json');
  const raw: Record<string, unknown> = {};
  for (const [k, v] of args.options) {
    if (v === true) throw GibbsError.invalid(`--${k}`, 'no value', 'a value after the option');
    raw[k] = v;
  }
  // A registered name or a module path, resolved (and its config checked) as `gibbs check` does.
  const resolved = await resolveEnvironment(name, raw);
  const config = resolved.config ?? {};
  const { factory } = resolved;
  const make = () => (typeof factory === 'function' ? factory() : factory);
  const label = environments[name] ? name : undefined; // a module's: its spec's name
  const r = await benchEnvironment({ name: label, create: make }, config, { steps, warmup, seed });
  if (json) {
    console.log(JSON.stringify(r));
    return 0;
  }
  const shown = Object.entries(config)
    .filter(([, v]) => typeof v !== 'object')
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const lines = [
    `${r.env}${shown ? ` (${shown})` : ''}: ${steps} steps after ${warmup} warm-up, ${r.episodes} reset(s)`,
    `  agent-steps/s   ${Math.round(r.agent_steps_per_s).toLocaleString('en-US')}`,
    `  ms per step     ${r.ms_per_step.toFixed(3)}`,
  ];
  for (const [k, v] of Object.entries(r.phases_ms))
    lines.push(`    ${k.padEnd(13)} ${v.toFixed(3)} ms`);
  lines.push(
    `  CPU ms per step ${r.cpu_ms_per_step.toFixed(3)} (all threads; ${Math.round(r.agent_steps_per_cpu_s).toLocaleString('en-US')} agent-steps per CPU second)`,
  );
  lines.push(`  (random actions ${r.actions_ms.toFixed(3)} ms per step, not counted)`);
  lines.push(
    `  alive after: ${Object.entries(r.alive)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  console.log(lines.join('\n'));
  return 0;
}
