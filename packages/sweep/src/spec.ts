/**
 * A sweep on disk: `<sweep dir>/sweep.json` (this module) and one directory per run, named by
 * grid point and seed. The sweep id hashes what decides the runs' results besides the grid point
 * and seed (experiment, fixed parameters, steps, log interval, backend, Gibbs version, swept
 * parameter names): the default directory is `sweeps/<experiment>-<id>`, so the same command run
 * again (or with more seeds or grid values) lands in the same place and skips what is done.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { type Experiment, GibbsError, parseParams } from '@gibbs/core';
import { writeJsonAtomic } from '@gibbs/core/node';
import { canonicalJson, type GridAxis, planRuns, type RunPlan, shortHash } from './grid.ts';
import { isRunDone, readConfig, sameRunConfig } from './rundir.ts';
import type { RunJob } from './spawn.ts';

export const SWEEP_FILE = 'sweep.json';

export interface SweepSpec {
  format: 1;
  id: string;
  experiment: { ref: string; name: string };
  /** Parameters given for every run (parsed). */
  fixed: Record<string, unknown>;
  steps: number;
  logEvery: number;
  backend: string | null;
  gibbsVersion: string;
  /** Swept parameter names, in grid order. */
  grid: string[];
  /** Every run submitted to this sweep so far, in submission order. */
  runs: RunPlan[];
  /** Where the runs were queued (password removed), or null for a local sweep. */
  queue: { url: string; name: string } | null;
}

export interface SweepRequest {
  experiment: Experiment;
  /** What the user named: a built-in name or a module path. */
  experimentRef: string;
  grid: GridAxis[];
  seeds: number[];
  fixed: Record<string, unknown>;
  steps?: number;
  logEvery?: number;
  backend?: string | null;
  /**
   * The Gibbs version the runs are done with (the CLI's `gibbsVersion()`): part of the sweep's id,
   * and a worker of another version refuses the sweep's jobs.
   */
  version: string;
  /** Sweep directory; defaults to `sweeps/<experiment>-<id>` under the working directory. */
  out?: string;
  queue?: { url: string; name: string } | null;
}

export interface Sweep {
  dir: string;
  spec: SweepSpec;
  /** The runs this request asked for (a subset of spec.runs when resubmitting). */
  requested: RunPlan[];
}

/**
 * Validate a sweep request and write (or extend) its sweep.json. Everything that can be wrong with
 * the input is found here, before a run starts: unknown or ill-typed parameters, an empty grid, a
 * sweep directory that holds other settings, a finished run whose config disagrees.
 */
export function prepareSweep(req: SweepRequest): Sweep {
  const exp = req.experiment;
  const runs = planRuns(exp, req.grid, req.fixed, req.seeds);
  const fixedAll = parseParams(exp.params, req.fixed, `experiment "${exp.name}"`) as Record<
    string,
    unknown
  >;
  const fixed = Object.fromEntries(Object.keys(req.fixed).map((k) => [k, fixedAll[k]]));
  const steps = req.steps ?? exp.defaultSteps ?? 1000;
  const logEvery = req.logEvery ?? Math.max(1, Math.floor(steps / 100));
  const backend = req.backend ?? null;
  const version = req.version;
  const grid = req.grid.map((a) => a.param);
  const id = shortHash(
    canonicalJson({ experiment: exp.name, fixed, steps, logEvery, backend, version, grid }),
  );
  const ref = isBuiltinRef(req.experimentRef) ? req.experimentRef : resolve(req.experimentRef);
  const dir = resolve(req.out ?? join('sweeps', `${exp.name}-${id}`));
  const spec: SweepSpec = {
    format: 1,
    id,
    experiment: { ref, name: exp.name },
    fixed,
    steps,
    logEvery,
    backend,
    gibbsVersion: version,
    grid,
    runs,
    queue: req.queue ?? null,
  };
  const previous = existsSync(join(dir, SWEEP_FILE)) ? loadSweep(dir).spec : null;
  if (previous) {
    if (previous.id !== id) {
      throw new GibbsError(
        `--out ${dir}: this directory holds sweep ${previous.id} (${describeSettings(previous)}), not these settings (${describeSettings(spec)}); use another --out`,
        '--out',
        dir,
        'a new directory, or the directory of a sweep with the same settings',
      );
    }
    const names = new Set(previous.runs.map((r) => r.name));
    spec.runs = [...previous.runs, ...runs.filter((r) => !names.has(r.name))];
    spec.queue = req.queue ?? previous.queue;
  }
  for (const run of runs) {
    const runDir = join(dir, run.name);
    const config = readConfig(runDir);
    if (!config || !isRunDone(runDir)) continue;
    const job = runJob(dir, spec, run);
    const params = parseParams(exp.params, job.params, `experiment "${exp.name}"`) as Record<
      string,
      unknown
    >;
    if (!sameRunConfig(config, { experiment: exp.name, params, seed: run.seed, steps, logEvery })) {
      throw new GibbsError(
        `${runDir}: holds a finished run with other settings than this sweep asks for; remove it or use another --out`,
        '--out',
        dir,
        'a sweep directory whose finished runs match the sweep',
      );
    }
  }
  writeJsonAtomic(join(dir, SWEEP_FILE), spec);
  return { dir, spec, requested: runs };
}

function isBuiltinRef(ref: string): boolean {
  return !ref.startsWith('.') && !isAbsolute(ref) && !/\.(m?[jt]s)$/.test(ref);
}

function describeSettings(s: SweepSpec): string {
  const fixed = Object.entries(s.fixed).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return [
    s.experiment.name,
    `grid over ${s.grid.join(', ')}`,
    `steps ${s.steps}`,
    `log every ${s.logEvery}`,
    ...fixed,
    `gibbs ${s.gibbsVersion}`,
  ].join(', ');
}

/** Read a sweep directory (or its sweep.json). */
export function loadSweep(path: string): { dir: string; spec: SweepSpec } {
  const abs = resolve(path);
  const dir = abs.endsWith(SWEEP_FILE) ? resolve(abs, '..') : abs;
  const file = join(dir, SWEEP_FILE);
  if (!existsSync(file)) {
    throw GibbsError.invalid('sweep', path, `a sweep directory (one holding ${SWEEP_FILE})`);
  }
  const spec = JSON.parse(readFileSync(file, 'utf8')) as SweepSpec;
  if (spec.format !== 1 || !Array.isArray(spec.runs)) {
    throw GibbsError.invalid('sweep', file, `a ${SWEEP_FILE} of format 1`);
  }
  return { dir, spec };
}

/** What a child (local or on a worker) needs for one run. */
export function runJob(dir: string, spec: SweepSpec, run: RunPlan): RunJob {
  return {
    experiment: spec.experiment.ref,
    params: { ...spec.fixed, ...run.point },
    seed: run.seed,
    steps: spec.steps,
    logEvery: spec.logEvery,
    backend: spec.backend,
    outDir: join(dir, run.name),
  };
}
