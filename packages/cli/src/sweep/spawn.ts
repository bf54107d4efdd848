/**
 * One run in a child process. The child is a fresh Node process (tsx loader), so that runs do
 * not share memory, module state or tfjs backends, a crash or an out-of-memory kill ends only
 * that run, and killing its parent ends the run too (see child.ts).
 *
 * The outcome says who is to blame: `done`; `failed` (the run threw: a bad parameter, a diverged
 * simulation; retrying it would fail the same way, since runs are deterministic); `crashed` (the
 * process died: killed, out of memory; another attempt may succeed).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MetricRecord } from '@gibbs/core';
import type { RunError } from './rundir.ts';

/** Everything a child needs to do one run. */
export interface RunJob {
  /** Built-in experiment name, or the absolute path of an experiment module. */
  experiment: string;
  /** Fixed parameters and the grid point together. */
  params: Record<string, unknown>;
  seed: number;
  steps: number;
  logEvery: number;
  backend: string | null;
  outDir: string;
}

export type ChildMessage =
  | { type: 'progress'; done: number; total: number }
  | { type: 'log'; line: string }
  | { type: 'done'; steps: number; final: MetricRecord | null }
  | { type: 'error'; error: RunError };

export type ChildOutcome =
  | { kind: 'done'; steps: number; final: MetricRecord | null }
  | { kind: 'failed'; error: RunError }
  | { kind: 'crashed'; reason: string };

export interface ChildHandle {
  readonly pid: number;
  readonly outcome: Promise<ChildOutcome>;
  /** Kill the run (SIGKILL): its outcome becomes `crashed`. */
  kill(): void;
}

const CHILD_ENTRY = join(dirname(fileURLToPath(import.meta.url)), 'child.ts');
const TSX_LOADER = import.meta.resolve('tsx');
const STDERR_TAIL = 4096;

export function runInChild(
  job: RunJob,
  hooks: {
    onProgress?: (done: number, total: number) => void;
    onLog?: (line: string) => void;
  } = {},
): ChildHandle {
  const child: ChildProcess = fork(CHILD_ENTRY, [], {
    execArgv: ['--import', TSX_LOADER],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_TAIL);
  });
  const outcome = new Promise<ChildOutcome>((resolve) => {
    let result: ChildOutcome | null = null;
    child.on('message', (msg: ChildMessage) => {
      if (msg.type === 'progress') hooks.onProgress?.(msg.done, msg.total);
      else if (msg.type === 'log') hooks.onLog?.(msg.line);
      else if (msg.type === 'done') result = { kind: 'done', steps: msg.steps, final: msg.final };
      else if (msg.type === 'error') result = { kind: 'failed', error: msg.error };
    });
    child.on('error', (err) => {
      result ??= { kind: 'crashed', reason: `could not start the run process: ${err.message}` };
    });
    child.on('close', (code, signal) => {
      if (result) resolve(result);
      else {
        const how = signal ? `killed by ${signal}` : `exited with code ${code}`;
        const tail = stderr.trim() ? `: ${stderr.trim().split('\n').slice(-5).join('\n')}` : '';
        resolve({ kind: 'crashed', reason: `run process ${how} before finishing${tail}` });
      }
    });
  });
  child.send({ type: 'run', job });
  return {
    pid: child.pid ?? -1,
    outcome,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
