/**
 * The entry of a sweep's run processes (`@gibbs/sweep` forks it: see sweep-package.ts): each run
 * is the experiment, built-in or a module path, run by `executeRun` into the run's directory, as
 * `gibbs run` does it.
 */
import { serveRuns } from '@gibbs/sweep/child';
import { loadExperiment } from './repo.ts';
import { executeRun } from './run.ts';

serveRuns(async (job, hooks) => {
  const outcome = await executeRun({
    experiment: await loadExperiment(job.experiment),
    rawParams: job.params,
    steps: job.steps,
    seed: job.seed,
    logEvery: job.logEvery,
    outDir: job.outDir,
    backend: job.backend ?? undefined,
    log: hooks.log,
    onProgress: hooks.onProgress,
  });
  return { steps: outcome.steps, final: outcome.last };
});
