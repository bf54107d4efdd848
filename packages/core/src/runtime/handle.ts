/**
 * The main-thread handle of a running simulation: controls and RxJS streams over an EngineRpc,
 * whether the engine lives in a worker (comlink) or in this thread. One poll loop collects
 * metrics, episodes, logs and status; frames are pulled one at a time by each frames() stream,
 * so the engine renders only what is consumed and a slow consumer always gets the newest frame.
 */
import { BehaviorSubject, Observable, Subject, type Subscription, share } from 'rxjs';
import type { AgentInspection, EpisodeSummary, MetricRecord } from '../experiment.ts';
import type { RenderFrame } from '../frame.ts';
import { now } from './control.ts';
import { reviveError, toRunError } from './engine.ts';
import type { EngineRpc, Result } from './rpc.ts';
import { isTerminal, type RunError, type RunInfo, type RunStatus, type Snapshot } from './types.ts';

export interface FramesOptions {
  /** At most this many frames per second (Infinity: as fast as they are consumed). */
  maxFps?: number;
}

/** A frame with the run step it shows. */
export interface FrameEvent {
  step: number;
  frame: RenderFrame;
}

export interface SimulationHandle {
  readonly info: RunInfo;
  /** Current status (also the latest value of status$). */
  readonly status: RunStatus;
  readonly status$: Observable<RunStatus>;
  /**
   * Render frames, latest-value semantics: each is the newest state when the consumer was ready
   * for it; steps nobody saw count in status.framesDropped. Shared by all subscribers, paced at
   * the handle's maxFps.
   */
  readonly frames$: Observable<RenderFrame>;
  /** A stream of frames of its own (with the step each shows), paced as asked. */
  frames(opts?: FramesOptions): Observable<FrameEvent>;
  /** Every logged step, in batches, in order. */
  readonly metrics$: Observable<MetricRecord[]>;
  readonly episodes$: Observable<EpisodeSummary>;
  /** The error that failed the run (with its stack and step), once. */
  readonly errors$: Observable<RunError>;
  /** Log lines of the experiment (ExperimentContext.log). */
  readonly logs$: Observable<string>;
  /** Settles with the final status when the run finishes, fails or is disposed. */
  readonly done: Promise<RunStatus>;
  start(): Promise<void>;
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** Pause and take exactly n steps; resolves with the step count reached. */
  step(n: number): Promise<number>;
  /** Steps per second; Infinity (or null) for unlimited. */
  setSpeed(stepsPerSecond: number | null): Promise<void>;
  /** Change a live parameter (Experiment.liveParams); applied between two steps. */
  setParam(name: string, value: unknown): Promise<void>;
  snapshot(): Promise<Snapshot>;
  /** What the inspector shows for one agent (Simulation.inspect); null for an empty slot. */
  inspect?(group: number, slot: number): Promise<AgentInspection | null>;
  /** The latest checkpoint as a tar (StartOptions.restore takes it back); null if none. */
  checkpoint(): Promise<Uint8Array | null>;
  /** Stop the run, release the simulation and the worker. */
  dispose(): Promise<void>;
}

export interface EngineHandleOptions {
  /** Rejects when the worker dies (error or exit): every pending call fails with it. */
  dead?: Promise<never>;
  /** End the worker (after dispose, or once it is dead). */
  terminate?: () => void;
  /** Pace of frames$ (default 60 per second). */
  maxFps?: number;
  /** How long dispose waits for the engine before terminating the worker anyway (ms). */
  disposeTimeoutMs?: number;
}

const UNSET_STATUS = (info: RunInfo): RunStatus => ({
  state: 'ready',
  step: 0,
  episode: 0,
  speed: null,
  backend: info.backend,
  params: {},
  framesDelivered: 0,
  framesDropped: 0,
  metricsDropped: 0,
  error: null,
});

export class EngineHandle implements SimulationHandle {
  readonly frames$: Observable<RenderFrame>;
  readonly metrics$: Observable<MetricRecord[]>;
  readonly episodes$: Observable<EpisodeSummary>;
  readonly errors$: Observable<RunError>;
  readonly logs$: Observable<string>;
  readonly done: Promise<RunStatus>;
  private readonly status$$: BehaviorSubject<RunStatus>;
  private readonly metrics$$ = new Subject<MetricRecord[]>();
  private readonly episodes$$ = new Subject<EpisodeSummary>();
  private readonly errors$$ = new Subject<RunError>();
  private readonly logs$$ = new Subject<string>();
  private readonly pendingCalls = new Set<(err: unknown) => void>();
  private deathError: unknown = null;
  private resolveDone!: (s: RunStatus) => void;
  private ended = false;
  private disposed = false;
  private frameIds = 0;

  constructor(
    private readonly rpc: EngineRpc,
    readonly info: RunInfo,
    private readonly opts: EngineHandleOptions = {},
  ) {
    this.status$$ = new BehaviorSubject<RunStatus>(UNSET_STATUS(info));
    this.metrics$ = this.metrics$$.asObservable();
    this.episodes$ = this.episodes$$.asObservable();
    this.errors$ = this.errors$$.asObservable();
    this.logs$ = this.logs$$.asObservable();
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
    opts.dead?.catch((err: unknown) => {
      this.deathError = err ?? new Error('the simulation worker died');
      const rejects = [...this.pendingCalls];
      this.pendingCalls.clear();
      for (const reject of rejects) reject(this.deathError);
      this.crash(err);
    });
    this.frames$ = new Observable<RenderFrame>((sub) => {
      const s: Subscription = this.frames({ maxFps: opts.maxFps ?? 60 }).subscribe({
        next: (e) => sub.next(e.frame),
        error: (e) => sub.error(e),
        complete: () => sub.complete(),
      });
      return s;
    }).pipe(share());
    void this.pollLoop();
  }

  get status(): RunStatus {
    return this.status$$.value;
  }

  get status$(): Observable<RunStatus> {
    return this.status$$.asObservable();
  }

  frames(opts: FramesOptions = {}): Observable<FrameEvent> {
    const maxFps = opts.maxFps ?? Number.POSITIVE_INFINITY;
    const minGap = maxFps === Number.POSITIVE_INFINITY ? 0 : 1000 / maxFps;
    return new Observable<FrameEvent>((sub) => {
      let closed = false;
      let pending: number | null = null;
      let timer: ReturnType<typeof setTimeout> | null = null;
      let wake: (() => void) | null = null;
      const run = async () => {
        let after = -1;
        while (!closed && !this.ended) {
          const t0 = now();
          const id = ++this.frameIds;
          pending = id;
          const reply = await this.call(this.rpc.nextFrame(after, id));
          pending = null;
          if (closed || !reply) break;
          after = reply.step;
          sub.next(reply);
          const wait = t0 + minGap - now();
          if (wait > 0 && !closed) {
            await new Promise<void>((resolve) => {
              wake = resolve;
              timer = setTimeout(resolve, wait);
            });
            wake = null;
          }
        }
        if (!closed) sub.complete();
      };
      run().catch((err: unknown) => {
        if (!closed) sub.error(err);
      });
      return () => {
        closed = true;
        if (timer !== null) clearTimeout(timer);
        (wake as (() => void) | null)?.();
        // Tell the engine to drop our pending request: it keeps nothing of a consumer that left.
        if (pending !== null && !this.ended) void this.rpc.cancelFrame(pending).catch(() => {});
      };
    });
  }

  start(): Promise<void> {
    return this.void(this.rpc.start());
  }

  pause(): Promise<void> {
    return this.void(this.rpc.pause());
  }

  resume(): Promise<void> {
    return this.void(this.rpc.resume());
  }

  step(n: number): Promise<number> {
    return this.call(this.rpc.step(n));
  }

  setSpeed(stepsPerSecond: number | null): Promise<void> {
    return this.void(this.rpc.setSpeed(stepsPerSecond ?? Number.POSITIVE_INFINITY));
  }

  setParam(name: string, value: unknown): Promise<void> {
    return this.void(this.rpc.setParam(name, value));
  }

  snapshot(): Promise<Snapshot> {
    return this.call(this.rpc.snapshot());
  }

  inspect(group: number, slot: number): Promise<AgentInspection | null> {
    if (!this.rpc.inspect) return Promise.resolve(null);
    return this.call(this.rpc.inspect(group, slot));
  }

  checkpoint(): Promise<Uint8Array | null> {
    if (!this.rpc.checkpoint) return Promise.resolve(null);
    return this.call(this.rpc.checkpoint());
  }

  async dispose(): Promise<void> {
    if (this.disposed) return this.done.then(() => {});
    this.disposed = true;
    // Also after the run ended: the simulation (and any threads it holds) is released here.
    if (this.deathError === null) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.opts.disposeTimeoutMs ?? 5000);
      });
      try {
        await Promise.race([this.call(this.rpc.dispose()), timeout]);
      } catch {
        // A dead worker has nothing left to release.
      } finally {
        clearTimeout(timer);
      }
    }
    this.opts.terminate?.();
    this.end({ ...this.status, state: 'disposed' });
  }

  private async void(p: Promise<Result<null>>): Promise<void> {
    await this.call(p);
  }

  /**
   * A call's value, its error revived, or the worker's death, whichever comes first. (Not
   * Promise.race with `dead`: every race would leave a reaction on that never-settling promise,
   * keeping each answer, frames included, alive for the life of the handle.)
   */
  private call<T>(p: Promise<Result<T>>): Promise<T> {
    return this.settled(p).then((r) => {
      if (!r.ok) throw reviveError(r.error);
      return r.value;
    });
  }

  /** `p`, or a rejection as soon as the worker dies. */
  private settled<T>(p: Promise<T>): Promise<T> {
    if (this.deathError !== null) return Promise.reject(this.deathError);
    return new Promise<T>((resolve, reject) => {
      this.pendingCalls.add(reject);
      p.then(
        (v) => {
          this.pendingCalls.delete(reject);
          resolve(v);
        },
        (err: unknown) => {
          this.pendingCalls.delete(reject);
          reject(err);
        },
      );
    });
  }

  private async pollLoop(): Promise<void> {
    while (!this.ended) {
      let u: Awaited<ReturnType<EngineRpc['poll']>>;
      try {
        u = await this.settled(this.rpc.poll());
      } catch {
        return; // crash() reports it
      }
      if (this.ended) return;
      if (!u.ok) {
        this.crash(reviveError(u.error));
        return;
      }
      const { metrics, episodes, logs, status, final } = u.value;
      if (metrics.length > 0) this.metrics$$.next(metrics);
      for (const e of episodes) this.episodes$$.next(e);
      for (const l of logs) this.logs$$.next(l);
      const hadError = this.status$$.value.error !== null;
      this.status$$.next(status);
      if (status.error && !hadError) this.errors$$.next(status.error);
      if (final || isTerminal(status.state)) {
        this.end(status);
        return;
      }
    }
  }

  /** The worker died outside the engine (uncaught error, exit): fail the run, hang nothing. */
  private crash(err: unknown): void {
    if (this.ended) return;
    const prev = this.status$$.value;
    const error = prev.error ?? toRunError(err, prev.step + 1);
    const status: RunStatus = { ...prev, state: this.disposed ? 'disposed' : 'failed', error };
    this.status$$.next(status);
    if (!prev.error && !this.disposed) this.errors$$.next(error);
    this.opts.terminate?.();
    this.end(status);
  }

  private end(status: RunStatus): void {
    if (this.ended) {
      if (status.state === 'disposed' && this.status$$.value.state !== 'disposed')
        this.status$$.next(status);
      return;
    }
    this.ended = true;
    if (this.status$$.value !== status) this.status$$.next(status);
    this.metrics$$.complete();
    this.episodes$$.complete();
    this.errors$$.complete();
    this.logs$$.complete();
    this.resolveDone(status);
  }
}
