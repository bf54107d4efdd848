/**
 * The local pool: a sweep's runs on this machine, `concurrency` child processes at a time, each
 * doing up to `runsPerProcess` runs in turn (see spawn.ts). Runs already done are skipped. A run
 * that fails for its own reasons fails once (error.json); a run whose process died is tried
 * again, up to `attempts`; after either, the next run gets a fresh process.
 * While a run is going its directory holds `running.json` (this pid), so that `sweep status`
 * from another terminal can tell running from interrupted.
 */

import { rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { writeJsonAtomic } from '@gibbs/core/node';
import type { SweepProgress } from './display.ts';
import type { RunPlan } from './grid.ts';
import { isRunDone, RUNNING_FILE } from './rundir.ts';
import { DEFAULT_RUNS_PER_PROCESS, entryPath, type RunEntry, RunProcess } from './spawn.ts';
import { runJob, type Sweep } from './spec.ts';

export { RUNNING_FILE };

export interface PoolOptions {
  /** The run processes' entry module (see RunProcess): what does each run. */
  entry: RunEntry;
  concurrency: number;
  /** Attempts for a run whose process dies (default 2); a run that throws is never retried. */
  attempts?: number;
  /** Runs one process does before it is replaced (default 20; 1: a fresh process per run). */
  runsPerProcess?: number;
  progress?: SweepProgress;
}

export interface PoolSummary {
  /** Runs done by this call. */
  ran: number;
  /** Runs that were done already. */
  skipped: number;
  failed: { run: RunPlan; message: string }[];
}

export async function runLocal(sweep: Sweep, opts: PoolOptions): Promise<PoolSummary> {
  const attempts = opts.attempts ?? 2;
  const entry = entryPath(opts.entry);
  const todo = sweep.requested.filter((r) => !isRunDone(join(sweep.dir, r.name)));
  const summary: PoolSummary = {
    ran: 0,
    skipped: sweep.requested.length - todo.length,
    failed: [],
  };
  opts.progress?.skip(summary.skipped);
  let next = 0;
  const perProcess = opts.runsPerProcess ?? DEFAULT_RUNS_PER_PROCESS;
  const lane = async (): Promise<void> => {
    let proc: RunProcess | null = null;
    while (next < todo.length) {
      const run = todo[next++];
      const job = runJob(sweep.dir, sweep.spec, run);
      let message = '';
      for (let attempt = 1; attempt <= attempts; attempt++) {
        const t0 = performance.now();
        if (!proc?.alive || proc.runs >= perProcess) {
          proc?.close();
          proc = new RunProcess({ entry });
        }
        opts.progress?.setRunning(run.name, 0);
        const running = join(job.outDir, RUNNING_FILE);
        writeJsonAtomic(running, { pid: process.pid, child: proc.pid, host: hostname() });
        const outcome = await proc.run(job, {
          onProgress: (d, t) => opts.progress?.setRunning(run.name, d / t),
        });
        rmSync(running, { force: true });
        const secs = ((performance.now() - t0) / 1000).toFixed(1);
        if (outcome.kind === 'done') {
          summary.ran++;
          opts.progress?.finishRun(run.name, true, `(${secs} s)`);
          message = '';
          break;
        }
        // After a failure the process may hold anything: the next run gets a fresh one.
        proc.close();
        proc = null;
        message = outcome.kind === 'failed' ? outcome.error.message : outcome.reason;
        if (outcome.kind === 'failed' || attempt === attempts) break;
        opts.progress?.log(`retry ${run.name}: ${message}`);
      }
      if (message) {
        summary.failed.push({ run, message });
        opts.progress?.finishRun(run.name, false, `: ${message.split('\n')[0]}`);
      }
    }
    proc?.close();
  };
  const lanes = Math.max(1, Math.min(opts.concurrency, todo.length));
  await Promise.all(Array.from({ length: lanes }, lane));
  return summary;
}
