/**
 * One run of an experiment into a run directory:
 *   DIR/config.json    the resolved config, seed and versions (written first, atomically; if the
 *                      run fails, the config of an earlier run in the directory is put back);
 *   DIR/metrics.jsonl  one line per logged step, a pure function of config and seed; built in a
 *                      temp file and moved into place when the run ends, so a failed run never
 *                      corrupts the metrics of an earlier run in the same directory.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  type Experiment,
  GibbsError,
  type MetricRecord,
  metricLine,
  parseParams,
  type RunHooks,
  runSimulation,
  type Simulation,
} from '@gibbs/core';
import { AtomicLineWriter, writeFileAtomic, writeJsonAtomic } from '@gibbs/core/node';
import { REPO_ROOT } from './repo.ts';

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
  signal?: AbortSignal;
}

export interface RunOutcome {
  params: Record<string, unknown>;
  steps: number;
  last: MetricRecord | null;
  outDir: string | null;
}

/** A run that failed inside the experiment's own code, at a step: the CLI shows the cause's stack. */
export class StepFailure extends GibbsError {}

export function gibbsVersion(): string {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

export async function executeRun(cfg: RunConfig): Promise<RunOutcome> {
  const exp = cfg.experiment;
  const params = parseParams(exp.params, cfg.rawParams, `experiment "${exp.name}"`) as Record<
    string,
    unknown
  >;
  const steps = cfg.steps ?? exp.defaultSteps ?? 1000;
  const outDir = cfg.outDir ? resolve(cfg.outDir) : null;
  const sim = await exp.create({
    params,
    seed: cfg.seed,
    outDir: outDir ?? undefined,
    backend: cfg.backend,
    log: cfg.log,
  });
  const backend = sim.backend ?? null;
  const configPath = outDir ? join(outDir, 'config.json') : null;
  const earlierConfig = configPath && existsSync(configPath) ? readFileSync(configPath) : null;
  if (configPath) {
    writeJsonAtomic(configPath, {
      experiment: exp.name,
      params,
      seed: cfg.seed,
      steps,
      logEvery: cfg.logEvery,
      backend,
      versions: { gibbs: gibbsVersion(), node: process.version },
    });
  }
  const writer = outDir ? new AtomicLineWriter(join(outDir, 'metrics.jsonl')) : null;
  let hooks: RunHooks | undefined;
  let done = 0;
  try {
    hooks = (await cfg.onSimulation?.(sim, { params, steps })) || undefined;
    const result = await runSimulation(sim, {
      steps,
      logEvery: cfg.logEvery,
      signal: cfg.signal,
      onProgress: (d, t) => {
        done = d;
        cfg.onProgress?.(d, t);
      },
      control: hooks?.control,
      onEpisode: hooks?.onEpisode,
      onMetrics: (r) => {
        writer?.write(metricLine(r));
        cfg.onMetrics?.(r);
        hooks?.onMetrics(r);
      },
    });
    writer?.commit();
    await hooks?.onEnd?.();
    return { params, steps: result.steps, last: result.last, outDir };
  } catch (err) {
    writer?.abort();
    if (configPath && earlierConfig) writeFileAtomic(configPath, earlierConfig);
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
