/**
 * A recorded run played back: the frames of a `frames.bin`, with play, step, speed and seek, and
 * the run's metrics (metrics.jsonl) for the charts.
 */

import type { AgentInspection, MetricRecord, RenderFrame } from '@gibbs/core';
import { ReplaySubject, Subject } from 'rxjs';
import { inspectFromFrame } from './inspector.ts';
import type { Recording } from './recording.ts';
import type { LiveParam, SimSource, SourceStatus } from './source.ts';

export class ReplaySource implements SimSource {
  readonly kind = 'replay' as const;
  /** Replays the frame shown to a late subscriber (the first frame is shown at construction). */
  readonly frames$ = new ReplaySubject<RenderFrame>(1);
  /** The run's metrics.jsonl, when there is one: all of it, once (replayed to late subscribers). */
  readonly metrics$ = new ReplaySubject<readonly MetricRecord[]>(1);
  readonly status$ = new ReplaySubject<SourceStatus>(1);
  readonly errors$ = new Subject<string>();
  private index = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private readonly status: SourceStatus;
  private current: RenderFrame | null = null;
  /** A frame was sent that the viewer has not reported drawn yet (pull pacing at max speed). */
  private awaitingDraw = false;

  constructor(
    private readonly rec: Recording,
    metrics: readonly MetricRecord[] = [],
  ) {
    this.status = {
      kind: 'replay',
      experiment: rec.meta.experiment,
      running: false,
      step: 0,
      episode: 0,
      stepsPerSecond: 0,
      speed: 30,
      backend: null,
      droppedFrames: 0,
      failed: rec.offsets.length === 0 ? 'the recording holds no frames' : null,
      replay: { frames: rec.offsets.length, index: 0, truncated: rec.truncated !== null },
    };
    if (metrics.length > 0) this.metrics$.next(metrics);
    if (rec.offsets.length > 0) this.seek(0);
    else this.publish();
  }

  liveParams(): readonly LiveParam[] {
    return [];
  }

  play(): void {
    if (this.status.running || this.rec.offsets.length === 0) return;
    if (this.index >= this.rec.offsets.length - 1) this.seek(0);
    this.status.running = true;
    this.publish();
    if (this.status.speed > 0) this.schedule();
    else if (!this.awaitingDraw) this.advanceOne();
  }

  pause(): void {
    this.status.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.publish();
  }

  async step(n: number): Promise<void> {
    this.seek(Math.min(this.rec.offsets.length - 1, this.index + n));
  }

  setSpeed(stepsPerSecond: number): void {
    const was = this.status.speed;
    this.status.speed = stepsPerSecond;
    this.publish();
    if (!this.status.running || was > 0 === stepsPerSecond > 0) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (stepsPerSecond > 0) this.schedule();
    else if (!this.awaitingDraw) this.advanceOne();
  }

  async setParam(name: string): Promise<void> {
    this.errors$.next(`a replay has no live parameters (${name})`);
  }

  /**
   * The viewer drew the last frame. At max speed the replay is paced by the viewer: the next frame
   * goes out only now, so that every recorded frame is drawn (none is replaced unseen).
   */
  requestFrame(): void {
    const was = this.awaitingDraw;
    this.awaitingDraw = false;
    if (was && this.status.running && this.status.speed <= 0) this.advanceOne();
  }

  async inspect(group: number, slot: number): Promise<AgentInspection | null> {
    // A replay knows only what the frame holds.
    return inspectFromFrame(this.current, group, slot);
  }

  seek(index: number): void {
    if (this.rec.offsets.length === 0) return;
    this.index = Math.max(0, Math.min(this.rec.offsets.length - 1, Math.floor(index)));
    const f = this.rec.frame(this.index);
    this.current = f;
    this.awaitingDraw = true;
    this.status.step = f.step;
    this.status.episode = f.episode;
    this.status.replay = {
      frames: this.rec.offsets.length,
      index: this.index,
      truncated: this.rec.truncated !== null,
    };
    this.frames$.next(f);
    this.publish();
  }

  dispose(): void {
    this.pause();
  }

  private advanceOne(): void {
    if (!this.status.running) return;
    if (this.index >= this.rec.offsets.length - 1) {
      this.pause();
      return;
    }
    this.seek(this.index + 1);
  }

  private schedule(): void {
    const delay = 1000 / Math.max(1e-3, this.status.speed);
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.status.running || this.status.speed <= 0) return;
      this.advanceOne();
      if (this.status.running) this.schedule();
    }, delay);
  }

  private publish(): void {
    this.status$.next({ ...this.status, replay: this.status.replay && { ...this.status.replay } });
  }
}
