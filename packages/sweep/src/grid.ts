/**
 * A sweep's runs: the cartesian product of grid values, times the seeds. Grid values are parsed
 * against the experiment's parameter schema before anything runs, so a typo or an out-of-range
 * value is an error naming the parameter, not a failed job later. Run names are a pure function
 * of the parsed grid point and the seed: resubmitting a sweep finds the runs it already did.
 */
import { createHash } from 'node:crypto';
import { describeValue, type Experiment, GibbsError, parseParams } from '@gibbs/core';

/** One swept parameter and its values, in the order given. */
export interface GridAxis {
  param: string;
  /** Values as given (strings from the command line, or typed values). */
  values: unknown[];
}

/** One run of a sweep: a grid point and a seed. */
export interface RunPlan {
  /** Directory name inside the sweep directory, e.g. `temperature=0.5_s3`. */
  name: string;
  /** The grid point, parsed (numbers are numbers). */
  point: Record<string, unknown>;
  seed: number;
}

/** The most runs one sweep may plan: beyond it the plan alone would take gigabytes. */
export const MAX_RUNS = 100_000;

const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i;

/**
 * `--grid param=v1,v2,...`; a numeric range `a..b` (integers, step 1) or `a..b:step` expands to
 * a, a+step, ... <= b (rounded to the step's decimals, so 0.5..2.5:0.1 gives 0.5, 0.6, ... 2.5).
 */
export function parseGridOption(text: string): GridAxis {
  const eq = text.indexOf('=');
  const param = eq > 0 ? text.slice(0, eq).trim() : '';
  const rest = eq > 0 ? text.slice(eq + 1) : '';
  if (!param || rest.trim() === '') {
    throw GibbsError.invalid('--grid', text, 'param=v1,v2,... or param=a..b:step');
  }
  const values: unknown[] = [];
  for (const part of rest.split(',')) {
    const item = part.trim();
    if (item === '')
      throw GibbsError.invalid(`--grid ${param}`, rest, 'no empty value in the list');
    const range = /^([^:]+)\.\.([^:]+?)(?::(.+))?$/.exec(item);
    if (range && NUMBER.test(range[1]) && NUMBER.test(range[2])) {
      values.push(...expandRange(`--grid ${param}`, range[1], range[2], range[3] ?? '1'));
    } else values.push(item);
  }
  return { param, values };
}

/** `0,1,2`, `0..4` (inclusive) or a mix `0..2,7`: distinct integers in [0, 2^32). */
export function parseSeeds(text: string): number[] {
  const seeds: number[] = [];
  for (const part of text.split(',')) {
    const item = part.trim();
    const range = /^(\d+)\.\.(\d+)$/.exec(item);
    // Named as typed: expandRange would report "4..0:1", a step the user never wrote.
    if (range && Number(range[1]) > Number(range[2]))
      throw GibbsError.invalid('--seeds', item, 'a range a..b with a <= b (0..4)');
    const list = range ? expandRange('--seeds', range[1], range[2], '1') : [item];
    for (const s of list) {
      const n = Number(s);
      if (!/^\d+$/.test(s) || !Number.isSafeInteger(n) || n >= 2 ** 32) {
        throw GibbsError.invalid('--seeds', text, 'seeds as 0,1,2 or 0..4 (integers in [0, 2^32))');
      }
      if (seeds.includes(n)) throw GibbsError.invalid('--seeds', text, `each seed once (${n})`);
      seeds.push(n);
    }
  }
  return seeds;
}

function expandRange(field: string, from: string, to: string, step: string): string[] {
  const a = Number(from);
  const b = Number(to);
  const h = Number(step);
  if (!NUMBER.test(step) || !(h > 0) || !(b >= a)) {
    throw GibbsError.invalid(
      field,
      `${from}..${to}:${step}`,
      'a range a..b:step with a <= b, step > 0',
    );
  }
  const decimals = Math.max(decimalsOf(from), decimalsOf(step));
  const count = Math.floor((b - a) / h + 1e-9) + 1;
  if (count > 100_000)
    throw GibbsError.invalid(field, `${from}..${to}:${step}`, 'at most 100000 values');
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(String(Number((a + i * h).toFixed(decimals))));
  return out;
}

function decimalsOf(s: string): number {
  const m = /\.(\d*)/.exec(s.toLowerCase().split('e')[0]);
  return m ? m[1].length : 0;
}

/**
 * Check the grid and the fixed parameters against the experiment and list the runs, grid-major
 * (first axis slowest), seeds fastest. Unknown parameters, ill-typed values, an empty grid, a
 * parameter both swept and fixed, and a value listed twice are GibbsErrors.
 */
export function planRuns(
  experiment: Experiment,
  grid: readonly GridAxis[],
  fixed: Record<string, unknown>,
  seeds: readonly number[],
): RunPlan[] {
  if (grid.length === 0) {
    throw GibbsError.invalid('--grid', 'nothing', 'at least one --grid param=v1,v2,...');
  }
  if (seeds.length === 0) throw GibbsError.invalid('--seeds', 'nothing', 'at least one seed');
  // Checked before any run is planned: each axis is capped, their product must be too.
  const total = grid.reduce((n, axis) => n * axis.values.length, seeds.length);
  if (total > MAX_RUNS) {
    const sizes = [...grid.map((a) => `${a.values.length} ${a.param}`), `${seeds.length} seeds`];
    throw GibbsError.invalid(
      '--grid x --seeds',
      `${sizes.join(' x ')} = ${total} runs`,
      `at most ${MAX_RUNS} runs in one sweep (a coarser step or fewer seeds)`,
    );
  }
  const known = Object.keys(experiment.params.shape);
  const owner = `experiment "${experiment.name}"`;
  const axes: { param: string; values: unknown[] }[] = [];
  for (const axis of grid) {
    if (!known.includes(axis.param)) {
      throw new GibbsError(
        `--grid: ${owner} has no parameter "${axis.param}"; valid parameters: ${known.join(', ') || 'none'}`,
        '--grid',
        axis.param,
        known.join(', '),
      );
    }
    if (axes.some((a) => a.param === axis.param)) {
      throw GibbsError.invalid('--grid', axis.param, 'each parameter in one --grid option');
    }
    if (axis.param in fixed) {
      throw GibbsError.invalid(
        `--${axis.param}`,
        fixed[axis.param],
        'a parameter either swept or fixed, not both',
      );
    }
    if (axis.values.length === 0) {
      throw GibbsError.invalid(`--grid ${axis.param}`, 'no values', 'at least one value');
    }
    const parsed: unknown[] = [];
    for (const v of axis.values) {
      const p = (
        parseParams(experiment.params, { ...fixed, [axis.param]: v }, owner) as Record<
          string,
          unknown
        >
      )[axis.param];
      if (parsed.some((q) => Object.is(q, p))) {
        throw GibbsError.invalid(
          `--grid ${axis.param}`,
          v,
          `distinct values (${describeValue(p)} is listed twice)`,
        );
      }
      parsed.push(p);
    }
    axes.push({ param: axis.param, values: parsed });
  }
  // The fixed parameters alone must also be valid (a bad --steps-like param fails here, once).
  parseParams(experiment.params, fixed, owner);
  const runs: RunPlan[] = [];
  const visit = (i: number, point: Record<string, unknown>): void => {
    if (i === axes.length) {
      for (const seed of seeds)
        runs.push({ name: runName(point, seed), point: { ...point }, seed });
      return;
    }
    for (const v of axes[i].values) visit(i + 1, { ...point, [axes[i].param]: v });
  };
  visit(0, {});
  // A combination may still be invalid as a whole (a refinement across parameters).
  for (const r of runs) parseParams(experiment.params, { ...fixed, ...r.point }, owner);
  return runs;
}

/**
 * `temperature=0.5_size=16_s3`: the grid point in axis order, then the seed. Characters outside
 * [A-Za-z0-9.+-] are %-escaped; a name over 120 characters is cut and suffixed with a hash.
 */
export function runName(point: Record<string, unknown>, seed: number): string {
  const parts = Object.entries(point).map(
    ([k, v]) => `${escapeName(k)}=${escapeName(formatValue(v))}`,
  );
  const name = `${parts.join('_')}_s${seed}`;
  if (name.length <= 120) return name;
  return `${name.slice(0, 100)}~${shortHash(name, 12)}_s${seed}`;
}

function formatValue(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function escapeName(s: string): string {
  return s.replace(/[^A-Za-z0-9.+-]/g, (c) =>
    [...Buffer.from(c)].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  );
}

export function shortHash(text: string, length = 10): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

/** JSON with object keys sorted, so that equal settings hash equally. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) =>
            a < b ? -1 : a > b ? 1 : 0,
          ),
        )
      : v,
  );
}
