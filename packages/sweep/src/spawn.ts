/**
 * Runs in child processes (Node with the tsx loader), so that a crash or an out-of-memory kill
 * ends only that run's process, and killing its parent ends the run too (see child.ts). A process
 * may do several runs in turn (`RunProcess`), or one (`runInChild`) for full isolation.
 *
 * The process's entry is a module the caller names (`entry`): one that calls `serveRuns` of
 * `@gibbs/sweep/child` with the function that does a run (the CLI's `sweep-child.ts` runs
 * `executeRun`). So this package runs whatever the caller's runs are, without depending on it.
 * The child always gets the tsx loader: the entry may be a `.ts` file (the checkout) or a `.js`
 * one (a built package), and either may import an experiment module written in TypeScript.
 *
 * The outcome says who is to blame: `done`; `failed` (the run threw: a bad parameter, a diverged
 * simulation; retrying it would fail the same way, since runs are deterministic); `crashed` (the
 * process died: killed, out of memory; another attempt may succeed).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
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

export interface RunHooks {
  onProgress?: (done: number, total: number) => void;
  onLog?: (line: string) => void;
}

/** Runs a process does before it is replaced, unless told otherwise. */
export const DEFAULT_RUNS_PER_PROCESS = 20;

const TSX_LOADER = import.meta.resolve('tsx');
const STDERR_TAIL = 4096;

/** The module a run process starts from: a file path or a `file:` URL. */
export type RunEntry = string | URL;

export interface RunProcessOptions {
  /** The run process's entry module: one that calls `serveRuns` (`@gibbs/sweep/child`). */
  entry: RunEntry;
}

/**
 * The entry as an absolute file path, checked to exist: a wrong entry would otherwise show up only
 * as every run's process dying at start.
 */
export function entryPath(entry: RunEntry): string {
  const path =
    entry instanceof URL || entry.startsWith('file:') ? fileURLToPath(entry) : resolve(entry);
  if (!existsSync(path)) {
    throw new Error(`run process entry ${path} does not exist (a module that calls serveRuns)`);
  }
  return path;
}

/**
 * A run process, which may do several runs one after the other: starting Node, the TypeScript
 * loader and Gibbs costs about half a second to a second, as much as a short run. A run that
 * throws or whose process died ends the process's use (the caller starts a fresh one).
 */
export class RunProcess {
  private readonly child: ChildProcess;
  private stderr = '';
  private current: { hooks: RunHooks; resolve: (o: ChildOutcome) => void } | null = null;
  private exited: string | null = null;
  /** Runs started in this process. */
  runs = 0;

  constructor(opts: RunProcessOptions) {
    this.child = fork(entryPath(opts.entry), [], {
      execArgv: ['--import', TSX_LOADER],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.child.stderr?.setEncoding('utf8');
    this.child.stderr?.on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-STDERR_TAIL);
    });
    this.child.on('message', (msg: ChildMessage) => {
      const cur = this.current;
      if (!cur) return;
      if (msg.type === 'progress') cur.hooks.onProgress?.(msg.done, msg.total);
      else if (msg.type === 'log') cur.hooks.onLog?.(msg.line);
      else {
        const outcome: ChildOutcome =
          msg.type === 'done'
            ? { kind: 'done', steps: msg.steps, final: msg.final }
            : { kind: 'failed', error: msg.error };
        this.current = null;
        cur.resolve(outcome);
      }
    });
    this.child.on('error', (err) => this.end(`could not start the run process: ${err.message}`));
    this.child.on('close', (code, signal) => {
      const how = signal ? `killed by ${signal}` : `exited with code ${code}`;
      const tail = this.stderr.trim()
        ? `: ${this.stderr.trim().split('\n').slice(-5).join('\n')}`
        : '';
      this.end(`run process ${how} before finishing${tail}`);
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Can it take another run? */
  get alive(): boolean {
    return this.exited === null && this.child.connected;
  }

  /** Do one run; `crashed` if the process dies during it. One run at a time. */
  run(job: RunJob, hooks: RunHooks = {}): Promise<ChildOutcome> {
    if (this.current) throw new Error('RunProcess.run: a run is in progress');
    if (!this.alive) {
      return Promise.resolve({ kind: 'crashed', reason: this.exited ?? 'run process gone' });
    }
    this.runs++;
    return new Promise<ChildOutcome>((resolve) => {
      this.current = { hooks, resolve };
      // The process may be exiting right now: a failed send is a crash of this run, not a throw.
      const failed = (err: Error | null) => {
        if (err) this.end(`could not hand the run to its process: ${err.message}`);
      };
      try {
        this.child.send({ type: 'run', job }, failed);
      } catch (err) {
        failed(err as Error);
      }
    });
  }

  /** Kill the process (SIGKILL): a run in progress ends `crashed`. */
  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }

  /** Let an idle process go: it exits when its IPC channel closes. */
  close(): void {
    if (this.child.connected) this.child.disconnect();
  }

  private end(reason: string): void {
    this.exited ??= reason;
    const cur = this.current;
    this.current = null;
    cur?.resolve({ kind: 'crashed', reason: this.exited });
  }
}

export interface ChildHandle {
  readonly pid: number;
  readonly outcome: Promise<ChildOutcome>;
  /** Kill the run (SIGKILL): its outcome becomes `crashed`. */
  kill(): void;
}

/** One run in a fresh process of its own, which exits after it. */
export function runInChild(
  job: RunJob,
  opts: RunProcessOptions,
  hooks: RunHooks = {},
): ChildHandle {
  const proc = new RunProcess(opts);
  const outcome = proc.run(job, hooks).finally(() => proc.close());
  return { pid: proc.pid, outcome, kill: () => proc.kill() };
}
