/**
 * A recorded run played back: the frames of a `frames.bin`, with play, step, speed and seek, and
 * the run's metrics (metrics.jsonl) for the charts.
 */
import type { AgentInspection, MetricRecord, RenderFrame } from '@gibbs/core';
import type { Recording } from './recording.ts';
import { type LiveParam, type SimSource, type SourceStatus, Stream } from './source.ts';

export class ReplaySource implements SimSource {
  readonly kind = 'replay' as const;
  /** Replays the frame shown to a late subscriber (the first frame is shown at construction). */
  readonly frames$ = new Stream<RenderFrame>(true);
  /** The run's metrics.jsonl, when there is one: all of it, once (replayed to late subscribers). */
  readonly metrics$ = new Stream<readonly MetricRecord[]>(true);
  readonly status$ = new Stream<SourceStatus>(true);
  readonly errors$ = new Stream<string>();
  private index = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private readonly status: SourceStatus;
  private current: RenderFrame | null = null;

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
    this.schedule();
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
    this.status.speed = stepsPerSecond;
    this.publish();
  }

  async setParam(name: string): Promise<void> {
    this.errors$.next(`a replay has no live parameters (${name})`);
  }

  requestFrame(): void {}

  async inspect(group: number, slot: number): Promise<AgentInspection | null> {
    // A replay knows only what the frame holds.
    const f = this.current;
    if (!f) return null;
    const a = f.agents;
    for (let i = 0; i < a.count; i++) {
      if (a.group[i] !== group || a.slot[i] !== slot) continue;
      return {
        group: f.groups[group] ?? String(group),
        slot,
        values: { x: a.x[i], y: a.y[i], hp: a.hp[i], action: a.action[i], reward: a.reward[i] },
        distributions: {},
      };
    }
    return null;
  }

  seek(index: number): void {
    if (this.rec.offsets.length === 0) return;
    this.index = Math.max(0, Math.min(this.rec.offsets.length - 1, Math.floor(index)));
    const f = this.rec.frame(this.index);
    this.current = f;
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

  private schedule(): void {
    const delay = this.status.speed > 0 ? 1000 / this.status.speed : 16;
    this.timer = setTimeout(() => {
      if (!this.status.running) return;
      if (this.index >= this.rec.offsets.length - 1) {
        this.pause();
        return;
      }
      this.seek(this.index + 1);
      this.schedule();
    }, delay);
  }

  private publish(): void {
    this.status$.next({ ...this.status, replay: this.status.replay && { ...this.status.replay } });
  }
}
