/**
 * A simulation stepped in this page's main thread, through core's Simulation contract. The app
 * uses it where the worker runtime is not available; it has the same interface and the same
 * latest-value frame semantics: a frame is built only when the viewer has taken the previous one,
 * every step finished meanwhile counts as a dropped frame.
 */

import {
  type AgentInspection,
  type EpisodeSummary,
  type Experiment,
  type MetricRecord,
  parseParams,
  type RenderFrame,
  type Simulation,
} from '@gibbs/core';
import { ReplaySubject, Subject } from 'rxjs';
import { paramFields } from './experiments.ts';
import { errorText, type LiveParam, type SimSource, type SourceStatus } from './source.ts';

/** Longest stretch of stepping before yielding to the page (ms). */
const SLICE_MS = 12;

export interface LocalSourceOptions {
  experiment: Experiment;
  seed: number;
  /** Parameters as strings (form fields, URL) or typed values. */
  params: Record<string, unknown>;
  backend?: string;
  /** A checkpoint (a tar) to continue from. */
  restore?: Uint8Array;
}

export class MainThreadSource implements SimSource {
  readonly kind = 'main-thread' as const;
  readonly frames$ = new Subject<RenderFrame>();
  readonly metrics$ = new Subject<readonly MetricRecord[]>();
  readonly status$ = new ReplaySubject<SourceStatus>(1);
  readonly episodes$ = new Subject<readonly EpisodeSummary[]>();
  readonly errors$ = new Subject<string>();

  private status: SourceStatus;
  private readonly live: LiveParam[];
  private running = false;
  private busy = false;
  private frameWanted = true;
  private sinceFrame = 0;
  private disposed = false;
  private budget = 0;
  private lastTick = 0;
  private readonly rate: { t: number; step: number }[] = [];
  private readonly channel = new MessageChannel();

  private constructor(
    private readonly sim: Simulation,
    private readonly exp: Experiment,
    params: Record<string, unknown>,
  ) {
    this.status = {
      kind: 'main-thread',
      experiment: exp.name,
      running: false,
      step: 0,
      episode: 0,
      stepsPerSecond: 0,
      speed: 0,
      backend: sim.backend ?? null,
      droppedFrames: 0,
      failed: null,
    };
    this.live = paramFields(exp)
      .filter((f) => f.live)
      .map((f) => ({
        name: f.name,
        value: params[f.name] as number | boolean | string,
        kind:
          f.kind === 'integer' || f.kind === 'boolean' || f.kind === 'string' ? f.kind : 'number',
        min: f.min,
        max: f.max,
      }));
    this.channel.port1.onmessage = () => this.tick();
  }

  static async create(opts: LocalSourceOptions): Promise<MainThreadSource> {
    const params = parseParams(
      opts.experiment.params,
      opts.params,
      `experiment "${opts.experiment.name}"`,
    );
    const sim = await opts.experiment.create({
      params,
      seed: opts.seed,
      backend: opts.backend,
      restore: opts.restore,
    });
    const src = new MainThreadSource(sim, opts.experiment, params as Record<string, unknown>);
    src.publish();
    src.emitFrame();
    return src;
  }

  liveParams(): readonly LiveParam[] {
    return this.live;
  }

  get checkpoints(): boolean {
    return typeof this.sim.checkpoint === 'function';
  }

  async checkpoint(): Promise<Uint8Array | null> {
    return (await this.sim.checkpoint?.()) ?? null;
  }

  play(): void {
    if (this.running || this.disposed || this.status.failed) return;
    this.running = true;
    this.budget = 0;
    this.lastTick = performance.now();
    this.publish();
    this.schedule();
  }

  pause(): void {
    this.running = false;
    this.status.stepsPerSecond = 0;
    this.rate.length = 0;
    this.publish();
  }

  async step(n: number): Promise<void> {
    if (this.running || this.busy || this.disposed) return;
    this.busy = true;
    try {
      await this.advance(n);
      this.frameWanted = true;
      this.emitFrame();
    } finally {
      this.busy = false;
    }
  }

  setSpeed(stepsPerSecond: number): void {
    this.status.speed = Math.max(0, stepsPerSecond);
    this.budget = 0;
    this.publish();
  }

  async setParam(name: string, value: number | boolean | string): Promise<void> {
    const p = this.live.find((l) => l.name === name);
    if (!p || !this.sim.setParam) {
      this.errors$.next(`parameter ${name} cannot change while ${this.exp.name} runs`);
      return;
    }
    try {
      this.sim.setParam(name, value);
      p.value = value;
    } catch (err) {
      this.errors$.next(errorText(err));
    }
  }

  requestFrame(): void {
    this.frameWanted = true;
    if (!this.running && !this.busy) this.emitFrame();
  }

  async inspect(group: number, slot: number): Promise<AgentInspection | null> {
    return this.sim.inspect?.(group, slot) ?? null;
  }

  dispose(): void {
    this.disposed = true;
    this.running = false;
    this.channel.port1.close();
    void this.sim.dispose?.();
  }

  private schedule(): void {
    // A MessageChannel post runs as a task after rendering gets its turn, without setTimeout's
    // 4 ms clamp.
    if (this.status.speed > 0)
      setTimeout(() => this.tick(), Math.max(1, 1000 / this.status.speed / 2));
    else this.channel.port2.postMessage(0);
  }

  private async tick(): Promise<void> {
    if (!this.running || this.disposed || this.busy) return;
    this.busy = true;
    try {
      const now = performance.now();
      let steps: number;
      if (this.status.speed > 0) {
        this.budget = Math.min(
          this.budget + ((now - this.lastTick) / 1000) * this.status.speed,
          Math.max(1, this.status.speed / 10),
        );
        steps = Math.floor(this.budget);
        this.budget -= steps;
      } else steps = Number.POSITIVE_INFINITY;
      this.lastTick = now;
      if (steps > 0) await this.advance(steps, now + SLICE_MS);
      this.emitFrame();
    } catch (err) {
      this.fail(err);
    } finally {
      this.busy = false;
    }
    if (this.running) this.schedule();
  }

  /** Advance up to `n` steps (stopping at `deadline`), then log the last step's metrics. */
  private async advance(n: number, deadline = Number.POSITIVE_INFINITY): Promise<void> {
    let done = 0;
    try {
      while (done < n && (done === 0 || performance.now() < deadline)) {
        const r = this.sim.advance();
        if (r) await r;
        const eps = this.sim.drainEpisodes?.();
        if (eps && eps.length > 0) this.episodes$.next(eps);
        done++;
        this.sinceFrame++;
      }
    } catch (err) {
      this.fail(err);
      return;
    }
    const m = this.sim.metrics();
    this.status.step = m.step;
    this.status.episode = m.episode;
    this.measure(m.step);
    this.metrics$.next([m]);
    this.publish();
  }

  private emitFrame(): void {
    if (!this.frameWanted || this.status.failed) return;
    this.frameWanted = false;
    // Every step since the last frame but the newest is a frame nobody will see.
    if (this.sinceFrame > 1) this.status.droppedFrames += this.sinceFrame - 1;
    this.sinceFrame = 0;
    const f = this.sim.frame();
    if (f) this.frames$.next(f);
  }

  private measure(step: number): void {
    const t = performance.now();
    this.rate.push({ t, step });
    while (this.rate.length > 2 && t - this.rate[0].t > 1000) this.rate.shift();
    const first = this.rate[0];
    this.status.stepsPerSecond =
      this.running && t > first.t ? ((step - first.step) * 1000) / (t - first.t) : 0;
  }

  private fail(err: unknown): void {
    this.running = false;
    this.status.failed = `${this.exp.name} failed at step ${this.status.step + 1}: ${errorText(err)}`;
    this.publish();
  }

  private publish(): void {
    this.status.running = this.running;
    this.status$.next({ ...this.status });
  }
}
