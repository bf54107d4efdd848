/**
 * Entry of a run process (started by `RunProcess`). For each `run` message, one after the other,
 * it runs the run with `executeRun` into its directory, marks it done (or failed, with the error)
 * and reports back. It exits as soon as its parent is gone, so that killing a worker (even with
 * SIGKILL) also ends the run attempt it was doing: the parent's IPC channel closing is seen
 * between awaits, and a change of parent pid is checked while a synchronous simulation runs.
 */
import { GibbsError } from '@gibbs/core';
import { loadExperiment } from '../repo.ts';
import { executeRun } from '../run.ts';
import { clearMarkers, markDone, markFailed, removeStaleTemps } from './rundir.ts';
import type { ChildMessage, RunJob } from './spawn.ts';

const parentPid = process.ppid;
const ORPHANED = 70;

function send(msg: ChildMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.connected) process.exit(ORPHANED);
    process.send?.(msg, undefined, {}, () => resolve());
  });
}

function orphanCheck(): void {
  if (process.ppid !== parentPid || !process.connected) process.exit(ORPHANED);
}

async function run(job: RunJob): Promise<void> {
  clearMarkers(job.outDir);
  let lastSent = 0;
  try {
    const experiment = await loadExperiment(job.experiment);
    const outcome = await executeRun({
      experiment,
      rawParams: job.params,
      steps: job.steps,
      seed: job.seed,
      logEvery: job.logEvery,
      outDir: job.outDir,
      backend: job.backend ?? undefined,
      log: (line) => void send({ type: 'log', line }),
      onProgress: (done, total) => {
        const now = performance.now();
        if (now - lastSent < 200 && done < total) return;
        lastSent = now;
        orphanCheck();
        process.send?.({ type: 'progress', done, total } satisfies ChildMessage);
      },
    });
    markDone(job.outDir, { steps: outcome.steps, final: outcome.last });
    removeStaleTemps(job.outDir);
    await send({ type: 'done', steps: outcome.steps, final: outcome.last });
  } catch (err) {
    const e = err as Error;
    const error =
      err instanceof GibbsError
        ? { message: e.message, field: err.field, expected: err.expected }
        : { message: e?.stack ?? String(err) };
    markFailed(job.outDir, error);
    await send({ type: 'error', error });
  }
}

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
