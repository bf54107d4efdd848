/** The state of a local sweep's runs, read from their directories alone. */
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { RUNNING_FILE } from './pool.ts';
import type { RunStatus } from './queue.ts';
import { isRunDone, readRunError } from './rundir.ts';
import type { SweepSpec } from './spec.ts';

export function localStatus(dir: string, spec: SweepSpec): RunStatus[] {
  return spec.runs.map((run): RunStatus => {
    const runDir = join(dir, run.name);
    if (isRunDone(runDir)) return { run, state: 'done' };
    const error = readRunError(runDir);
    if (error) return { run, state: 'failed', detail: error.message };
    if (isRunningHere(join(runDir, RUNNING_FILE))) return { run, state: 'running' };
    return { run, state: 'pending' };
  });
}

/** A running.json whose process is alive on this host (a stale one is an interrupted run). */
function isRunningHere(path: string): boolean {
  if (!existsSync(path)) return false;
  try {
    const info = JSON.parse(readFileSync(path, 'utf8')) as { child: number; host: string };
    if (info.host !== hostname()) return true;
    process.kill(info.child, 0);
    return true;
  } catch {
    return false;
  }
}
