/**
 * The experiment contract. An experiment composes an environment with agents and says which
 * parameters it takes (a zod object schema with defaults). Experiments are plain modules: the
 * built-in ones are the package @gibbs/experiments (the repository's `experiments/` folder, with a
 * registry by name), and a user's module of the same shape runs with
 * `pnpm gibbs run ./my-experiment.ts`.
 *
 *   export default defineExperiment({
 *     name: 'battle', description: '...',
 *     params: z.object({ agents: z.number().int().positive().default(100) }),
 *     create: ({ params, seed }) => new BattleSimulation(params, seed),
 *   });
 */
import { z } from 'zod';
import type { Environment, EnvSpec } from './env.ts';
import { describeValue, GibbsError } from './errors.ts';
import type { RenderFrame } from './frame.ts';

/** One logged step. Serialised as one line of `metrics.jsonl`; no wall-clock values in it. */
export interface MetricRecord {
  /** Steps taken since the start of the run (1 after the first step). */
  step: number;
  /** Episode index, counted from 0. */
  episode: number;
  /** Run-wide scalars: order parameter, temperature, loss, effective sample size... */
  values: Record<string, number>;
  /** Per-group statistics keyed by group name: alive, reward_mean, kills... */
  groups: Record<string, Record<string, number>>;
}

/** Summary of one finished episode. */
export interface EpisodeSummary {
  episode: number;
  /** Step of the run at which the episode ended. */
  step: number;
  /** Length of the episode in steps. */
  length: number;
  values: Record<string, number>;
  groups: Record<string, Record<string, number>>;
}

/** One agent as the inspector shows it. */
export interface AgentInspection {
  group: string;
  slot: number;
  /** Named scalars: x, y, hp, last action, reward, free energy... */
  values: Record<string, number>;
  /** Named distributions: policy, mean action, beliefs per factor, q(pi), EFE parts... */
  distributions: Record<string, number[]>;
  /** Optional labels for the entries of a distribution (action names, policy names...). */
  labels?: Record<string, string[]>;
}

/** A running experiment, driven one step at a time by the runner (main thread or worker). */
export interface Simulation {
  /** The tfjs backend the simulation computes on (initBackend's answer), if it uses tfjs. */
  readonly backend?: string;
  /**
   * Steps already taken when the simulation starts: a run resumed from a checkpoint says how far
   * that checkpoint was (0 or absent: a fresh run). The run loop goes on from the next step, and a
   * run continued in its own directory keeps the metrics rows up to this step and drops the rest.
   */
  readonly startStep?: number;
  /** Advance one environment step: agents act (and learn, if they do). */
  advance(): void | Promise<void>;
  /** Statistics of the last step; a pure function of config and seed. */
  metrics(): MetricRecord;
  /** Episodes finished since the last call (drained). */
  drainEpisodes?(): EpisodeSummary[];
  /** A picture of the current state, or null for an experiment without one. */
  frame(): RenderFrame | null;
  /** What the inspector shows for one agent, or null if the slot is empty. */
  inspect?(group: number, slot: number): AgentInspection | null;
  /** Change a live parameter (see Experiment.liveParams); throws GibbsError on a bad name/value. */
  setParam?(name: string, value: unknown): void;
  /**
   * The latest checkpoint as one POSIX tar of its directory (what `restore` takes back), or null
   * before the first. A page downloads it; the runtime keeps the run going from it on another
   * tfjs backend when this one fails.
   */
  checkpoint?(): Promise<Uint8Array | null>;
  /** Release tensors, workers, files. */
  dispose?(): void | Promise<void>;
}

export interface ExperimentContext<P> {
  params: P;
  seed: number;
  /** Run directory, when the run writes one (checkpoints go here). */
  outDir?: string;
  /** Forced tfjs backend, when the user asked for one. */
  backend?: string;
  /**
   * A checkpoint to continue from: a tar of a checkpoint directory (Simulation.checkpoint()'s, or
   * a file a user loaded into the page). An experiment that trains resumes from it.
   */
  restore?: Uint8Array;
  /** Human-readable log line (progress of long set-ups). */
  log?: (line: string) => void;
  /**
   * Write the run's logged rows out now, the row of the step in progress included when that step
   * is logged (its state must be final): call it at the end of a step, just before saving a
   * checkpoint, so that the rows up to the checkpoint are on disk with it.
   */
  flush?: () => void;
}

export interface Experiment<S extends z.ZodObject = z.ZodObject> {
  readonly name: string;
  readonly description: string;
  /** Parameters with their defaults; unknown keys are rejected. */
  readonly params: S;
  /** Names of parameters that may change while the simulation runs. */
  readonly liveParams?: readonly string[];
  /** Steps a run takes when `--steps` is not given. */
  readonly defaultSteps?: number;
  /**
   * The schema of hyperparameters that a string parameter holds as a JSON object (battle-train's
   * `config`), by the value of another parameter (`algo`). The CLI makes each hyperparameter a
   * flag of its own (`--lr 1e-3`, shown with its type, default and description by `run <name>
   * --help`) and folds those flags into that JSON, over its keys, before the parameters are parsed.
   */
  readonly hyperparameters?: HyperparameterSpec;
  /**
   * About how many bytes a simulation of these parameters allocates: a run is refused before
   * `create` when it exceeds the machine's free memory.
   */
  estimateBytes?(params: z.infer<S>): number;
  create(ctx: ExperimentContext<z.infer<S>>): Simulation | Promise<Simulation>;
}

/** Where an experiment's algorithm hyperparameters live (Experiment.hyperparameters). */
export interface HyperparameterSpec {
  /** The string parameter holding a JSON object of hyperparameters (`config`). */
  readonly param: string;
  /** The parameter whose value picks the schema (`algo`). */
  readonly by: string;
  /** One object schema per value of `by`: its keys, types, defaults and descriptions. */
  readonly schemas: Readonly<Record<string, z.ZodObject>>;
}

export function defineExperiment<S extends z.ZodObject>(e: Experiment<S>): Experiment<S> {
  return e;
}

/** How an environment is registered: a name, a config schema and a factory. */
export interface EnvironmentEntry<S extends z.ZodObject = z.ZodObject> {
  readonly name: string;
  readonly description: string;
  readonly config: S;
  create(config: z.infer<S>): Environment;
}

export function defineEnvironment<S extends z.ZodObject>(
  e: EnvironmentEntry<S>,
): EnvironmentEntry<S> {
  return e;
}

/** Is `x` shaped like an Experiment (for user modules loaded by path)? */
export function isExperiment(x: unknown): x is Experiment {
  if (typeof x !== 'object' || x === null) return false;
  const e = x as Record<string, unknown>;
  return (
    typeof e.name === 'string' && typeof e.create === 'function' && e.params instanceof z.ZodObject
  );
}

/** Is `x` shaped like an Environment? */
export function isEnvironment(x: unknown): x is Environment {
  if (typeof x !== 'object' || x === null) return false;
  const e = x as Record<string, unknown>;
  return (
    typeof e.reset === 'function' &&
    typeof e.step === 'function' &&
    typeof e.spec === 'object' &&
    e.spec !== null
  );
}

/** The spec of an environment in a table, as `pnpm gibbs envs` prints it. */
export function describeSpec(spec: EnvSpec): string {
  const rows = spec.groups.map((g) => {
    const view = g.view ? `${g.view.height}x${g.view.width}x${g.view.channels}` : '-';
    return `  ${g.name.padEnd(12)} capacity ${String(g.capacity).padStart(8)}  view ${view.padEnd(9)} features ${String(g.features).padStart(4)}  actions ${g.actions}`;
  });
  const grid = spec.grid ? `${spec.grid.width}x${spec.grid.height}` : 'none';
  return [`${spec.name}: grid ${grid}, max steps ${spec.maxSteps}`, ...rows].join('\n');
}

/**
 * Parse parameters given as strings (from a command line or a URL) against a schema. A string
 * that reads as a number or boolean is tried as one first; zod then checks the type and range.
 * Unknown keys and ill-typed values throw a GibbsError naming the parameter, the value and what is
 * valid.
 */
export function parseParams<S extends z.ZodObject>(
  schema: S,
  raw: Record<string, unknown>,
  owner: string,
): z.infer<S> {
  const shape = schema.shape as Record<string, z.ZodType>;
  const known = Object.keys(shape);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    const field = shape[key];
    if (!field) {
      throw new GibbsError(
        `${owner}: unknown parameter --${key} (got ${describeValue(value)}); valid parameters: ${known.join(', ') || 'none'}`,
        key,
        value,
        known.join(', '),
      );
    }
    out[key] = coerce(field, value);
  }
  const result = schema.strict().safeParse(out);
  if (result.success) return result.data as z.infer<S>;
  const issue = result.error.issues[0];
  const key = String(issue.path[0] ?? '');
  const expected = expectedOf(shape[key], issue.message);
  throw new GibbsError(
    `${owner}: parameter --${key}: got ${describeValue(out[key])}, expected ${expected}`,
    key,
    out[key],
    expected,
  );
}

function coerce(field: z.ZodType, value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const candidates: unknown[] = [];
  if (/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(value.trim())) candidates.push(Number(value));
  if (value === 'true' || value === 'false') candidates.push(value === 'true');
  for (const c of candidates) if (field.safeParse(c).success) return c;
  return candidates.length > 0 && !field.safeParse(value).success ? candidates[0] : value;
}

/**
 * The range of a JSON schema number as words: "in [1, 64]", ">= 1", "> 0", "in (0, 1]". An
 * integer's exclusive bound is said as the inclusive one (`.positive()` reads ">= 1"), and a bound
 * at the edge of the safe integers (zod's `.int()` adds them) is left out.
 */
function rangeOf(json: Record<string, unknown>): string[] {
  const num = (v: unknown) =>
    typeof v === 'number' && Math.abs(v) < Number.MAX_SAFE_INTEGER ? v : undefined;
  const int = json.type === 'integer';
  let lo = num(json.minimum);
  let hi = num(json.maximum);
  let loOpen = false;
  let hiOpen = false;
  const xlo = num(json.exclusiveMinimum);
  const xhi = num(json.exclusiveMaximum);
  if (xlo !== undefined && (lo === undefined || xlo >= lo)) {
    [lo, loOpen] = int ? [Math.floor(xlo) + 1, false] : [xlo, true];
  }
  if (xhi !== undefined && (hi === undefined || xhi <= hi)) {
    [hi, hiOpen] = int ? [Math.ceil(xhi) - 1, false] : [xhi, true];
  }
  if (lo !== undefined && hi !== undefined)
    return [`in ${loOpen ? '(' : '['}${lo}, ${hi}${hiOpen ? ')' : ']'}`];
  if (lo !== undefined) return [`${loOpen ? '>' : '>='} ${lo}`];
  if (hi !== undefined) return [`${hiOpen ? '<' : '<='} ${hi}`];
  return [];
}

/** A human description of what a field accepts. */
export function expectedOf(field: z.ZodType | undefined, fallback: string): string {
  if (!field) return fallback;
  const json = (() => {
    try {
      return z.toJSONSchema(field, { unrepresentable: 'any' }) as Record<string, unknown>;
    } catch {
      return null;
    }
  })();
  if (!json) return fallback;
  const parts: string[] = [];
  if (Array.isArray(json.enum))
    return `one of ${json.enum.map((v) => JSON.stringify(v)).join(', ')}`;
  if (json.type === 'integer') parts.push('an integer');
  else if (json.type === 'number') parts.push('a number');
  else if (json.type === 'boolean') parts.push('true or false');
  else if (json.type === 'string') parts.push('a string');
  else parts.push(fallback);
  parts.push(...rangeOf(json));
  if (parts.length === 1 && parts[0] === fallback) return fallback;
  return `${parts.join(' ')} (${fallback})`;
}
