/**
 * A simulation in a Web Worker, through core's runtime (startSimulation + SimulationHandle): the
 * page only draws, charts and steers. Frames arrive pulled one at a time from the worker (latest
 * value), metrics in batches, the status with the runtime's dropped-frame count.
 */

import type { AgentInspection, EpisodeSummary, MetricRecord, RenderFrame } from '@gibbs/core';
import type { SimulationHandle } from '@gibbs/core/runtime/handle';
import { startSimulation } from '@gibbs/core/runtime/start';
import type { RunInfo, RunStatus } from '@gibbs/core/runtime/types';
import { ReplaySubject, Subject } from 'rxjs';
import {
  errorText,
  type LiveParam,
  type SimSource,
  type SourceStatus,
  type Unsubscribable,
} from './source.ts';

/** Frames per second asked of the worker: the page draws at most one per animation frame. */
const MAX_FPS = 60;

/** A live parameter's control, from its JSON schema and current value. */
export function liveParamOf(
  name: string,
  schema: Record<string, unknown>,
  value: unknown,
): LiveParam {
  const t = schema.type;
  const kind: LiveParam['kind'] =
    t === 'integer' || t === 'boolean' || t === 'string' ? t : 'number';
  const bound = (v: unknown) =>
    typeof v === 'number' && Math.abs(v) < Number.MAX_SAFE_INTEGER ? v : undefined;
  return {
    name,
    kind,
    value: (value ?? schema.default ?? '') as number | boolean | string,
    min: bound(schema.minimum ?? schema.exclusiveMinimum),
    max: bound(schema.maximum ?? schema.exclusiveMaximum),
  };
}

/** Take the current values of live parameters from a run's status. */
export function syncLive(live: LiveParam[], params: Record<string, unknown>): void {
  for (const p of live) {
    const v = params[p.name];
    if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string') p.value = v;
  }
}

/** Steps per second from successive (time, step) readings over about a second. */
export class RateMeter {
  private readonly points: { t: number; step: number }[] = [];

  update(step: number, running: boolean, t = performance.now()): number {
    if (!running) {
      this.points.length = 0;
      return 0;
    }
    this.points.push({ t, step });
    while (this.points.length > 2 && t - this.points[0].t > 1000) this.points.shift();
    const first = this.points[0];
    return t > first.t ? ((step - first.step) * 1000) / (t - first.t) : 0;
  }
}

/** The run's status in the viewer's terms. */
export function toSourceStatus(
  kind: SourceStatus['kind'],
  info: RunInfo,
  s: RunStatus,
  stepsPerSecond: number,
): SourceStatus {
  const failed =
    s.state === 'failed' && s.error
      ? `${info.experiment} failed at step ${s.error.step}: ${s.error.message}`
      : null;
  return {
    kind,
    experiment: info.experiment,
    running: s.state === 'running',
    step: s.step,
    episode: s.episode,
    stepsPerSecond,
    speed: s.speed ?? 0,
    backend: s.backend ?? info.backend,
    droppedFrames: s.framesDropped,
    failed,
    notice: s.notice ?? null,
  };
}

export interface WorkerSourceOptions {
  /** The experiment as the page's worker (sim-worker.ts) knows it: experimentRef(name). */
  experiment: string;
  seed: number;
  params: Record<string, unknown>;
  /** A tfjs backend to force (`faulty:N` shows the fallback). */
  backend?: string;
  /** A checkpoint (a tar) to continue from. */
  restore?: Uint8Array;
}

export class WorkerSource implements SimSource {
  readonly kind = 'worker' as const;
  readonly frames$ = new Subject<RenderFrame>();
  readonly metrics$ = new Subject<readonly MetricRecord[]>();
  readonly status$ = new ReplaySubject<SourceStatus>(1);
  readonly episodes$ = new Subject<readonly EpisodeSummary[]>();
  readonly errors$ = new Subject<string>();
  private readonly live: LiveParam[];
  private readonly subs: Unsubscribable[] = [];
  private readonly rate = new RateMeter();
  private speed: number | null = null;

  private constructor(private readonly handle: SimulationHandle) {
    const info = handle.info;
    this.live = info.liveParams.map((p) =>
      liveParamOf(p.name, p.schema, handle.status.params[p.name] ?? info.params[p.name]),
    );
    this.subs.push(
      handle.frames$.subscribe((f) => this.frames$.next(f)),
      handle.metrics$.subscribe((batch) => this.metrics$.next(batch)),
      handle.episodes$.subscribe((e) => this.episodes$.next([e])),
      handle.status$.subscribe((s) => {
        syncLive(this.live, s.params);
        const sps = this.rate.update(s.step, s.state === 'running');
        this.status$.next(toSourceStatus('worker', info, s, sps));
      }),
    );
  }

  static async create(opts: WorkerSourceOptions): Promise<WorkerSource> {
    const handle = await startSimulation({
      experiment: opts.experiment,
      spawnWorker: () =>
        new Worker(new URL('./sim-worker.ts', import.meta.url), {
          type: 'module',
          name: 'gibbs-simulation',
        }),
      params: opts.params,
      seed: opts.seed,
      backend: opts.backend,
      restore: opts.restore,
      worker: true,
      maxFps: MAX_FPS,
      logEvery: 1,
    });
    return new WorkerSource(handle);
  }

  liveParams(): readonly LiveParam[] {
    return this.live;
  }

  get checkpoints(): boolean {
    return this.handle.info.checkpoints === true;
  }

  checkpoint(): Promise<Uint8Array | null> {
    return this.handle.checkpoint();
  }

  play(): void {
    const st = this.handle.status.state;
    const p = st === 'ready' ? this.handle.start() : this.handle.resume();
    p.catch((err) => this.errors$.next(errorText(err)));
  }

  pause(): void {
    this.handle.pause().catch((err) => this.errors$.next(errorText(err)));
  }

  async step(n: number): Promise<void> {
    try {
      await this.handle.step(n);
    } catch (err) {
      this.errors$.next(errorText(err));
    }
  }

  setSpeed(stepsPerSecond: number): void {
    this.speed = stepsPerSecond > 0 ? stepsPerSecond : null;
    this.handle.setSpeed(this.speed).catch((err) => this.errors$.next(errorText(err)));
  }

  async setParam(name: string, value: number | boolean | string): Promise<void> {
    try {
      await this.handle.setParam(name, value);
      const p = this.live.find((l) => l.name === name);
      if (p) p.value = value;
    } catch (err) {
      this.errors$.next(errorText(err));
    }
  }

  requestFrame(): void {
    // The runtime pulls frames itself, one at a time: nothing to do.
  }

  async inspect(group: number, slot: number): Promise<AgentInspection | null> {
    // Null for an experiment without inspect: the page then shows what the frame holds.
    return this.handle.inspect ? this.handle.inspect(group, slot) : null;
  }

  dispose(): void {
    for (const s of this.subs) s.unsubscribe();
    void this.handle.dispose();
  }
}
