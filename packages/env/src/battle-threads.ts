/**
 * Battle's parallel observation step: worker threads copy views over SharedArrayBuffers while the
 * main thread does its own share, so `step` stays synchronous.
 *
 * Protocol (one Int32Array control block, see CTRL): the main thread finishes the sequential part
 * of the step (attacks, moves: they decide the state), sets NEXT = 0 and bumps GEN; every thread,
 * the main one included, then takes chunks of agents with Atomics.add(NEXT) until none is left,
 * and the main thread waits until BUSY (workers inside a job) is back to 0. Each agent's view
 * depends only on the state, never on which thread copies it, so the result is byte-identical to
 * one thread. Chunks are taken dynamically, so an uneven spread of live agents stays balanced. A
 * worker that has not started yet simply takes no chunks: the main thread never waits for one.
 *
 * Node only (worker_threads, reached through process.getBuiltinModule so that the module can be
 * bundled for a browser, where `threads` must be 1).
 */
import type { Worker as NodeWorker } from 'node:worker_threads';
import { GibbsError } from '@gibbs/core';
import { CTRL, drainChunks, type KernelSource, type ObsKernel } from './battle-obs.ts';

type WorkerThreads = typeof import('node:worker_threads');

function workerThreads(): WorkerThreads {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const wt = proc?.getBuiltinModule?.('node:worker_threads') as WorkerThreads | undefined;
  if (!wt)
    throw GibbsError.invalid(
      'battle: threads',
      '> 1',
      '1 outside Node (the parallel step uses node:worker_threads, Node >= 20.16)',
    );
  return wt;
}

export class ObsPool {
  private readonly ctrl: Int32Array;
  private readonly workers: NodeWorker[] = [];
  private failure: Error | null = null;
  private disposed = false;

  /** `helpers` worker threads besides the calling thread, each building the kernel of `source`. */
  constructor(helpers: number, source: KernelSource) {
    const wt = workerThreads();
    const total = source.layout.n0 + source.layout.n1;
    this.ctrl = new Int32Array(new SharedArrayBuffer(4 * CTRL.SIZE));
    // About 8 chunks per thread: small enough to balance, large enough to keep atomics rare.
    const chunk = Math.max(64, Math.ceil(total / (8 * (helpers + 1))));
    const nChunks = Math.ceil(total / chunk);
    this.ctrl[CTRL.CHUNK] = chunk;
    this.ctrl[CTRL.TOTAL] = total;
    this.ctrl[CTRL.NCHUNKS] = nChunks;
    this.ctrl[CTRL.NEXT] = nChunks; // no job yet
    const entry = new URL('./battle-worker.mjs', import.meta.url);
    for (let i = 0; i < helpers; i++) {
      const w = new wt.Worker(entry, { workerData: { ctrl: this.ctrl.buffer, source } });
      w.on('error', (err: Error) => {
        this.failure ??= err;
      });
      // Workers must not keep a finished process alive; dispose() stops them explicitly.
      w.unref();
      this.workers.push(w);
    }
  }

  /** Worker threads started so far. */
  get started(): number {
    return Atomics.load(this.ctrl, CTRL.READY);
  }

  /** Resolves when every worker runs; rejects if one failed to start. */
  async ready(timeoutMs = 60_000): Promise<void> {
    const t0 = Date.now();
    while (this.started < this.workers.length) {
      if (this.failure)
        throw new Error(`battle: a worker thread failed to start: ${this.failure.message}`, {
          cause: this.failure,
        });
      if (Date.now() - t0 > timeoutMs)
        throw new Error(`battle: worker threads not started after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** Observe agents [0, total) on every thread; returns when all are written. */
  run(observe: ObsKernel): void {
    const ctrl = this.ctrl;
    if (this.disposed) throw new Error('battle: the environment was disposed');
    Atomics.store(ctrl, CTRL.NEXT, 0);
    Atomics.add(ctrl, CTRL.GEN, 1);
    if (this.started > 0) Atomics.notify(ctrl, CTRL.GEN);
    drainChunks(ctrl, observe);
    // Every chunk is taken; wait for the workers still copying theirs.
    let spins = 0;
    let waited = 0;
    for (;;) {
      const busy = Atomics.load(ctrl, CTRL.BUSY);
      if (busy === 0) return;
      if (++spins < 2000) continue;
      if (Atomics.wait(ctrl, CTRL.BUSY, busy, 100) === 'timed-out') {
        waited += 100;
        if (waited > 60_000)
          throw new Error(
            `battle: worker threads did not finish a step in 60 s${this.failure ? `: ${this.failure.message}` : ''}`,
          );
      }
    }
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    Atomics.store(this.ctrl, CTRL.STOP, 1);
    Atomics.add(this.ctrl, CTRL.GEN, 1);
    Atomics.notify(this.ctrl, CTRL.GEN);
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
