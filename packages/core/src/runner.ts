/**
 * The run loop shared by the CLI, workers and the viewer: advance a simulation a number of steps,
 * hand every K-th step's metrics to a sink, report progress. Platform-neutral (no Node, no DOM).
 */
import type { EpisodeSummary, MetricRecord, Simulation } from './experiment.ts';

export interface RunOptions {
  /** The step the run ends at (counted from the start of the run, resumed steps included). */
  steps: number;
  /**
   * Steps already taken (a resumed simulation: `Simulation.startStep`): the loop goes on from
   * step `startStep + 1`, so a resumed run logs the same steps as one never interrupted.
   */
  startStep?: number;
  /** Log every K steps (and always the last step). */
  logEvery: number;
  onMetrics?: (record: MetricRecord) => void | Promise<void>;
  onEpisode?: (summary: EpisodeSummary) => void;
  /** Called after each step with the number of steps done. */
  onProgress?: (done: number, total: number) => void;
  /** Stop early (between steps). */
  signal?: AbortSignal;
  /**
   * Pacing and control between steps (pause, step(n), speed, yielding to the event loop so that
   * messages are handled): see runtime/control.ts. Without it the loop runs flat out.
   */
  control?: StepGate;
}

/** What the run loop asks before each step and tells after it. */
export interface StepGate {
  /** May wait (paused, paced) or yield; false stops the run before step `next` (1-based). */
  beforeStep(next: number): boolean | Promise<boolean>;
  /** Step `done` is complete: its metrics were handed out and its episodes drained. */
  afterStep(done: number): void;
}

export interface RunResult {
  steps: number;
  last: MetricRecord | null;
}

export async function runSimulation(sim: Simulation, opts: RunOptions): Promise<RunResult> {
  let last: MetricRecord | null = null;
  const start = opts.startStep ?? 0;
  let done = start;
  // The gate learns where the run stands (step(n) counts from here).
  if (start > 0) opts.control?.afterStep(start);
  for (let s = start + 1; s <= opts.steps; s++) {
    if (opts.signal?.aborted) break;
    if (opts.control) {
      const go = opts.control.beforeStep(s);
      if (!(typeof go === 'boolean' ? go : await go) || opts.signal?.aborted) break;
    }
    const r = sim.advance();
    if (r) await r;
    done = s;
    if (s % opts.logEvery === 0 || s === opts.steps) {
      last = sim.metrics();
      if (opts.onMetrics) {
        const w = opts.onMetrics(last);
        if (w) await w;
      }
    }
    if (sim.drainEpisodes && opts.onEpisode) for (const e of sim.drainEpisodes()) opts.onEpisode(e);
    opts.onProgress?.(s, opts.steps);
    opts.control?.afterStep(s);
  }
  return { steps: done, last };
}

/** One metrics line: keys in a fixed order so that equal runs give byte-identical files. */
export function metricLine(r: MetricRecord): string {
  return JSON.stringify({
    step: r.step,
    episode: r.episode,
    values: sortKeys(r.values),
    groups: Object.fromEntries(
      Object.keys(r.groups)
        .sort()
        .map((g) => [g, sortKeys(r.groups[g])]),
    ),
  });
}

function sortKeys(o: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of Object.keys(o).sort()) out[k] = o[k];
  return out;
}
