/**
 * `@gibbs/sweep`: a grid of runs over parameters and seeds, on a local pool of run processes or a
 * BullMQ queue on Redis, and its report. The runs themselves are done by the module the caller
 * names as the run processes' entry (one that calls `serveRuns` of `@gibbs/sweep/child`); the
 * Gibbs version is the caller's too (`SweepRequest.version`, `WorkerOptions.version`).
 */
export type { ExecuteHooks, ExecuteResult, ExecuteRun } from './child.ts';
export { SweepProgress } from './display.ts';
export {
  type GridAxis,
  MAX_RUNS,
  parseGridOption,
  parseSeeds,
  planRuns,
  type RunPlan,
  runName,
} from './grid.ts';
export { niceTicks, plotAscii, plotSvg, type Series, seriesOf } from './plot.ts';
export { type PoolOptions, type PoolSummary, runLocal } from './pool.ts';
export {
  DEFAULT_QUEUE,
  finalAccounting,
  jobId,
  oneLine,
  openQueue,
  type RunState,
  type RunStatus,
  type SubmitSummary,
  type SweepAccounting,
  type SweepJobData,
  type SweepJobResult,
  type SweepQueue,
  type SweepWorker,
  startWorker,
  submitSweep,
  syncFromQueue,
  type WorkerOptions,
} from './queue.ts';
export { checkQueueName, checkRedis, parseRedisUrl, type RedisTarget } from './redis.ts';
export {
  buildReport,
  type PointSummary,
  reportCsv,
  reportMarkdown,
  runsCsv,
  type SweepReport,
  writeReport,
} from './report.ts';
export {
  type DoneMarker,
  heartbeatFresh,
  isRunDone,
  markDone,
  RUNNING_FILE,
  type RunError,
} from './rundir.ts';
export {
  type ChildHandle,
  type ChildOutcome,
  DEFAULT_RUNS_PER_PROCESS,
  type RunEntry,
  type RunHooks,
  type RunJob,
  RunProcess,
  type RunProcessOptions,
  runInChild,
} from './spawn.ts';
export {
  loadSweep,
  prepareSweep,
  runJob,
  type Sweep,
  type SweepRequest,
  type SweepSpec,
} from './spec.ts';
export { studentTQuantile, summarize } from './stats.ts';
export { localStatus } from './status.ts';
