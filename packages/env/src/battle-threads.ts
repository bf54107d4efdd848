/**
 * Where Battle's step runs: the memory that holds its state, the kernels over it, and the worker
 * threads that share the attacks, the moves (band by band) and the observation copy with the main
 * thread over that memory, so that `step` stays synchronous (setUpKernels, StepPool).
 *
 * Protocol (one Int32Array control block, see CTRL): the main thread writes a job (JOB_ATTACK or
 * JOB_MOVE with a band parity, or JOB_OBSERVE), opens it (NEXT = 0) and bumps GEN; every thread,
 * the main one included, then takes chunks with Atomics.add(NEXT) until none is left, and the main
 * thread waits until BUSY (workers inside a job) is back to 0, then closes the job (NEXT = NO_JOB).
 * The chunks of a job are independent (one agent's view; bands of one parity that touch disjoint
 * rows), so the result never depends on which thread does which chunk: it is byte-identical to one
 * thread. Chunks are taken dynamically, so an uneven spread of agents stays balanced, and a worker
 * that has not started yet simply takes none: the main thread never waits for one.
 *
 * Node only (worker_threads, reached through process.getBuiltinModule so that the module can be
 * bundled for a browser, where `threads` must be 1).
 */
import type { Worker as NodeWorker } from 'node:worker_threads';
import { GibbsError } from '@gibbs/core';
import {
  type BattleState,
  bandsOf,
  CTRL,
  drainChunks,
  JOB_ATTACK,
  JOB_MOVE,
  JOB_OBSERVE,
  type KernelSource,
  type Kernels,
  kernelsOf,
  NO_JOB,
  type Rewards,
  type StateLayout,
  stateOf,
} from './battle-kernels.ts';
import { obsModule, WASM_MAX_BYTES } from './battle-wasm.ts';

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

/** What a Battle steps with: its state in one buffer, the kernels over it, and the threads. */
export interface KernelSetup {
  /** Which observation kernel runs: WebAssembly (state within 4 GiB) or JS copyWithin. */
  readonly kernel: 'wasm' | 'js';
  readonly state: BattleState;
  /** Control block of the thread pool (and the counters of the kernels, on one thread too). */
  readonly ctrl: Int32Array;
  /** The kernels as the calling thread runs them. */
  readonly kernels: Kernels;
  /** The worker threads besides the calling one (threads > 1), else null. */
  readonly pool: StepPool | null;
}

/**
 * Allocate the state of `layout` and the kernels over it. Everything the kernels touch lives in
 * one buffer: a WebAssembly.Memory when it fits in 4 GiB (the wasm kernel), else a plain
 * (Shared)ArrayBuffer (the JS kernel); shared, with `threads` - 1 worker threads, when threads > 1.
 */
export function setUpKernels(
  layout: StateLayout,
  options: { kernel: 'auto' | 'wasm' | 'js'; threads: number; rewards: Rewards },
): KernelSetup {
  const { threads, rewards } = options;
  const shared = threads > 1;
  const fitsWasm = layout.bytes <= WASM_MAX_BYTES && typeof WebAssembly === 'object';
  if (options.kernel === 'wasm' && !fitsWasm)
    throw new GibbsError(
      `battle: kernel "wasm": the observation state takes ${layout.bytes} bytes, more than the 4 GiB a wasm32 memory holds; use kernel "auto" or "js"`,
      'kernel',
      'wasm',
      '"auto" or "js" for this size',
    );
  const useWasm = options.kernel !== 'js' && fitsWasm;
  let source: KernelSource;
  let buffer: ArrayBufferLike;
  if (useWasm) {
    const pages = Math.max(1, Math.ceil(layout.bytes / 65536));
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared });
    const module = obsModule(layout, pages, shared);
    source = { kind: 'wasm', layout, memory, module };
    buffer = memory.buffer;
  } else {
    buffer = shared ? new SharedArrayBuffer(layout.bytes) : new ArrayBuffer(layout.bytes);
    source = { kind: 'js', layout, buffer: buffer as SharedArrayBuffer };
  }
  // Shared only with threads: a page without cross-origin isolation has no SharedArrayBuffer.
  const ctrl = new Int32Array(
    shared ? new SharedArrayBuffer(4 * CTRL.SIZE) : new ArrayBuffer(4 * CTRL.SIZE),
  );
  return {
    kernel: useWasm ? 'wasm' : 'js',
    state: stateOf(layout, buffer),
    ctrl,
    kernels: kernelsOf(source, ctrl, rewards),
    pool: shared ? new StepPool(threads - 1, source, ctrl, rewards) : null,
  };
}

/** The worker threads of a parallel step, and the main thread's side of the protocol. */
export class StepPool {
  private readonly ctrl: Int32Array;
  private readonly workers: NodeWorker[] = [];
  private failure: Error | null = null;
  private disposed = false;

  private readonly agents: number;
  private readonly agentChunk: number;
  private readonly bandChunk: number;

  /**
   * `helpers` worker threads besides the calling thread, each building the kernels of `source`;
   * `ctrl` is the control block (CTRL.SIZE Int32 slots of a SharedArrayBuffer).
   */
  constructor(helpers: number, source: KernelSource, ctrl: Int32Array, rewards: Rewards) {
    const wt = workerThreads();
    this.ctrl = ctrl;
    // About 8 chunks per thread: small enough to balance, large enough to keep atomics rare.
    this.agents = source.layout.n0 + source.layout.n1;
    this.agentChunk = Math.max(64, Math.ceil(this.agents / (8 * (helpers + 1))));
    this.bandChunk = Math.max(1, Math.ceil(bandsOf(source.layout.height) / (16 * (helpers + 1))));
    Atomics.store(ctrl, CTRL.NEXT, NO_JOB);
    const entry = new URL('./battle-worker.mjs', import.meta.url);
    for (let i = 0; i < helpers; i++) {
      const w = new wt.Worker(entry, { workerData: { ctrl: ctrl.buffer, source, rewards } });
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

  /** Observe every agent, on every thread; returns when all views and features are written. */
  runObserve(kernels: Kernels): void {
    this.run(kernels, JOB_OBSERVE, 0, this.agents, this.agentChunk);
  }

  /** Carry out the moves of the `bands` bands of `parity`, on every thread (see moveBands). */
  runMoves(kernels: Kernels, parity: number, bands: number): void {
    this.run(kernels, JOB_MOVE, parity, bands, this.bandChunk);
  }

  /** Carry out the attacks of the `bands` bands of `parity` on every thread (see attackBands). */
  runAttacks(kernels: Kernels, parity: number, bands: number): void {
    this.run(kernels, JOB_ATTACK, parity, bands, this.bandChunk);
  }

  /** Hits and kills (red, blue, red, blue) counted since the last call (and zero the counters). */
  takeAttacks(out: Int32Array): void {
    for (let i = 0; i < 4; i++) out[i] = Atomics.exchange(this.ctrl, CTRL.ATTACKS + i, 0);
  }

  /** The moves counted since the last call, per group (and zero the counters). */
  takeMoves(out: Int32Array): void {
    out[0] = Atomics.exchange(this.ctrl, CTRL.MOVES, 0);
    out[1] = Atomics.exchange(this.ctrl, CTRL.MOVES + 1, 0);
  }

  private run(kernels: Kernels, job: number, parity: number, total: number, chunk: number): void {
    const ctrl = this.ctrl;
    if (this.disposed) throw new Error('battle: the environment was disposed');
    if (total === 0) return;
    ctrl[CTRL.JOB] = job;
    ctrl[CTRL.PARITY] = parity;
    ctrl[CTRL.TOTAL] = total;
    ctrl[CTRL.CHUNK] = chunk;
    Atomics.store(ctrl, CTRL.NCHUNKS, Math.ceil(total / chunk));
    Atomics.store(ctrl, CTRL.NEXT, 0); // opens the job
    Atomics.add(ctrl, CTRL.GEN, 1);
    if (this.started > 0) Atomics.notify(ctrl, CTRL.GEN);
    drainChunks(ctrl, kernels);
    // Every chunk is taken; wait for the workers still doing theirs.
    let spins = 0;
    let waited = 0;
    for (;;) {
      const busy = Atomics.load(ctrl, CTRL.BUSY);
      if (busy === 0) break;
      if (++spins < 2000) continue;
      if (Atomics.wait(ctrl, CTRL.BUSY, busy, 100) === 'timed-out') {
        waited += 100;
        if (waited > 60_000)
          throw new Error(
            `battle: worker threads did not finish a step in 60 s${this.failure ? `: ${this.failure.message}` : ''}`,
          );
      }
    }
    Atomics.store(ctrl, CTRL.NEXT, NO_JOB); // a worker waking late takes nothing
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
