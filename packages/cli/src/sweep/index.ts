export { SweepProgress } from './display.ts';
export {
  type GridAxis,
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
  jobId,
  openQueue,
  type RunState,
  type RunStatus,
  type SweepJobData,
  type SweepJobResult,
  type SweepWorker,
  startWorker,
  submitSweep,
  syncFromQueue,
  type WorkerOptions,
} from './queue.ts';
export { checkRedis, parseRedisUrl, type RedisTarget } from './redis.ts';
export {
  buildReport,
  type PointSummary,
  reportCsv,
  reportMarkdown,
  runsCsv,
  type SweepReport,
  writeReport,
} from './report.ts';
export { isRunDone } from './rundir.ts';
export { loadSweep, prepareSweep, type Sweep, type SweepRequest, type SweepSpec } from './spec.ts';
export { studentTQuantile, summarize } from './stats.ts';
export { localStatus } from './status.ts';
