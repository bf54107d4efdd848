/**
 * The environment checker, in the spirit of PettingZoo's `parallel_api_test` and `seed_test`:
 * it drives an environment with seeded random actions and reports every way it breaks the contract
 * of env.ts, instead of stopping at the first.
 *
 *   const problems = checkEnv(() => new MyEnv(config));   // [] when the environment is sound
 *   assertEnv(() => new MyEnv(config));                   // throws EnvCheckError listing them all
 *   checkEnvReport(() => new MyEnv(config));              // problems, and the checks passed and
 *                                                         // skipped (with why)
 *
 * Checks (the `check` of a problem):
 *   call           reset / step / render threw where it must not (the original error is `cause`)
 *   spec           groups, capacities, view dims against channelNames, actions >= 1, maxSteps, grid
 *   shapes         buffer types and lengths against the spec after reset and after every step;
 *                  step counter 0 after reset and +1 per step; done a boolean; info finite numbers
 *   finite         observations and rewards finite; alive / terminated / truncated in {0, 1}
 *   determinism    two resets with one seed and one action sequence give identical buffers and
 *                  info (a factory also gets two fresh instances, and reset after an episode); a
 *                  difference names its field (`info["kills.red"]`, `groups[0:red].view[12]`)
 *   seed           with `stochastic: true`, another seed changes the trajectory; with
 *                  `stochastic: false`, it does not (a deterministic world is allowed: by default
 *                  this check is skipped)
 *   action-bounds  an out-of-range action on a live slot, an Int32Array of the wrong length and a
 *                  wrong number of groups make `step` throw a GibbsError; an out-of-range action
 *                  on a dead slot is ignored (same step as with a valid one)
 *   terminal       after reset: step 0, not done, no flags set; a slot that dies gets terminated or
 *                  truncated; a dead slot stays dead (unless `spec.respawn`), with reward 0 and no
 *                  flags; done exactly when no live agent goes on; done at the latest at maxSteps;
 *                  step after done throws a GibbsError; reset after done works
 *   render         frame size matches the grid (0 x 0 without one); cells length width*height with
 *                  codes inside the legend; groups as in the spec; agents arrays of length count,
 *                  one entry per live agent, valid group and slot, inside the grid, hp in [0, 1]
 *
 * A GibbsError of another copy of @gibbs/core than the checker's (a module that loaded its own)
 * fails `instanceof GibbsError`; the checker reports that once, as what it is, instead of every
 * GibbsError the world rightly threw.
 */
import type { Environment, EnvSpec, GroupSpec, StepOutput } from './env.ts';
import { allocActions, viewSize } from './env.ts';
import { describeValue, GibbsError, otherCoreCopy } from './errors.ts';
import type { RenderFrame } from './frame.ts';
import { Rng } from './rng.ts';

export type CheckName =
  | 'call'
  | 'spec'
  | 'shapes'
  | 'finite'
  | 'determinism'
  | 'seed'
  | 'action-bounds'
  | 'terminal'
  | 'render';

/** The checks, in the order they are listed ('call' is not one of its own: any call may throw). */
export const CHECKS: readonly CheckName[] = [
  'spec',
  'shapes',
  'finite',
  'determinism',
  'seed',
  'action-bounds',
  'terminal',
  'render',
];

/** Something the checker did not check, and why. */
export interface SkippedCheck {
  readonly check: CheckName;
  /** What went unchecked: "whether another seed changes the trajectory"... */
  readonly what: string;
  readonly why: string;
}

/** Everything a run of the checker found. */
export interface EnvCheckReport {
  /** spec.name of the environment (or the label given in the options). */
  readonly env: string;
  readonly problems: EnvProblem[];
  /** The checks run without a problem (some perhaps in part: see `skipped`). */
  readonly passed: CheckName[];
  /** What was not checked; a check skipped as a whole is not in `passed`. */
  readonly skipped: SkippedCheck[];
}

export interface EnvProblem {
  /** spec.name of the environment (or the label given in the options). */
  readonly env: string;
  readonly check: CheckName;
  /** The call that showed it: "reset(1)", "step 3 after reset(1)", "render() after step 2"... */
  readonly call: string;
  /** The field at fault: "groups[0:red].reward[4]", "spec.groups[1].actions"... */
  readonly field: string;
  /** The offending value (for a throw, the error). */
  readonly value: unknown;
  readonly expected: string;
  /** One line: `<env>: [<check>] <call>: <field>: got <value>, expected <expected>`. */
  readonly message: string;
  /** The original error, when a call threw. */
  readonly cause?: unknown;
}

export interface CheckOptions {
  /** Seed of the episodes (default 1). */
  seed?: number;
  /** The other seed of the `seed` check (default seed + 1). */
  otherSeed?: number;
  /** Seed of the checker's random actions (default 12345). */
  actionSeed?: number;
  /** Steps compared by the determinism and seed checks (default 50). */
  determinismSteps?: number;
  /** Longest episode played for the terminal checks (default min(spec.maxSteps, 1000)). */
  episodeSteps?: number;
  /**
   * true: the world is stochastic, another seed must change the trajectory; false: it is
   * deterministic, another seed must not; undefined (default): not checked.
   */
  stochastic?: boolean;
  /** Name used in messages (default spec.name). */
  label?: string;
  /** Stop collecting after this many problems (default 50). */
  maxProblems?: number;
}

/** Thrown by `assertEnv`: every problem in `problems`, one per line in the message. */
export class EnvCheckError extends GibbsError {
  constructor(
    readonly env: string,
    readonly problems: readonly EnvProblem[],
  ) {
    super(
      `environment ${env} failed ${problems.length} check(s):\n${problems.map((p) => `  - ${p.message}`).join('\n')}`,
      'environment',
      env,
      'an environment that passes checkEnv',
      { cause: problems.find((p) => p.cause !== undefined)?.cause },
    );
    this.name = 'EnvCheckError';
  }
}

/** Run every check; the environment (or a factory of fresh instances) is driven, not modified. */
export function checkEnv(
  env: Environment | (() => Environment),
  options: CheckOptions = {},
): EnvProblem[] {
  return new Checker(env, options).run();
}

/** checkEnv, with the checks passed and those skipped (and why) besides the problems. */
export function checkEnvReport(
  env: Environment | (() => Environment),
  options: CheckOptions = {},
): EnvCheckReport {
  const checker = new Checker(env, options);
  const problems = checker.run();
  const failed = new Set(problems.map((p) => p.check));
  const whole = new Set(checker.skipped.filter((s) => s.whole).map((s) => s.check));
  return {
    env: checker.label,
    problems,
    passed: CHECKS.filter((c) => checker.ran.has(c) && !failed.has(c) && !whole.has(c)),
    skipped: checker.skipped.map(({ check, what, why }) => ({ check, what, why })),
  };
}

/** checkEnv, throwing an EnvCheckError that lists every problem. */
export function assertEnv(
  env: Environment | (() => Environment),
  options: CheckOptions = {},
): void {
  const checker = new Checker(env, options);
  const problems = checker.run();
  if (problems.length > 0) throw new EnvCheckError(checker.label, problems);
}

/** Stop the checker's current phase (a call threw, or the problem budget is spent). */
class Abort extends Error {}

/**
 * Fingerprint of one step: FNV-1a over every buffer, the info and the flags (`all`), and per field
 * (`parts`: "info[\"kills\"]", "groups[0:red].view"...), which names the field of a difference
 * even when replaying does not bring it back.
 */
interface Digest {
  all: number;
  parts: Map<string, number>;
}

interface Trace {
  digests: number[];
  steps: Digest[];
  /** First step (1-based) before which some slot was dead, with that slot, or null. */
  deadProbe: { step: number; group: number; slot: number } | null;
  /** The env's output on each step, kept only when asked (for locating a difference). */
  snapshots?: Map<number, Snapshot>;
}

interface Snapshot {
  groups: { arrays: Record<string, ArrayLike<number>> }[];
  info: Record<string, number>;
  step: number;
  done: boolean;
}

const FLOAT_FIELDS = ['view', 'features', 'reward'] as const;
const BYTE_FIELDS = ['alive', 'terminated', 'truncated'] as const;

class Checker {
  /** spec.name once known (or options.label): the name every message starts with. */
  label: string;
  /** The checks whose phase ran to its end. */
  readonly ran = new Set<CheckName>();
  /** What was not checked; `whole`: the check as a whole. */
  readonly skipped: (SkippedCheck & { whole: boolean })[] = [];
  private readonly problems: EnvProblem[] = [];
  private readonly seen = new Set<string>();
  private readonly maxProblems: number;
  private readonly seed: number;
  private readonly actionSeed: number;
  private spec!: EnvSpec;
  private first!: Environment;

  constructor(
    private readonly source: Environment | (() => Environment),
    private readonly options: CheckOptions,
  ) {
    this.label = options.label ?? 'environment';
    this.maxProblems = options.maxProblems ?? 50;
    this.seed = options.seed ?? 1;
    this.actionSeed = options.actionSeed ?? 12345;
  }

  run(): EnvProblem[] {
    try {
      this.first = this.instance('creating the environment');
      this.spec = this.first.spec;
      if (this.options.label === undefined) {
        this.label =
          typeof this.spec?.name === 'string' && this.spec.name ? this.spec.name : '(unnamed)';
      }
      if (!this.checkSpec()) return this.problems;
      this.ran.add('spec');
      this.phase(['shapes', 'finite', 'terminal', 'render'], () => this.checkEpisode());
      this.phase(['determinism', 'seed'], () => this.checkDeterminism());
      this.phase(['action-bounds'], () => this.checkActionBounds());
    } catch (err) {
      if (!(err instanceof Abort)) throw err;
    }
    return this.problems;
  }

  // ---- reporting ----------------------------------------------------------------------------

  private report(
    check: CheckName,
    call: string,
    field: string,
    value: unknown,
    expected: string,
    cause?: unknown,
    dedupe = `${check}|${field.replace(/\[\d+\]$/, '[]')}`,
  ): void {
    const got = value instanceof Error ? `${value.name}: ${value.message}` : describeValue(value);
    this.push(
      {
        env: this.label,
        check,
        call,
        field,
        value,
        expected,
        message: `${this.label}: [${check}] ${call}: ${field}: got ${got}, expected ${expected}`,
        cause,
      },
      dedupe,
    );
  }

  private push(problem: EnvProblem, dedupe: string): void {
    if (this.seen.has(dedupe)) return;
    this.seen.add(dedupe);
    this.problems.push(problem);
    if (this.problems.length >= this.maxProblems) throw new Abort();
  }

  /**
   * A GibbsError of another copy of @gibbs/core, met where `step` had to throw a GibbsError: report
   * that once (not once per call that threw one) and say so; false for any other error.
   */
  private secondCore(check: CheckName, call: string, err: unknown): boolean {
    const copy = otherCoreCopy(err);
    if (!copy) return false;
    const from = copy.sameFiles
      ? 'the same files loaded a second time, as CommonJS beside ES modules? a package.json with "type": "module" beside the module makes them ES modules'
      : `from ${copy.url ?? 'a copy too old to say where'}`;
    const thrown = err instanceof Error ? err.message : String(err);
    this.push(
      {
        env: this.label,
        check,
        call,
        field: 'GibbsError',
        value: err,
        expected: "a GibbsError of the checker's @gibbs/core",
        message: `${this.label}: [${check}] ${call}: the module loaded a second copy of @gibbs/core (${from}), so the GibbsError it threw ("${thrown}") is not one of the checker's @gibbs/core: make it resolve the same @gibbs/core`,
        cause: err,
      },
      'second-core',
    );
    return true;
  }

  private skip(check: CheckName, what: string, why: string, whole = false): void {
    this.skipped.push({ check, what, why, whole });
  }

  /**
   * A phase stops at its first Abort (a throw already reported); the next phase still runs. The
   * checks it covers count as run when it gets to its end.
   */
  private phase(checks: readonly CheckName[], fn: () => void): void {
    try {
      fn();
      for (const c of checks) this.ran.add(c);
    } catch (err) {
      if (!(err instanceof Abort) || this.problems.length >= this.maxProblems) throw err;
    }
  }

  private instance(call: string): Environment {
    let env: unknown = this.source;
    if (typeof this.source === 'function') {
      try {
        env = this.source();
      } catch (err) {
        this.report('call', call, 'factory', err, 'a factory that returns an environment', err);
        throw new Abort();
      }
    }
    const e = env as Partial<Environment> | null;
    if (
      typeof e !== 'object' ||
      e === null ||
      typeof e.reset !== 'function' ||
      typeof e.step !== 'function' ||
      typeof e.render !== 'function'
    ) {
      const field = typeof this.source === 'function' ? 'factory()' : 'environment';
      this.report(
        'call',
        call,
        field,
        env,
        'an Environment: an object with spec, reset, step and render',
      );
      throw new Abort();
    }
    return e as Environment;
  }

  private call<T>(what: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      // One report per distinct error: a reset that always throws is reported once, not per phase.
      const key = `call|${err instanceof Error ? err.message : String(err)}`;
      this.report('call', what, what.split(/[ (]/)[0], err, 'no exception', err, key);
      throw new Abort();
    }
  }

  // ---- spec ---------------------------------------------------------------------------------

  private checkSpec(): boolean {
    const spec = this.spec as EnvSpec | undefined;
    const before = this.problems.length;
    const bad = (field: string, value: unknown, expected: string) =>
      this.report('spec', 'spec', `spec.${field}`, value, expected);
    if (typeof spec !== 'object' || spec === null) {
      bad('', spec, 'an EnvSpec object');
      return false;
    }
    if (typeof spec.name !== 'string' || spec.name === '') bad('name', spec.name, 'a name');
    if (!isPositiveInt(spec.maxSteps)) bad('maxSteps', spec.maxSteps, 'a positive integer');
    if (spec.grid !== null) {
      if (typeof spec.grid !== 'object' || spec.grid === undefined)
        bad('grid', spec.grid, 'null or { width, height }');
      else {
        if (!isPositiveInt(spec.grid.width))
          bad('grid.width', spec.grid.width, 'a positive integer');
        if (!isPositiveInt(spec.grid.height))
          bad('grid.height', spec.grid.height, 'a positive integer');
      }
    }
    if (!Array.isArray(spec.groups) || spec.groups.length === 0) {
      bad('groups', spec.groups, 'a non-empty array of groups');
      return false;
    }
    const names = new Set<string>();
    spec.groups.forEach((g: GroupSpec, i) => {
      const at = `groups[${i}]`;
      if (typeof g.name !== 'string' || g.name === '') bad(`${at}.name`, g.name, 'a name');
      else if (names.has(g.name)) bad(`${at}.name`, g.name, 'a name unique among the groups');
      names.add(g.name);
      if (!isPositiveInt(g.capacity)) bad(`${at}.capacity`, g.capacity, 'a positive integer');
      if (!isNonNegInt(g.features)) bad(`${at}.features`, g.features, 'an integer >= 0');
      if (!isPositiveInt(g.actions)) bad(`${at}.actions`, g.actions, 'an integer >= 1');
      if (g.actionNames !== undefined && g.actionNames.length !== g.actions)
        bad(`${at}.actionNames.length`, g.actionNames.length, `${g.actions} (one per action)`);
      if (g.view !== null) {
        const v = g.view;
        if (typeof v !== 'object' || v === undefined) {
          bad(`${at}.view`, v, 'null or { height, width, channels, channelNames }');
          return;
        }
        for (const k of ['height', 'width', 'channels'] as const)
          if (!isPositiveInt(v[k])) bad(`${at}.view.${k}`, v[k], 'a positive integer');
        if (!Array.isArray(v.channelNames) || v.channelNames.length !== v.channels)
          bad(
            `${at}.view.channelNames.length`,
            Array.isArray(v.channelNames) ? v.channelNames.length : v.channelNames,
            `${v.channels} (view.channels)`,
          );
      }
    });
    return this.problems.length === before;
  }

  // ---- one episode: shapes, finiteness, terminal handling, render --------------------------

  private checkEpisode(): void {
    const env = this.first;
    const seed = this.seed;
    const limit = this.options.episodeSteps ?? Math.min(this.spec.maxSteps, 1000);
    const actions = allocActions(this.spec);
    const rng = new Rng(this.actionSeed);
    const prevAlive = this.spec.groups.map((g) => new Uint8Array(g.capacity));
    let call = `reset(${seed})`;
    let out = this.call(call, () => env.reset(seed));
    this.checkOutput(out, call, 0);
    this.checkAfterReset(out, call);
    this.checkRender(env, out, `render() after ${call}`);
    let t = 0;
    while (!out.done && t < limit) {
      for (let g = 0; g < actions.length; g++) prevAlive[g].set(out.groups[g].alive);
      randomActions(rng, this.spec, actions);
      t++;
      call = `step ${t} after reset(${seed})`;
      out = this.call(call, () => env.step(actions));
      this.checkOutput(out, call, t);
      this.checkTransition(out, prevAlive, call, t);
      if (t <= 2 || out.done) this.checkRender(env, out, `render() after ${call}`);
    }
    if (out.done)
      this.checkStepAfterDone(
        env,
        rng,
        actions,
        `step ${t + 1} after done at step ${t} after reset(${seed})`,
      );
    else
      this.skip(
        'terminal',
        'that step after done throws a GibbsError',
        `the episode did not end in ${t} steps (episodeSteps)`,
      );
    // Reset after the episode (done or cut by the checker) must give a fresh start.
    call = `reset(${seed}) after ${out.done ? 'done' : `${t} steps`}`;
    out = this.call(call, () => env.reset(seed));
    this.checkOutput(out, call, 0);
    this.checkAfterReset(out, call);
  }

  /** The contract: step after done, before the next reset, throws a GibbsError (call reset). */
  private checkStepAfterDone(
    env: Environment,
    rng: Rng,
    actions: Int32Array[],
    call: string,
  ): void {
    randomActions(rng, this.spec, actions);
    let after: StepOutput;
    try {
      after = env.step(actions);
    } catch (err) {
      if (err instanceof GibbsError || this.secondCore('terminal', call, err)) return;
      this.report('terminal', call, 'step', err, 'a GibbsError saying to call reset', err);
      return;
    }
    const got =
      typeof after === 'object' && after !== null
        ? `a step output (step ${describeValue(after.step)}, done ${describeValue(after.done)})`
        : after;
    this.report(
      'terminal',
      call,
      'step',
      got,
      'step to throw a GibbsError after done, until the next reset (stepAfterDone in @gibbs/core)',
    );
  }

  private checkOutput(out: StepOutput, call: string, step: number): void {
    const spec = this.spec;
    const bad = (check: CheckName, field: string, value: unknown, expected: string) =>
      this.report(check, call, field, value, expected);
    if (typeof out !== 'object' || out === null) {
      bad('shapes', 'output', out, 'a StepOutput object');
      throw new Abort();
    }
    if (out.step !== step) bad('shapes', 'step', out.step, `${step}`);
    if (typeof out.done !== 'boolean') bad('shapes', 'done', out.done, 'a boolean');
    if (typeof out.info !== 'object' || out.info === null)
      bad('shapes', 'info', out.info, 'an object of numbers');
    else
      for (const [k, v] of Object.entries(out.info))
        if (typeof v !== 'number' || !Number.isFinite(v))
          bad('finite', `info["${k}"]`, v, 'a finite number');
    if (!Array.isArray(out.groups) || out.groups.length !== spec.groups.length) {
      bad(
        'shapes',
        'groups.length',
        Array.isArray(out.groups) ? out.groups.length : out.groups,
        `${spec.groups.length} (one per spec group)`,
      );
      throw new Abort();
    }
    spec.groups.forEach((g, gi) => {
      const o = out.groups[gi];
      const at = `groups[${gi}:${g.name}]`;
      const lengths: Record<string, number> = {
        view: g.capacity * viewSize(g),
        features: g.capacity * g.features,
        reward: g.capacity,
        alive: g.capacity,
        terminated: g.capacity,
        truncated: g.capacity,
      };
      let shaped = true;
      for (const f of FLOAT_FIELDS) {
        const a = o?.[f] as unknown;
        if (!(a instanceof Float32Array)) {
          bad('shapes', `${at}.${f}`, a, `a Float32Array of length ${lengths[f]}`);
          shaped = false;
        } else if (a.length !== lengths[f]) {
          bad('shapes', `${at}.${f}.length`, a.length, `${lengths[f]} (${lengthWhy(f, g)})`);
          shaped = false;
        }
      }
      for (const f of BYTE_FIELDS) {
        const a = o?.[f] as unknown;
        if (!(a instanceof Uint8Array)) {
          bad('shapes', `${at}.${f}`, a, `a Uint8Array of length ${lengths[f]}`);
          shaped = false;
        } else if (a.length !== lengths[f]) {
          bad('shapes', `${at}.${f}.length`, a.length, `${lengths[f]} (capacity)`);
          shaped = false;
        }
      }
      if (!shaped) throw new Abort();
      for (const f of FLOAT_FIELDS) {
        const a = o[f];
        for (let i = 0; i < a.length; i++)
          if (!Number.isFinite(a[i])) {
            const slot =
              f === 'reward' ? i : Math.floor(i / (f === 'view' ? viewSize(g) : g.features));
            bad('finite', `${at}.${f}[${i}]`, a[i], `a finite number (slot ${slot})`);
            break;
          }
      }
      for (const f of BYTE_FIELDS) {
        const a = o[f];
        for (let i = 0; i < a.length; i++)
          if (a[i] > 1) {
            bad('finite', `${at}.${f}[${i}]`, a[i], '0 or 1');
            break;
          }
      }
    });
  }

  private checkAfterReset(out: StepOutput, call: string): void {
    if (out.done !== false) this.report('terminal', call, 'done', out.done, 'false after reset');
    let live = 0;
    this.spec.groups.forEach((g, gi) => {
      const o = out.groups[gi];
      const at = `groups[${gi}:${g.name}]`;
      for (let i = 0; i < g.capacity; i++) {
        live += o.alive[i];
        if (o.terminated[i] !== 0 || o.truncated[i] !== 0)
          this.report(
            'terminal',
            call,
            `${at}.${o.terminated[i] ? 'terminated' : 'truncated'}[${i}]`,
            1,
            '0 after reset',
          );
        if (o.alive[i] === 0 && o.reward[i] !== 0)
          this.report('terminal', call, `${at}.reward[${i}]`, o.reward[i], '0 for a dead slot');
      }
    });
    if (live === 0)
      this.report('terminal', call, 'alive', 0, 'at least one live agent after reset');
  }

  private checkTransition(
    out: StepOutput,
    prevAlive: readonly Uint8Array[],
    call: string,
    step: number,
  ): void {
    const respawn = this.spec.respawn === true;
    let goingOn = 0;
    let unflagged = -1;
    let unflaggedGroup = 0;
    this.spec.groups.forEach((g, gi) => {
      const o = out.groups[gi];
      const was = prevAlive[gi];
      const at = `groups[${gi}:${g.name}]`;
      for (let i = 0; i < g.capacity; i++) {
        const flagged = o.terminated[i] === 1 || o.truncated[i] === 1;
        if (o.alive[i] === 1 && !flagged) goingOn++;
        if (was[i] === 0) {
          if (o.alive[i] === 1 && !respawn)
            this.report(
              'terminal',
              call,
              `${at}.alive[${i}]`,
              1,
              '0: the slot was dead earlier in the episode (set spec.respawn if slots are reused)',
            );
          if (o.alive[i] === 0 && o.reward[i] !== 0)
            this.report('terminal', call, `${at}.reward[${i}]`, o.reward[i], '0 for a dead slot');
          if (o.alive[i] === 0 && flagged)
            this.report(
              'terminal',
              call,
              `${at}.${o.terminated[i] ? 'terminated' : 'truncated'}[${i}]`,
              1,
              '0 for a slot dead before the step (its episode ended earlier)',
            );
        } else {
          if (o.alive[i] === 0 && !flagged)
            this.report(
              'terminal',
              call,
              `${at}.terminated[${i}]`,
              0,
              '1 (or truncated 1) on the step where the agent died',
            );
          if (out.done && !flagged && unflagged < 0) {
            unflagged = i;
            unflaggedGroup = gi;
          }
        }
      }
    });
    if (out.done && unflagged >= 0) {
      const g = this.spec.groups[unflaggedGroup];
      this.report(
        'terminal',
        call,
        `groups[${unflaggedGroup}:${g.name}].terminated[${unflagged}]`,
        0,
        '1 (or truncated 1) for every agent live before the step, since done is true',
      );
    } else if (!out.done && goingOn === 0)
      this.report('terminal', call, 'done', false, 'true: no live agent goes on');
    if (step >= this.spec.maxSteps && !out.done)
      this.report('terminal', call, 'done', false, `true at step ${this.spec.maxSteps} (maxSteps)`);
  }

  private checkRender(env: Environment, out: StepOutput, call: string): void {
    const frame = this.call(call, () => env.render()) as RenderFrame;
    const bad = (field: string, value: unknown, expected: string) =>
      this.report('render', call, field, value, expected);
    if (typeof frame !== 'object' || frame === null) {
      bad('frame', frame, 'a RenderFrame');
      return;
    }
    const grid = this.spec.grid;
    const w = grid ? grid.width : 0;
    const h = grid ? grid.height : 0;
    if (frame.width !== w)
      bad('width', frame.width, `${w} (spec.grid${grid ? '.width' : ' is null'})`);
    if (frame.height !== h)
      bad('height', frame.height, `${h} (spec.grid${grid ? '.height' : ' is null'})`);
    if (frame.step !== out.step) bad('step', frame.step, `${out.step} (the output's step)`);
    if (!isNonNegInt(frame.episode)) bad('episode', frame.episode, 'an integer >= 0');
    const legendOk =
      Array.isArray(frame.legend) &&
      frame.legend.length > 0 &&
      frame.legend.every((s) => typeof s === 'string');
    if (!legendOk) bad('legend', frame.legend, 'a non-empty array of names');
    if (!(frame.cells instanceof Uint8Array)) bad('cells', frame.cells, 'a Uint8Array');
    else if (frame.cells.length !== frame.width * frame.height)
      bad('cells.length', frame.cells.length, `${frame.width * frame.height} (width * height)`);
    else if (legendOk)
      for (let i = 0; i < frame.cells.length; i++)
        if (frame.cells[i] >= frame.legend.length) {
          bad(`cells[${i}]`, frame.cells[i], `a code < ${frame.legend.length} (legend length)`);
          break;
        }
    const names = this.spec.groups.map((g) => g.name);
    if (!Array.isArray(frame.groups) || frame.groups.join('\u0000') !== names.join('\u0000'))
      bad('groups', frame.groups, JSON.stringify(names));
    const a = frame.agents;
    if (typeof a !== 'object' || a === null || !isNonNegInt(a.count)) {
      bad('agents.count', a?.count, 'an integer >= 0');
      return;
    }
    const types = {
      group: Uint8Array,
      slot: Int32Array,
      x: Float32Array,
      y: Float32Array,
      hp: Float32Array,
      heading: Float32Array,
      action: Int16Array,
      reward: Float32Array,
    } as const;
    let shaped = true;
    for (const [k, T] of Object.entries(types)) {
      const arr = (a as unknown as Record<string, unknown>)[k];
      if (!(arr instanceof T)) {
        bad(`agents.${k}`, arr, `a ${T.name} of length ${a.count}`);
        shaped = false;
      } else if (arr.length !== a.count) {
        bad(`agents.${k}.length`, arr.length, `${a.count} (agents.count)`);
        shaped = false;
      }
    }
    if (!shaped) return;
    let live = 0;
    for (const o of out.groups) for (let i = 0; i < o.alive.length; i++) live += o.alive[i];
    if (grid ? a.count !== live : a.count !== live && a.count !== 0)
      bad('agents.count', a.count, `${live} (the live agents${grid ? '' : ', or 0'})`);
    for (let k = 0; k < a.count; k++) {
      const gi = a.group[k];
      if (gi >= this.spec.groups.length) {
        bad(`agents.group[${k}]`, gi, `a group index < ${this.spec.groups.length}`);
        continue;
      }
      const s = a.slot[k];
      if (!(s >= 0 && s < this.spec.groups[gi].capacity && out.groups[gi].alive[s] === 1))
        bad(`agents.slot[${k}]`, s, `a live slot of group ${names[gi]}`);
      if (grid && !(a.x[k] >= 0 && a.x[k] <= w && a.y[k] >= 0 && a.y[k] <= h))
        bad(`agents.x/y[${k}]`, `${a.x[k]},${a.y[k]}`, `a position inside the ${w}x${h} grid`);
      if (!(a.hp[k] >= 0 && a.hp[k] <= 1)) bad(`agents.hp[${k}]`, a.hp[k], 'a value in [0, 1]');
      if (!Number.isFinite(a.reward[k])) bad(`agents.reward[${k}]`, a.reward[k], 'a finite number');
    }
  }

  // ---- determinism and seeds ----------------------------------------------------------------

  private checkDeterminism(): void {
    const steps = this.options.determinismSteps ?? 50;
    const seed = this.seed;
    const fresh = typeof this.source === 'function';
    // Run A on the first instance (already used: reset must start over), run B on a fresh instance
    // when there is a factory, then A again on the first instance.
    const a = this.trace(this.first, seed, steps, 'run A');
    if (!fresh)
      this.skip(
        'determinism',
        'a fresh instance against one already used',
        'an Environment instance was given, not a factory of fresh ones',
      );
    const second = fresh ? this.instance('creating a second instance') : this.first;
    const b = this.trace(second, seed, steps, fresh ? 'run B (fresh instance)' : 'run B');
    const bDiff = firstDifference(a.digests, b.digests);
    if (bDiff >= 0)
      this.locate(
        second,
        seed,
        bDiff,
        a,
        b,
        fresh ? 'a fresh instance against one already used' : 'the same instance reset again',
      );
    else if (fresh) {
      const c = this.trace(this.first, seed, steps, 'run C');
      const cDiff = firstDifference(a.digests, c.digests);
      if (cDiff >= 0) this.locate(this.first, seed, cDiff, a, c, 'the same instance reset again');
    }
    const stochastic = this.options.stochastic;
    if (stochastic === undefined)
      this.skip(
        'seed',
        'whether another seed changes the trajectory',
        'the stochastic option is not set: true, another seed must change it; false, it must not; gibbs check --stochastic true|false',
        true,
      );
    else if (bDiff >= 0)
      this.skip(
        'seed',
        'whether another seed changes the trajectory',
        'one seed does not give one trajectory: see the determinism problem',
        true,
      );
    if (stochastic !== undefined && bDiff < 0) {
      const other = this.options.otherSeed ?? seed + 1;
      const o = this.trace(this.first, other, steps, `run with seed ${other}`);
      const same =
        firstDifference(a.digests, o.digests) < 0 && a.digests.length === o.digests.length;
      if (stochastic && same)
        this.report(
          'seed',
          `reset(${other}) vs reset(${seed})`,
          'trajectory',
          `identical for ${a.digests.length - 1} steps`,
          'a different trajectory for another seed (stochastic: true); is the seed used?',
        );
      if (!stochastic && !same)
        this.report(
          'seed',
          `reset(${other}) vs reset(${seed})`,
          'trajectory',
          'different',
          'the same trajectory for every seed (stochastic: false)',
        );
    }
    // Actions on dead slots are ignored: replay A with an out-of-range action on a dead slot.
    if (!a.deadProbe)
      this.skip(
        'action-bounds',
        'that the action of a dead slot is ignored',
        `no slot was dead in the first ${a.digests.length - 1} steps after reset(${seed})`,
      );
    else if (bDiff >= 0)
      this.skip(
        'action-bounds',
        'that the action of a dead slot is ignored',
        'one seed does not give one trajectory: see the determinism problem',
      );
    if (a.deadProbe && bDiff < 0) {
      const p = a.deadProbe;
      const g = this.spec.groups[p.group];
      const call = `step ${p.step} after reset(${seed}) with action -1 on dead slot ${p.slot}`;
      const d = this.trace(this.first, seed, p.step, 'dead-slot probe', p);
      if (d.digests.length > p.step && d.digests[p.step] !== a.digests[p.step])
        this.report(
          'action-bounds',
          call,
          `groups[${p.group}:${g.name}] actions[${p.slot}]`,
          -1,
          'the action of a dead slot to be ignored (the step differed from the same step with a valid action there)',
        );
    }
  }

  /** Play `steps` steps (or to done) from reset(seed) with the checker's actions; digest each. */
  private trace(
    env: Environment,
    seed: number,
    steps: number,
    label: string,
    deadAction?: { step: number; group: number; slot: number },
    keep?: number,
  ): Trace {
    const rng = new Rng(this.actionSeed);
    const actions = allocActions(this.spec);
    let out = this.call(`reset(${seed}) (${label})`, () => env.reset(seed));
    const trace: Trace = { digests: [], steps: [], deadProbe: null };
    const record = (o: StepOutput) => {
      const d = digest(o, this.spec);
      trace.digests.push(d.all);
      trace.steps.push(d);
    };
    record(out);
    if (keep === 0) trace.snapshots = new Map([[0, snapshot(out)]]);
    for (let t = 1; t <= steps && !out.done; t++) {
      if (!trace.deadProbe) trace.deadProbe = findDead(out, t);
      randomActions(rng, this.spec, actions);
      if (deadAction && deadAction.step === t) {
        const { group, slot } = deadAction;
        actions[group][slot] = -1;
        try {
          out = env.step(actions);
        } catch (err) {
          this.report(
            'action-bounds',
            `step ${t} after reset(${seed}) with action -1 on dead slot ${slot}`,
            `groups[${group}:${this.spec.groups[group].name}] actions[${slot}]`,
            err,
            'the action of a dead slot to be ignored (env.ts: entries of dead slots are ignored)',
            err,
          );
          throw new Abort();
        }
      } else out = this.call(`step ${t} after reset(${seed}) (${label})`, () => env.step(actions));
      record(out);
      if (keep === t) trace.snapshots = new Map([[t, snapshot(out)]]);
    }
    return trace;
  }

  /** Two runs differ at step t: replay both to t, keep their outputs and name the first field. */
  private locate(env: Environment, seed: number, t: number, a: Trace, b: Trace, how: string): void {
    const steps = Math.min(a.digests.length, b.digests.length) - 1;
    const call = `step ${t} after reset(${seed})`;
    if (t > steps) {
      this.report(
        'determinism',
        call,
        'done',
        `episode length ${b.digests.length - 1}`,
        `${a.digests.length - 1} steps, as in another run with seed ${seed} and the same actions (${how})`,
      );
      return;
    }
    const first = this.trace(this.first, seed, t, 'locating A', undefined, t).snapshots?.get(t);
    const second = this.trace(env, seed, t, 'locating B', undefined, t).snapshots?.get(t);
    const names = this.spec.groups.map((g) => g.name);
    const where = first && second ? snapshotDifference(first, second, names) : null;
    if (where)
      this.report(
        'determinism',
        call,
        where.field,
        where.value,
        `${describeValue(where.expected)}, its value in another run with seed ${seed} and the same actions (${how})`,
      );
    else {
      // Replayed, the two runs agreed: name the field from the runs' own digests.
      this.report(
        'determinism',
        call,
        partDifference(a.steps[t], b.steps[t]) ?? 'output',
        'a different value',
        `its value in another run with seed ${seed} and the same actions (${how}; replayed, the runs agreed: it differs from run to run)`,
      );
    }
  }

  // ---- action bounds ------------------------------------------------------------------------

  private checkActionBounds(): void {
    const env = this.first;
    const seed = this.seed;
    const spec = this.spec;
    const valid = () => allocActions(spec);
    const expectThrow = (field: string, value: unknown, why: string, actions: Int32Array[]) => {
      this.call(`reset(${seed})`, () => env.reset(seed));
      const call = `step 1 after reset(${seed}) with ${why}`;
      try {
        env.step(actions);
      } catch (err) {
        if (!(err instanceof GibbsError) && !this.secondCore('action-bounds', call, err))
          this.report(
            'action-bounds',
            call,
            field,
            err,
            'a GibbsError naming the group, slot and value',
            err,
          );
        return;
      }
      this.report('action-bounds', call, field, value, 'step to throw a GibbsError');
    };
    const out = this.call(`reset(${seed})`, () => env.reset(seed));
    const live = spec.groups.map((_g, gi) => out.groups[gi].alive.indexOf(1));
    spec.groups.forEach((g, gi) => {
      const at = `groups[${gi}:${g.name}]`;
      const slot = live[gi];
      if (slot < 0)
        this.skip(
          'action-bounds',
          `an out-of-range action on a live slot of ${g.name}`,
          `no slot of ${g.name} is live after reset(${seed})`,
        );
      if (slot >= 0) {
        for (const bad of [g.actions, -1]) {
          const acts = valid();
          acts[gi][slot] = bad;
          expectThrow(
            `${at} actions[${slot}]`,
            bad,
            `action ${bad} on live slot ${slot} (valid: 0..${g.actions - 1})`,
            acts,
          );
        }
      }
      for (const len of [g.capacity + 1, g.capacity - 1]) {
        const acts = valid();
        acts[gi] = new Int32Array(len);
        expectThrow(
          `${at} actions.length`,
          len,
          `an Int32Array of length ${len} (capacity ${g.capacity})`,
          acts,
        );
      }
    });
    const fewer = valid().slice(0, -1);
    expectThrow(
      'actions.length',
      fewer.length,
      `${fewer.length} action arrays for ${spec.groups.length} groups`,
      fewer,
    );
  }
}

// ---- helpers ------------------------------------------------------------------------------

function isPositiveInt(x: unknown): boolean {
  return typeof x === 'number' && Number.isInteger(x) && x > 0;
}

function isNonNegInt(x: unknown): boolean {
  return typeof x === 'number' && Number.isInteger(x) && x >= 0;
}

function lengthWhy(field: string, g: GroupSpec): string {
  if (field === 'view')
    return g.view
      ? `capacity ${g.capacity} x ${g.view.height}x${g.view.width}x${g.view.channels}`
      : 'no view';
  if (field === 'features') return `capacity ${g.capacity} x ${g.features} features`;
  return 'capacity';
}

/** Uniform valid actions for every slot (dead ones too: their entries must be ignored anyway). */
function randomActions(rng: Rng, spec: EnvSpec, actions: Int32Array[]): void {
  for (let g = 0; g < actions.length; g++) {
    const n = spec.groups[g].actions;
    const a = actions[g];
    for (let i = 0; i < a.length; i++) a[i] = rng.int(n);
  }
}

function findDead(out: StepOutput, step: number): Trace['deadProbe'] {
  for (let g = 0; g < out.groups.length; g++) {
    const i = out.groups[g].alive.indexOf(0);
    if (i >= 0) return { step, group: g, slot: i };
  }
  return null;
}

function fnv(h: number, bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 16777619);
  return h;
}

function fnvNumber(h: number, x: number): number {
  const f = new Float64Array([x]);
  return fnv(h, new Uint8Array(f.buffer));
}

const FNV_BASIS = 2166136261;

function digest(out: StepOutput, spec: EnvSpec): Digest {
  const parts = new Map<string, number>();
  parts.set('step', fnvNumber(FNV_BASIS, out.step));
  parts.set('done', fnvNumber(FNV_BASIS, out.done ? 1 : 0));
  for (const k of Object.keys(out.info).sort())
    parts.set(`info["${k}"]`, fnvNumber(FNV_BASIS, out.info[k]));
  out.groups.forEach((o, g) => {
    for (const f of [...FLOAT_FIELDS, ...BYTE_FIELDS]) {
      const a = o[f];
      parts.set(
        `groups[${g}:${spec.groups[g]?.name}].${f}`,
        fnv(FNV_BASIS, new Uint8Array(a.buffer, a.byteOffset, a.byteLength)),
      );
    }
  });
  let h = FNV_BASIS;
  const enc = new TextEncoder();
  for (const [k, v] of parts) {
    h = fnv(h, enc.encode(k));
    h = fnvNumber(h, v);
  }
  return { all: h >>> 0, parts };
}

/** The first field whose digest differs between two steps (one missing in either counts). */
function partDifference(a: Digest | undefined, b: Digest | undefined): string | null {
  if (!a || !b) return null;
  for (const [k, v] of a.parts) if (b.parts.get(k) !== v) return k;
  for (const k of b.parts.keys()) if (!a.parts.has(k)) return k;
  return null;
}

function snapshot(out: StepOutput): Snapshot {
  return {
    step: out.step,
    done: out.done,
    info: { ...out.info },
    groups: out.groups.map((o) => ({
      arrays: Object.fromEntries(
        [...FLOAT_FIELDS, ...BYTE_FIELDS].map((f) => [f, Array.from(o[f] as ArrayLike<number>)]),
      ),
    })),
  };
}

function snapshotDifference(
  a: Snapshot,
  b: Snapshot,
  names: readonly string[],
): { field: string; value: unknown; expected: unknown } | null {
  if (a.done !== b.done) return { field: 'done', value: b.done, expected: a.done };
  const keys = new Set([...Object.keys(a.info), ...Object.keys(b.info)]);
  for (const k of [...keys].sort())
    if (!Object.is(a.info[k], b.info[k]))
      return { field: `info["${k}"]`, value: b.info[k], expected: a.info[k] };
  for (let g = 0; g < a.groups.length; g++)
    for (const f of [...FLOAT_FIELDS, ...BYTE_FIELDS]) {
      const x = a.groups[g].arrays[f];
      const y = b.groups[g].arrays[f];
      for (let i = 0; i < x.length; i++)
        if (!Object.is(x[i], y[i]))
          return { field: `groups[${g}:${names[g]}].${f}[${i}]`, value: y[i], expected: x[i] };
    }
  return null;
}

function firstDifference(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}
