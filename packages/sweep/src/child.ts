/**
 * The protocol of a run process (started by `RunProcess`), for the module that is its entry: that
 * module calls `serveRuns(execute)`, and `execute` does one run (the CLI's does it with
 * `executeRun`). For each `run` message, one after the other, it runs `execute` into the run's
 * directory, marks it done (or failed, with the error) and reports back. It exits as soon as its
 * parent is gone, so that killing a worker (even with SIGKILL) also ends the run attempt it was
 * doing: the parent's IPC channel closing is seen between awaits, and a change of parent pid is
 * checked while a synchronous simulation runs (at each progress report).
 *
 * This entry loads neither bullmq nor ioredis: a run process needs only the run directory's
 * markers.
 */
import { GibbsError, type MetricRecord } from '@gibbs/core';
import { clearMarkers, markDone, markFailed, removeStaleTemps } from './rundir.ts';
import type { ChildMessage, RunJob } from './spawn.ts';

export type { RunJob } from './spawn.ts';

/** What `execute` is given besides the job. */
export interface ExecuteHooks {
  /** A line for the run's log (sent to the parent). */
  log(line: string): void;
  /** Steps done so far; also where a run process notices that its parent is gone. */
  onProgress(done: number, total: number): void;
}

/** What a finished run reports: the steps it took and its last metrics record. */
export interface ExecuteResult {
  steps: number;
  final: MetricRecord | null;
}

/**
 * Does one run into `job.outDir`: writes `config.json` (with the experiment's name, the full
 * parameters, seed, steps and logEvery, which a resubmitted sweep compares) and `metrics.jsonl`
 * (one record per logged step; its last line is the run's final metrics in the report), and
 * throws if the run fails (a GibbsError's field and expectation reach error.json).
 */
export type ExecuteRun = (job: RunJob, hooks: ExecuteHooks) => Promise<ExecuteResult>;

const ORPHANED = 70;

/** Serve the runs this process's parent sends, one at a time, with `execute`. Call it once. */
export function serveRuns(execute: ExecuteRun): void {
  if (!process.send) {
    throw new Error('serveRuns: this module is the entry of a run process (started by RunProcess)');
  }
  const parentPid = process.ppid;

  const send = (msg: ChildMessage): Promise<void> =>
    new Promise((resolve) => {
      if (!process.connected) process.exit(ORPHANED);
      process.send?.(msg, undefined, {}, () => resolve());
    });

  const orphanCheck = (): void => {
    if (process.ppid !== parentPid || !process.connected) process.exit(ORPHANED);
  };

  const run = async (job: RunJob): Promise<void> => {
    clearMarkers(job.outDir);
    let lastSent = 0;
    try {
      const result = await execute(job, {
        log: (line) => void send({ type: 'log', line }),
        onProgress: (done, total) => {
          const now = performance.now();
          if (now - lastSent < 200 && done < total) return;
          lastSent = now;
          orphanCheck();
          process.send?.({ type: 'progress', done, total } satisfies ChildMessage);
        },
      });
      markDone(job.outDir, { steps: result.steps, final: result.final });
      removeStaleTemps(job.outDir);
      await send({ type: 'done', steps: result.steps, final: result.final });
    } catch (err) {
      const e = err as Error;
      const error =
        err instanceof GibbsError
          ? { message: e.message, field: err.field, expected: err.expected }
          : { message: e?.stack ?? String(err) };
      markFailed(job.outDir, error);
      await send({ type: 'error', error });
    }
  };

  process.on('disconnect', () => process.exit(ORPHANED));
  // Runs come one at a time: the parent sends the next only after this one's answer.
  let queue = Promise.resolve();
  process.on('message', (msg: { type: 'run'; job: RunJob }) => {
    if (msg.type !== 'run') return;
    queue = queue.then(() =>
      run(msg.job).catch((err: unknown) => {
        console.error(err);
        process.exit(1);
      }),
    );
  });
}
