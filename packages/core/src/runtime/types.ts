/**
 * The plain data a running simulation reports: what the run is (RunInfo), where it stands
 * (RunStatus), what went wrong (RunError). All of it is structured-cloneable and JSON-safe (speed
 * Infinity travels as null), so the same objects cross a worker boundary and a WebSocket.
 */
import type { EpisodeSummary, MetricRecord } from '../experiment.ts';
import type { RenderFrame } from '../frame.ts';

export type RunState = 'ready' | 'running' | 'paused' | 'finished' | 'failed' | 'disposed';

/** A state from which a run never moves again. */
export function isTerminal(state: RunState): boolean {
  return state === 'finished' || state === 'failed' || state === 'disposed';
}

export interface RunInfo {
  experiment: string;
  description: string;
  seed: number;
  /** Steps the run stops after, or null to run until disposed. */
  steps: number | null;
  logEvery: number;
  /** The resolved parameters the run started with. */
  params: Record<string, unknown>;
  /** Parameters that may change while the run goes on, with their JSON schema (for controls). */
  liveParams: { name: string; schema: Record<string, unknown> }[];
  /** The tfjs backend the simulation computes on (Simulation.backend), null if it uses none. */
  backend: string | null;
  /** True when the simulation runs in a worker. */
  worker: boolean;
  /** The simulation keeps checkpoints (Simulation.checkpoint): a page offers to save them. */
  checkpoints?: boolean;
}

export interface RunError {
  name: string;
  message: string;
  stack: string | null;
  /** The step that was being taken when the error happened (done + 1), or the last step done. */
  step: number;
  /** GibbsError details, when the error was one. */
  field?: string;
  expected?: string;
}

export interface RunStatus {
  state: RunState;
  /** Steps completed. */
  step: number;
  /** Episode of the last logged step. */
  episode: number;
  /** Steps per second, null for unlimited. */
  speed: number | null;
  backend: string | null;
  /** Current values of the live parameters. */
  params: Record<string, unknown>;
  /** Frames handed to consumers, and frames of steps that no consumer saw (back-pressure). */
  framesDelivered: number;
  framesDropped: number;
  /** Metric records thrown away because nobody collected them (bounded buffer); normally 0. */
  metricsDropped: number;
  error: RunError | null;
  /**
   * The last thing the run wants its watcher to know that is not an error: a tfjs backend that
   * failed and the one the run went on with, from which checkpoint.
   */
  notice?: string | null;
}

/** The state of a run at one moment, taken between two steps. */
export interface Snapshot {
  status: RunStatus;
  /** Metrics of the last step (null before the first step). */
  metrics: MetricRecord | null;
  frame: RenderFrame | null;
}

/** What the engine hands to its poller: everything since the previous poll. */
export interface Update {
  metrics: MetricRecord[];
  episodes: EpisodeSummary[];
  logs: string[];
  status: RunStatus;
  /** The run has ended (finished, failed or disposed): no update follows. */
  final: boolean;
}
