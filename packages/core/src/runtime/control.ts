/**
 * Pause, resume, step(n) and speed for a run loop (runner.ts's `StepGate`). Platform-neutral: the
 * same control paces a simulation in the main thread, in a Node worker and in a Web Worker.
 *
 * The loop never blocks: at unlimited speed it runs steps in slices of `sliceMs` and yields to the
 * event loop between slices, so that control messages, frame requests and sockets are served
 * between steps. At a finite speed it sleeps until each step is due. `onIdle` is called every time
 * the loop is about to wait: the moment when the simulation may be read (frames, snapshots).
 */

import { GibbsError } from '../errors.ts';
import type { StepGate } from '../runner.ts';

export const now: () => number = () => performance.now();

/** Let the event loop run (setImmediate in Node, a MessageChannel round trip in browsers). */
export function yieldToEventLoop(): Promise<void> {
  const g = globalThis as { setImmediate?: (fn: () => void) => unknown };
  if (typeof g.setImmediate === 'function') {
    return new Promise((resolve) => g.setImmediate?.(resolve));
  }
  return new Promise((resolve) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => {
      ch.port1.close();
      resolve();
    };
    ch.port2.postMessage(null);
  });
}

/** A speed: steps per second, Infinity for unlimited. */
export function checkSpeed(stepsPerSecond: unknown): number {
  if (stepsPerSecond === null) return Number.POSITIVE_INFINITY;
  if (typeof stepsPerSecond !== 'number' || Number.isNaN(stepsPerSecond) || !(stepsPerSecond > 0)) {
    throw GibbsError.invalid(
      'speed',
      stepsPerSecond,
      'steps per second > 0, or Infinity (null) for unlimited',
    );
  }
  return stepsPerSecond;
}

export interface RunControlOptions {
  /** Start paused (true) or running (false). */
  paused?: boolean;
  /** Steps per second, Infinity for unlimited (default). */
  speed?: number;
  /** Longest stretch of steps between two yields to the event loop, in ms (default 8). */
  sliceMs?: number;
}

interface StepWaiter {
  target: number;
  resolve: (done: number) => void;
  reject: (err: unknown) => void;
}

export class RunControl implements StepGate {
  /** Steps completed. */
  done = 0;
  /** Called whenever the loop is about to wait or yield (between steps). */
  onIdle: (() => void) | null = null;
  private paused: boolean;
  private budget = 0;
  private stopped = false;
  private speed: number;
  private readonly sliceMs: number;
  private sliceStart = now();
  private paceEpoch = now();
  private paceBase = 0;
  private wake: (() => void) | null = null;
  private waiters: StepWaiter[] = [];

  constructor(opts: RunControlOptions = {}) {
    this.paused = opts.paused ?? false;
    this.speed = checkSpeed(opts.speed ?? Number.POSITIVE_INFINITY);
    this.sliceMs = opts.sliceMs ?? 8;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  get stepsPerSecond(): number {
    return this.speed;
  }

  pause(): void {
    this.paused = true;
    this.budget = 0;
    this.poke();
  }

  resume(): void {
    if (this.stopped) return;
    this.paused = false;
    this.budget = 0;
    this.resetPace();
    this.poke();
  }

  /** Pause, then take exactly `n` more steps; resolves with the step count when they are done. */
  step(n: number): Promise<number> {
    if (!Number.isInteger(n) || n < 1) throw GibbsError.invalid('step.n', n, 'an integer >= 1');
    this.paused = true;
    this.budget += n;
    const target = this.done + this.budget;
    if (this.stopped) return Promise.resolve(this.done);
    const p = new Promise<number>((resolve, reject) => {
      this.waiters.push({ target, resolve, reject });
    });
    this.resetPace();
    this.poke();
    return p;
  }

  setSpeed(stepsPerSecond: number): void {
    this.speed = checkSpeed(stepsPerSecond);
    this.resetPace();
    this.poke();
  }

  /** End the run: the loop stops before its next step; step(n) promises settle. */
  stop(err?: unknown): void {
    this.stopped = true;
    this.poke();
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) {
      if (err === undefined) w.resolve(this.done);
      else w.reject(err);
    }
  }

  beforeStep(next: number): boolean | Promise<boolean> {
    // Fast path, taken by almost every step of an unpaced run.
    if (
      !this.paused &&
      !this.stopped &&
      this.speed === Number.POSITIVE_INFINITY &&
      now() - this.sliceStart < this.sliceMs
    )
      return true;
    return this.gate(next);
  }

  afterStep(done: number): void {
    this.done = done;
    if (this.waiters.length === 0) return;
    const keep: StepWaiter[] = [];
    for (const w of this.waiters) {
      if (w.target <= done) w.resolve(done);
      else keep.push(w);
    }
    this.waiters = keep;
  }

  private async gate(next: number): Promise<boolean> {
    for (;;) {
      if (this.stopped) return false;
      if (this.paused && this.budget === 0) {
        this.onIdle?.();
        await this.sleep(Number.POSITIVE_INFINITY);
        continue;
      }
      if (this.speed !== Number.POSITIVE_INFINITY) {
        const due = this.paceEpoch + ((next - 1 - this.paceBase) * 1000) / this.speed;
        const wait = due - now();
        // Far behind (a slow step, a long pause): restart the schedule instead of bursting.
        if (wait < -1000) this.resetPace(next - 1);
        else if (wait > 0) {
          this.onIdle?.();
          await this.sleep(wait);
          this.sliceStart = now();
          continue;
        }
      }
      if (now() - this.sliceStart >= this.sliceMs) {
        this.onIdle?.();
        await yieldToEventLoop();
        this.sliceStart = now();
        continue;
      }
      if (this.paused) this.budget--;
      return true;
    }
  }

  private resetPace(base = this.done): void {
    this.paceEpoch = now();
    this.paceBase = base;
  }

  private poke(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  /** Wait `ms` (Infinity: until poked); any control call wakes the loop early. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      this.wake = () => {
        if (timer !== undefined) clearTimeout(timer);
        resolve();
      };
      if (ms !== Number.POSITIVE_INFINITY) {
        timer = setTimeout(() => {
          this.wake = null;
          resolve();
        }, ms);
      }
    });
  }
}
