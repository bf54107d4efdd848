/**
 * A run directory of a sweep and its markers. A run is done when `metrics.jsonl` and `done.json`
 * both exist; both are written atomically (temp file + rename), `done.json` last, so a killed
 * attempt never looks done. A run that failed for its own reasons leaves `error.json`.
 */
import { existsSync, readdirSync, readFileSync, rmSync, statSync, utimesSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { MetricRecord } from '@gibbs/core';
import { writeJsonAtomic } from '@gibbs/core/node';

export const DONE_FILE = 'done.json';
/** While a run goes, its directory holds this (pid, host; refreshed every few seconds). */
export const RUNNING_FILE = 'running.json';
/** How recently running.json must have been refreshed for its run to count as still going. */
export const HEARTBEAT_FRESH_MS = 30_000;
const HEARTBEAT_EVERY_MS = 5_000;
export const ERROR_FILE = 'error.json';
export const METRICS_FILE = 'metrics.jsonl';
export const CONFIG_FILE = 'config.json';

/** What a finished run's `done.json` holds. */
export interface DoneMarker {
  steps: number;
  final: MetricRecord | null;
}

/** What a failed run's `error.json` holds. */
export interface RunError {
  message: string;
  field?: string;
  expected?: string;
}

export function isRunDone(dir: string): boolean {
  return existsSync(join(dir, METRICS_FILE)) && existsSync(join(dir, DONE_FILE));
}

export function readRunError(dir: string): RunError | null {
  const path = join(dir, ERROR_FILE);
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as RunError;
  } catch {
    return { message: `unreadable ${ERROR_FILE}` };
  }
}

export function readConfig(dir: string): Record<string, unknown> | null {
  const path = join(dir, CONFIG_FILE);
  if (!existsSync(path)) return null;
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
}

/** The last record of `metrics.jsonl` (the run's final metrics), or null if it has none. */
export function readFinalMetrics(dir: string): MetricRecord | null {
  const text = readFileSync(join(dir, METRICS_FILE), 'utf8');
  const end = text.trimEnd();
  if (end === '') return null;
  return JSON.parse(end.slice(end.lastIndexOf('\n') + 1)) as MetricRecord;
}

export function markDone(dir: string, marker: DoneMarker): void {
  rmSync(join(dir, ERROR_FILE), { force: true });
  writeJsonAtomic(join(dir, DONE_FILE), marker);
}

export function markFailed(dir: string, error: RunError): void {
  writeJsonAtomic(join(dir, ERROR_FILE), error);
}

/** Before an attempt: forget an earlier failure or completion (the run is about to be redone). */
export function clearMarkers(dir: string): void {
  rmSync(join(dir, DONE_FILE), { force: true });
  rmSync(join(dir, ERROR_FILE), { force: true });
}

/**
 * After a success: temp files that killed attempts left behind (`.metrics.jsonl.<pid>.<n>.tmp`).
 * A file whose process is still alive is kept: it may be another attempt of the same run (a job
 * whose lock lapsed under load runs twice for a while), and its commit needs the file.
 */
export function removeStaleTemps(dir: string): void {
  if (!existsSync(dir)) return;
  for (const f of readdirSync(dir)) {
    const m = /^\..+\.(\d+)\.\d+\.tmp$/.exec(f);
    if (m && !isAlive(Number(m[1]))) rmSync(join(dir, f), { force: true });
  }
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Does a run directory hold a run of these settings? Compares what decides the metrics
 * (experiment, full parameters, seed, steps, log interval); versions and backend are not compared.
 */
export function sameRunConfig(
  config: Record<string, unknown>,
  expected: {
    experiment: string;
    params: Record<string, unknown>;
    seed: number;
    steps: number;
    logEvery: number;
  },
): boolean {
  return (
    config.experiment === expected.experiment &&
    config.seed === expected.seed &&
    config.steps === expected.steps &&
    config.logEvery === expected.logEvery &&
    JSON.stringify(sortObject(config.params)) === JSON.stringify(sortObject(expected.params))
  );
}

function sortObject(o: unknown): unknown {
  if (!o || typeof o !== 'object' || Array.isArray(o)) return o;
  return Object.fromEntries(
    Object.entries(o as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)),
  );
}

/**
 * Mark a run as going in its directory (running.json, refreshed every 5 s) until the returned
 * function is called. Seen from anywhere the disk is (another machine too): a run whose job the
 * queue lost is still known to be going while its heartbeat is fresh.
 */
export function startHeartbeat(dir: string, info: Record<string, unknown>): () => void {
  const path = join(dir, RUNNING_FILE);
  writeJsonAtomic(path, { ...info, host: hostname() });
  const timer = setInterval(() => {
    try {
      const now = new Date();
      utimesSync(path, now, now);
    } catch {
      // The directory went away: nothing to keep fresh.
    }
  }, HEARTBEAT_EVERY_MS);
  timer.unref();
  return () => {
    clearInterval(timer);
    rmSync(path, { force: true });
  };
}

/** Was the run's running.json refreshed within HEARTBEAT_FRESH_MS (by any machine)? */
export function heartbeatFresh(dir: string, freshMs = HEARTBEAT_FRESH_MS): boolean {
  const st = statSync(join(dir, RUNNING_FILE), { throwIfNoEntry: false });
  return st !== undefined && Date.now() - st.mtimeMs < freshMs;
}
