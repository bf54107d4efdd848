/**
 * A sweep on BullMQ: one job per run in the queue `<name>` (default "gibbs"), job id
 * `<sweep id>/<run name>`, so a run is queued at most once however often the sweep is submitted.
 *
 * Faults, and who handles them:
 * - a worker killed mid-run: its child process exits with it (child.ts); the job's lock expires
 *   and BullMQ's stalled-job check moves it back to the wait list, another worker retries it;
 * - a run process that dies (out of memory...): the job fails and is retried (`attempts`);
 * - a run that throws (bad parameter, diverged): UnrecoverableError, failed once with its error;
 * - a worker of another Gibbs version: refuses the job (UnrecoverableError saying so).
 * Results travel back in the job's return value (final metrics, config and, up to 4 MB, the whole
 * metrics.jsonl), so the submitting machine fills in its sweep directory with `syncFromQueue`
 * even when the workers' disks are elsewhere.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, join } from 'node:path';
import type { MetricRecord } from '@gibbs/core';
import { writeFileAtomic, writeJsonAtomic } from '@gibbs/core/node';
import { type Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import { z } from 'zod';
import type { RunPlan } from './grid.ts';
import { bullConnection, checkRedis, type RedisTarget } from './redis.ts';
import {
  CONFIG_FILE,
  clearMarkers,
  heartbeatFresh,
  isRunDone,
  METRICS_FILE,
  markDone,
  markFailed,
  readConfig,
  readFinalMetrics,
  readRunError,
  startHeartbeat,
} from './rundir.ts';
import {
  DEFAULT_RUNS_PER_PROCESS,
  entryPath,
  type RunEntry,
  type RunJob,
  RunProcess,
} from './spawn.ts';
import { runJob, type SweepSpec } from './spec.ts';

export const DEFAULT_QUEUE = 'gibbs';
const MAX_RETURNED_METRICS = 4 * 2 ** 20;

export interface SweepJobData {
  sweepId: string;
  /** The sweep directory on the submitting machine. */
  sweepDir: string;
  runName: string;
  gibbsVersion: string;
  job: RunJob;
}

export interface SweepJobResult {
  steps: number;
  final: MetricRecord | null;
  config: Record<string, unknown> | null;
  /** The whole metrics.jsonl, or null when it is over 4 MB. */
  metrics: string | null;
  worker: string;
}

/** What a worker checks a job's data against before it runs anything. */
const JOB_DATA = z.object({
  sweepId: z.string(),
  sweepDir: z.string(),
  runName: z.string().regex(/^[^/\\]+$/),
  gibbsVersion: z.string(),
  job: z.object({
    experiment: z.string(),
    params: z.record(z.string(), z.unknown()),
    seed: z.number().int().min(0),
    steps: z.number().int().min(1),
    logEvery: z.number().int().min(1),
    backend: z.string().nullable(),
    outDir: z.string(),
  }),
});

/** A sweep's BullMQ queue (a consumer needs no bullmq types of its own). */
export type SweepQueue = Queue<SweepJobData, SweepJobResult>;

export function jobId(spec: SweepSpec, run: RunPlan): string {
  return `${spec.id}/${run.name}`;
}

export function openQueue(
  target: RedisTarget,
  name: string,
  log: (line: string) => void = (line) => console.error(line),
): SweepQueue {
  const queue: SweepQueue = new Queue<SweepJobData, SweepJobResult>(name, {
    connection: bullConnection(target),
  });
  // Connection errors (Redis gone): one line each time the reason changes, never the whole
  // error object on every reconnect attempt.
  let last = '';
  queue.on('error', (err: Error) => {
    const line = `gibbs: queue "${name}" at ${target.redacted}: ${oneLine(err)}`;
    if (line !== last) log(line);
    last = line;
  });
  return queue;
}

/** An error as one line: its code and message, without the stack or the object's fields. */
export function oneLine(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    const msg = err.message.split('\n')[0];
    return code && !msg.includes(code) ? `${code}: ${msg}` : msg;
  }
  return String(err).split('\n')[0];
}

export interface SubmitSummary {
  added: number;
  /** Done already (here, or in the queue and copied here). */
  done: number;
  /** Queued or running already. */
  pending: number;
}

/** Queue the requested runs that are neither done nor queued; failed ones are queued again. */
export async function submitSweep(
  queue: SweepQueue,
  dir: string,
  spec: SweepSpec,
  runs: readonly RunPlan[],
): Promise<SubmitSummary> {
  const summary: SubmitSummary = { added: 0, done: 0, pending: 0 };
  const toAdd: RunPlan[] = [];
  for (const run of runs) {
    const runDir = join(dir, run.name);
    if (isRunDone(runDir)) {
      summary.done++;
      continue;
    }
    const job = await queue.getJob(jobId(spec, run));
    const state = job ? await job.getState() : 'unknown';
    if (job && state === 'completed') {
      // Done elsewhere; its metrics are copied here unless they were too large to travel.
      materialize(runDir, job.returnvalue);
      summary.done++;
    } else if (job && state !== 'failed' && state !== 'completed' && state !== 'unknown')
      summary.pending++;
    else {
      if (job) await job.remove();
      clearMarkers(runDir);
      toAdd.push(run);
    }
  }
  await queue.addBulk(
    toAdd.map((run) => ({
      name: spec.experiment.name,
      data: {
        sweepId: spec.id,
        sweepDir: dir,
        runName: run.name,
        gibbsVersion: spec.gibbsVersion,
        job: runJob(dir, spec, run),
      },
      opts: {
        jobId: jobId(spec, run),
        attempts: 3,
        backoff: { type: 'fixed', delay: 1000 },
        removeOnComplete: { age: 30 * 24 * 3600 },
        removeOnFail: { age: 30 * 24 * 3600 },
      },
    })),
  );
  summary.added = toAdd.length;
  return summary;
}

/** Write a finished job's result into a run directory; false if it carries no metrics. */
function materialize(runDir: string, result: SweepJobResult | undefined): boolean {
  if (!result || result.metrics === null || !result.config) return false;
  writeJsonAtomic(join(runDir, CONFIG_FILE), result.config);
  writeFileAtomic(join(runDir, METRICS_FILE), result.metrics);
  markDone(runDir, { steps: result.steps, final: result.final });
  return true;
}

export type RunState = 'done' | 'failed' | 'running' | 'queued' | 'pending';

export interface RunStatus {
  run: RunPlan;
  state: RunState;
  /** Error of a failed run; fraction done of a running one. */
  detail?: string;
  progress?: number;
}

/**
 * The state of each run, from the queue and from the sweep directory; finished jobs are copied
 * into the directory on the way (a failed one leaves error.json with its reason).
 */
export async function syncFromQueue(
  queue: SweepQueue,
  dir: string,
  spec: SweepSpec,
  runs: readonly RunPlan[] = spec.runs,
): Promise<RunStatus[]> {
  return Promise.all(
    runs.map(async (run): Promise<RunStatus> => {
      const runDir = join(dir, run.name);
      if (isRunDone(runDir)) return { run, state: 'done' };
      const job = await queue.getJob(jobId(spec, run));
      // The run directory is the record of what is done: a run may finish while the queue is
      // asked (and Redis may have come back empty, its job gone).
      if (isRunDone(runDir)) return { run, state: 'done' };
      if (!job) {
        const error = readRunError(runDir);
        if (error) return { run, state: 'failed', detail: error.message };
        // Gone from the queue (Redis came back empty) but still going on a worker.
        if (heartbeatFresh(runDir))
          return { run, state: 'running', detail: 'its job is gone from the queue' };
        return { run, state: 'pending' };
      }
      const state = await job.getState();
      if (state === 'completed') {
        if (!isRunDone(runDir) && !materialize(runDir, job.returnvalue)) {
          return {
            run,
            state: 'done',
            detail: `done on ${job.returnvalue?.worker}; metrics too large to copy`,
          };
        }
        return { run, state: 'done' };
      }
      if (state === 'failed') {
        if (!readRunError(runDir)) markFailed(runDir, { message: job.failedReason });
        return { run, state: 'failed', detail: job.failedReason };
      }
      if (state === 'active') {
        return {
          run,
          state: 'running',
          progress: typeof job.progress === 'number' ? job.progress : 0,
          detail: job.processedBy ? `on ${job.processedBy}` : undefined,
        };
      }
      return { run, state: 'queued' };
    }),
  );
}

/** What a sweep ends with: each run done, failed or lost, read from its directory. */
export interface SweepAccounting {
  done: RunStatus[];
  failed: RunStatus[];
  /** Neither done nor failed in its directory, and no longer in the queue. */
  lost: RunStatus[];
}

/**
 * The final count of a sweep, from the run directories (done.json, error.json) rather than from
 * the last look at the queue: a run that finished after that look, or whose job Redis lost when it
 * came back empty, is done all the same. A run that is in neither state stays as the queue said
 * (failed, or lost if it was pending).
 */
export function finalAccounting(dir: string, states: readonly RunStatus[]): SweepAccounting {
  const out: SweepAccounting = { done: [], failed: [], lost: [] };
  for (const s of states) {
    const runDir = join(dir, s.run.name);
    if (s.state === 'done' || isRunDone(runDir)) out.done.push({ ...s, state: 'done' });
    else if (s.state === 'failed') out.failed.push(s);
    else {
      const error = readRunError(runDir);
      if (error) out.failed.push({ ...s, state: 'failed', detail: error.message });
      else out.lost.push(s);
    }
  }
  return out;
}

export interface WorkerOptions {
  /** The run processes' entry module (see RunProcess): what does each run. */
  entry: RunEntry;
  /**
   * The Gibbs version these runs are done with: a job submitted with another version is refused
   * (its results would not be those the sweep's id stands for).
   */
  version: string;
  target: RedisTarget;
  queueName: string;
  concurrency: number;
  /** Write runs under `<out>/<sweep dir name>/` instead of the submitter's sweep directory. */
  out?: string;
  /** How long a job's lock lives without renewal (ms); a dead worker's job is retried after it. */
  lockDuration?: number;
  /** How often this worker looks for stalled jobs (ms). */
  stalledInterval?: number;
  /** Runs one process does before it is replaced (default 20; 1: a fresh process per run). */
  runsPerProcess?: number;
  log?: (line: string) => void;
}

export interface SweepWorker {
  readonly name: string;
  /** Stop taking jobs; wait for running ones unless `force` (then they are killed and retried). */
  close(force?: boolean): Promise<void>;
}

/** A BullMQ worker that runs each job in a child process. */
export async function startWorker(opts: WorkerOptions): Promise<SweepWorker> {
  const entry = entryPath(opts.entry);
  await checkRedis(opts.target);
  const log = opts.log ?? ((line: string) => console.log(line));
  const version = opts.version;
  const name = `${hostname()}:${process.pid}`;
  let closing = false;
  // Run processes: idle ones wait for the next job; a process that failed a run is not reused.
  const perProcess = opts.runsPerProcess ?? DEFAULT_RUNS_PER_PROCESS;
  const idle: RunProcess[] = [];
  const busy = new Set<RunProcess>();
  const take = (): RunProcess => {
    for (let p = idle.pop(); p; p = idle.pop()) {
      if (p.alive && p.runs < perProcess) return p;
      p.close();
    }
    return new RunProcess({ entry });
  };
  const processJob = async (job: Job<SweepJobData, SweepJobResult>): Promise<SweepJobResult> => {
    const parsed = JOB_DATA.safeParse(job.data);
    if (!parsed.success) {
      throw new UnrecoverableError(
        `not a Gibbs sweep job (queue "${opts.queueName}" is shared with something else?): ${parsed.error.issues[0]?.message}`,
      );
    }
    const data = job.data;
    if (data.gibbsVersion !== version) {
      throw new UnrecoverableError(
        `worker ${name} runs gibbs ${version} but the sweep was submitted with gibbs ${data.gibbsVersion}: refused; run it on workers of gibbs ${data.gibbsVersion}`,
      );
    }
    const root = opts.out ? join(opts.out, basename(data.sweepDir)) : data.sweepDir;
    const run: RunJob = { ...data.job, outDir: join(root, data.runName) };
    if (isRunDone(run.outDir) && sameSettings(run)) return resultOf(run.outDir, name);
    const proc = take();
    busy.add(proc);
    log(`start ${job.id} attempt ${job.attemptsStarted} pid ${proc.pid}`);
    const stopHeartbeat = startHeartbeat(run.outDir, {
      pid: process.pid,
      child: proc.pid,
      worker: name,
    });
    const outcome = await proc
      .run(run, {
        // Progress is informative: a failed update (lock lost, Redis away) must not end the run.
        onProgress: (done, total) => {
          job.updateProgress(Math.round((1000 * done) / total) / 1000).catch(() => {});
        },
      })
      .finally(stopHeartbeat);
    busy.delete(proc);
    if (outcome.kind === 'done' && !closing) idle.push(proc);
    else proc.close();
    if (outcome.kind === 'done') {
      log(`done ${job.id}`);
      return resultOf(run.outDir, name);
    }
    if (outcome.kind === 'failed') {
      log(`failed ${job.id}: ${outcome.error.message.split('\n')[0]}`);
      throw new UnrecoverableError(outcome.error.message);
    }
    log(`crashed ${job.id}: ${outcome.reason}`);
    throw new Error(outcome.reason);
  };
  const worker = new Worker<SweepJobData, SweepJobResult>(opts.queueName, processJob, {
    connection: bullConnection(opts.target),
    concurrency: opts.concurrency,
    name,
    lockDuration: opts.lockDuration ?? 30_000,
    stalledInterval: opts.stalledInterval ?? 30_000,
    maxStalledCount: 3,
  });
  let lastError = '';
  worker.on('error', (err) => {
    const line = oneLine(err);
    if (line !== lastError) log(`worker ${name}: ${line}`);
    lastError = line;
  });
  await worker.waitUntilReady();
  log(
    `worker ${name} (gibbs ${version}) takes runs from queue "${opts.queueName}" at ${opts.target.redacted}, ${opts.concurrency} at a time`,
  );
  return {
    name,
    close: async (force = false) => {
      closing = true;
      if (force) for (const p of busy) p.kill();
      for (const p of idle.splice(0)) p.close();
      await worker.close(force);
    },
  };
}

function sameSettings(run: RunJob): boolean {
  const config = readConfig(run.outDir);
  if (!config) return false;
  const params = (config.params ?? {}) as Record<string, unknown>;
  return (
    config.seed === run.seed &&
    config.steps === run.steps &&
    config.logEvery === run.logEvery &&
    Object.entries(run.params).every(([k, v]) => JSON.stringify(params[k]) === JSON.stringify(v))
  );
}

function resultOf(dir: string, worker: string): SweepJobResult {
  const metricsPath = join(dir, METRICS_FILE);
  const small = existsSync(metricsPath) && statSync(metricsPath).size <= MAX_RETURNED_METRICS;
  const done = JSON.parse(readFileSync(join(dir, 'done.json'), 'utf8')) as { steps: number };
  return {
    steps: done.steps,
    final: readFinalMetrics(dir),
    config: readConfig(dir),
    metrics: small ? readFileSync(metricsPath, 'utf8') : null,
    worker,
  };
}
