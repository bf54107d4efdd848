/**
 * One run of an experiment into a run directory:
 *   DIR/config.json    the resolved config, seed and versions, with `status`: "running" while the
 *                      run goes, then "finished", "failed" (with `failedAt`) or "stopped" (with
 *                      `stoppedAt`, after SIGINT/SIGTERM); written atomically each time;
 *   DIR/metrics.jsonl  one line per logged step, a pure function of config and seed; appended as
 *                      the run goes (whole lines, written out at least every 2 s and whenever the
 *                      experiment saves a checkpoint), so a killed run keeps its rows.
 * Whether DIR may hold an earlier run is the caller's decision (`gibbs run` refuses a non-empty
 * one unless asked); executeRun replaces config.json and metrics.jsonl, except for a resumed run
 * (a simulation whose `startStep` is above 0): it keeps the rows of metrics.jsonl up to that step,
 * drops the rest and appends, so a run killed and resumed in its own directory has one complete
 * history without duplicates (a fresh directory starts its file at the checkpoint).
 * First, the temp files and partial checkpoints of dead processes are removed from DIR and
 * DIR/checkpoints (removeStaleFiles).
 * A logged value that is NaN or infinite fails the run, naming the step and the field.
 */

import { readFileSync } from 'node:fs';
import { freemem } from 'node:os';
import { join } from 'node:path';
import {
  type Experiment,
  GibbsError,
  type MetricRecord,
  metricLine,
  parseParams,
  type RunHooks,
  runSimulation,
  type Simulation,
  type StepGate,
} from '@gibbs/core';
import {
  ensureDir,
  keepLinesWhile,
  removeStaleFiles,
  StreamingLineWriter,
  writeJsonAtomic,
} from '@gibbs/core/node';

export interface RunConfig {
  experiment: Experiment;
  /** Parameters as given (strings from a command line, or typed values). */
  rawParams: Record<string, unknown>;
  steps?: number;
  seed: number;
  logEvery: number;
  outDir: string | null;
  backend?: string;
  onProgress?: (done: number, total: number) => void;
  onMetrics?: (record: MetricRecord) => void;
  /**
   * Called once the simulation exists (the --serve hook attaches here). It may return hooks into
   * the run loop (pacing, metrics, episodes, end): see core's runtime/engine.ts RunHooks.
   */
  onSimulation?: (
    sim: Simulation,
    run: { params: Record<string, unknown>; steps: number },
  ) => RunHooks | undefined | Promise<RunHooks | undefined>;
  log?: (line: string) => void;
  /** Stop between steps: the run ends as "stopped" (rows flushed) and resolves `stopped: true`. */
  signal?: AbortSignal;
  /**
   * Receives, once the run has started, a function that marks it stopped at once (rows so far
   * written out, config.json "stopped" at the last step done): for a process that exits without
   * waiting for the current step to end (a second signal, a step that takes too long).
   */
  onForcedStop?: (markStopped: () => void) => void;
}

export interface RunOutcome {
  params: Record<string, unknown>;
  steps: number;
  last: MetricRecord | null;
  outDir: string | null;
  /** The run was stopped by `signal` before its last step. */
  stopped: boolean;
}

/** A run that failed inside the experiment's own code, at a step: the CLI shows the cause's stack. */
export class StepFailure extends GibbsError {}

export function gibbsVersion(): string {
  // The CLI package's own manifest: one level above src/ (the checkout) and dist/ (installed)
  // alike, where the repository's root package.json is not there to read once installed.
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/** Free memory as the run sees it: os.freemem(), or GIBBS_MEMORY_BYTES when that is set lower. */
export function freeMemoryBytes(): number {
  const cap = Number(process.env.GIBBS_MEMORY_BYTES);
  const free = freemem();
  return Number.isFinite(cap) && cap > 0 ? Math.min(cap, free) : free;
}

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
}

/** Refuse a config whose estimated memory exceeds what the machine has free, before allocating. */
export function checkMemory(exp: Experiment, params: Record<string, unknown>): void {
  const need = exp.estimateBytes?.(params);
  if (need === undefined || !Number.isFinite(need)) return;
  const free = freeMemoryBytes();
  // A quarter of the free memory is left to Node itself and the rest of the machine.
  if (need > 0.75 * free) {
    throw new GibbsError(
      `experiment "${exp.name}": these parameters need about ${gib(need)} of memory, the machine has ${gib(free)} free (a run may take 75 %); use a smaller --map or fewer --agents`,
      'memory',
      need,
      `at most ${free} bytes`,
    );
  }
}

/** The first NaN or infinite value of a record, as a field path, or null. */
export function nonFiniteField(r: MetricRecord): string | null {
  for (const [k, v] of Object.entries(r.values)) if (!Number.isFinite(v)) return `values.${k}`;
  for (const [g, stats] of Object.entries(r.groups)) {
    for (const [k, v] of Object.entries(stats)) if (!Number.isFinite(v)) return `groups.${g}.${k}`;
  }
  return null;
}

/** A record as its metrics.jsonl line; a NaN or infinite value fails the run, naming it. */
function checkedLine(r: MetricRecord): string {
  const bad = nonFiniteField(r);
  if (bad) {
    const v = bad.split('.').slice(1);
    const value = v.length === 1 ? r.values[v[0]] : r.groups[v[0]][v[1]];
    throw GibbsError.invalid(`metric ${bad} at step ${r.step}`, value, 'a finite number');
  }
  return metricLine(r);
}

/** Hand control to the event loop now and then, so that signals and timers are seen. */
function yieldingGate(): StepGate {
  let last = performance.now();
  return {
    beforeStep() {
      const now = performance.now();
      if (now - last < 50) return true;
      last = now;
      return new Promise((r) => setImmediate(() => r(true)));
    },
    afterStep() {},
  };
}

export async function executeRun(cfg: RunConfig): Promise<RunOutcome> {
  const exp = cfg.experiment;
  const params = parseParams(exp.params, cfg.rawParams, `experiment "${exp.name}"`) as Record<
    string,
    unknown
  >;
  const steps = cfg.steps ?? exp.defaultSteps ?? 1000;
  checkMemory(exp, params);
  const outDir = cfg.outDir !== null ? ensureDir(cfg.outDir, '--out') : null;
  if (outDir) {
    const removed = removeStaleFiles([outDir, join(outDir, 'checkpoints')]);
    if (removed.length > 0)
      cfg.log?.(`removed ${removed.length} temp files of dead processes: ${removed.join(', ')}`);
  }
  let writer: StreamingLineWriter | null = null;
  // Steps done (the loop's count; a resumed run starts at its checkpoint's step), and the step
  // whose row ctx.flush() wrote before the loop logged it.
  let done = 0;
  let writtenEarly = -1;
  const sim = await exp.create({
    params,
    seed: cfg.seed,
    outDir: outDir ?? undefined,
    backend: cfg.backend,
    log: cfg.log,
    // A checkpoint is saved inside the step that ends a round, before the loop logs that step:
    // its row is written now, so that the rows up to a checkpoint are on disk with it.
    flush: () => {
      const inStep = done + 1;
      if (writer && writtenEarly !== inStep && (inStep % cfg.logEvery === 0 || inStep === steps)) {
        writer.write(checkedLine(sim.metrics()));
        writtenEarly = inStep;
      }
      writer?.flush();
    },
  });
  const backend = sim.backend ?? null;
  if (cfg.backend !== undefined && backend === null) {
    await sim.dispose?.();
    throw GibbsError.invalid(
      '--backend',
      cfg.backend,
      `no --backend: experiment "${exp.name}" does not compute with tfjs`,
    );
  }
  const startStep = sim.startStep ?? 0;
  if (startStep >= steps) {
    await sim.dispose?.();
    throw GibbsError.invalid(
      '--steps',
      steps,
      `more than the ${startStep} steps the resumed run has taken already (--steps counts from the start of the run)`,
    );
  }
  const configPath = outDir ? join(outDir, 'config.json') : null;
  const config = {
    experiment: exp.name,
    params,
    seed: cfg.seed,
    steps,
    logEvery: cfg.logEvery,
    backend,
    ...(startStep > 0 ? { resumedAt: startStep } : {}),
    versions: { gibbs: gibbsVersion(), node: process.version },
  };
  const writeConfig = (status: Record<string, unknown>) => {
    if (configPath) writeJsonAtomic(configPath, { ...config, ...status });
  };
  let hooks: RunHooks | undefined;
  done = startStep;
  try {
    writeConfig({ status: 'running' });
    if (outDir) {
      const metricsPath = join(outDir, 'metrics.jsonl');
      // A resumed run continues the history: the rows up to its checkpoint stay, later ones go.
      if (startStep > 0)
        keepLinesWhile(metricsPath, (row) => {
          const step = (row as { step?: unknown } | null)?.step;
          return typeof step === 'number' && step <= startStep;
        });
      writer = new StreamingLineWriter(metricsPath, 2000, startStep > 0);
    }
    cfg.onForcedStop?.(() => {
      writer?.close();
      writeConfig({ status: 'stopped', stoppedAt: done });
    });
    hooks = (await cfg.onSimulation?.(sim, { params, steps })) || undefined;
    const result = await runSimulation(sim, {
      steps,
      startStep,
      logEvery: cfg.logEvery,
      signal: cfg.signal,
      onProgress: (d, t) => {
        done = d;
        cfg.onProgress?.(d, t);
      },
      control: hooks?.control ?? yieldingGate(),
      onEpisode: hooks?.onEpisode,
      onMetrics: (r) => {
        const line = checkedLine(r);
        if (writtenEarly !== done + 1) writer?.write(line);
        cfg.onMetrics?.(r);
        hooks?.onMetrics(r);
      },
    });
    writer?.close();
    const stopped = result.steps < steps && cfg.signal?.aborted === true;
    cfg.onForcedStop?.(() => {});
    writeConfig(stopped ? { status: 'stopped', stoppedAt: result.steps } : { status: 'finished' });
    await hooks?.onEnd?.();
    return { params, steps: result.steps, last: result.last, outDir, stopped };
  } catch (err) {
    cfg.onForcedStop?.(() => {});
    try {
      writer?.close();
      writeConfig({ status: 'failed', failedAt: done + 1 });
    } catch {
      // The original failure is what the user needs to see.
    }
    await hooks?.onEnd?.(err);
    // Say at which step the run failed; a GibbsError keeps the field, value and expectation it
    // names (the cause keeps the original stack).
    const message = err instanceof Error ? err.message : String(err);
    const at = `experiment "${exp.name}" failed at step ${done + 1}: ${message}`;
    if (err instanceof GibbsError) {
      throw new StepFailure(at, err.field, err.value, err.expected, { cause: err });
    }
    throw new StepFailure(at, 'step', done + 1, 'a step that completes', { cause: err });
  } finally {
    await sim.dispose?.();
  }
}
