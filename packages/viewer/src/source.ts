/**
 * What the viewer watches: a simulation in this page (a worker, or the main thread), a CLI run
 * served over a WebSocket, or a recorded replay. Each is a `SimSource`; the app only talks to this
 * interface. Its streams are RxJS observables, as the runtime's are: one stream type from the
 * simulation to the charts.
 */
import type { AgentInspection, EpisodeSummary, MetricRecord, RenderFrame } from '@gibbs/core';
import type { Observable } from 'rxjs';

export type { Observable, Unsubscribable } from 'rxjs';

export type SourceKind = 'worker' | 'main-thread' | 'remote' | 'replay';

export interface SourceStatus {
  kind: SourceKind;
  /** Experiment name (or the run's, for remote and replay). */
  experiment: string;
  running: boolean;
  /** Steps taken since the start of the run. */
  step: number;
  episode: number;
  /** Measured simulation steps per second (0 when paused). */
  stepsPerSecond: number;
  /** Target speed in steps per second; 0 means unlimited. */
  speed: number;
  /** tfjs backend the simulation computes on, or null if it does not use tfjs. */
  backend: string | null;
  /** Frames the producer dropped because the viewer had not taken the previous one yet. */
  droppedFrames: number;
  /** Set when the run failed or the connection ended. */
  failed: string | null;
  /** What the run wants the user to know that is not a failure (a tfjs backend fallback). */
  notice?: string | null;
  /** For replays: number of recorded frames and the index shown. */
  replay?: { frames: number; index: number; truncated: boolean };
}

export interface LiveParam {
  name: string;
  value: number | boolean | string;
  kind: 'number' | 'integer' | 'boolean' | 'string';
  min?: number;
  max?: number;
}

export interface SimSource {
  readonly kind: SourceKind;
  readonly frames$: Observable<RenderFrame>;
  readonly metrics$: Observable<readonly MetricRecord[]>;
  readonly status$: Observable<SourceStatus>;
  /** Summaries of finished episodes, for sources that have them. */
  readonly episodes$?: Observable<readonly EpisodeSummary[]>;
  /** Errors that do not end the source (a refused control message, a bad parameter value). */
  readonly errors$: Observable<string>;
  /** Parameters that may change while the simulation runs, with their current values. */
  liveParams(): readonly LiveParam[];
  play(): void;
  pause(): void;
  step(n: number): Promise<void>;
  /** Steps per second; 0 for as fast as possible. */
  setSpeed(stepsPerSecond: number): void;
  setParam(name: string, value: number | boolean | string): Promise<void>;
  /** The viewer took the last frame and can draw another (latest-value back-pressure). */
  requestFrame(): void;
  inspect(group: number, slot: number): Promise<AgentInspection | null>;
  /** Replays only: show recorded frame `index`. */
  seek?(index: number): void;
  /**
   * Simulations in the page only: the latest checkpoint as a tar (null before the first); the
   * source made anew with it as `restore` continues from there.
   */
  checkpoint?(): Promise<Uint8Array | null>;
  /** The simulation keeps checkpoints (the page then offers to save and load them). */
  readonly checkpoints?: boolean;
  dispose(): void;
}

/** The text of any thrown value, for a message in the page. */
export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
