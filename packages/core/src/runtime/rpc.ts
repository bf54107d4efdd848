/**
 * The engine as a set of async calls that cross a thread boundary (comlink) or not (main thread).
 * Every call answers a Result instead of throwing, so a GibbsError keeps its field and expected
 * value across the boundary (comlink alone would keep only message and stack).
 */
import type { AgentInspection, Experiment } from '../experiment.ts';
import { frameTransferables } from '../frame.ts';
import { type FrameReply, SimulationEngine, toRunError } from './engine.ts';
import type { RunError, RunInfo, Snapshot, Update } from './types.ts';

export type Result<T> = { ok: true; value: T } | { ok: false; error: RunError };

/** What a worker needs to start a run: everything is cloneable. */
export interface LoadSpec {
  /** URL of the experiment module (file: in Node; a URL the worker can import in a browser). */
  module: string;
  params?: Record<string, unknown>;
  seed?: number;
  backend?: string;
  /** A checkpoint to continue from (ExperimentContext.restore). */
  restore?: Uint8Array;
  steps?: number | null;
  logEvery?: number;
  speed?: number;
  sliceMs?: number;
  pollIntervalMs?: number;
  worker?: boolean;
}

export interface EngineRpc {
  load(spec: LoadSpec): Promise<Result<RunInfo>>;
  start(): Promise<Result<null>>;
  pause(): Promise<Result<null>>;
  resume(): Promise<Result<null>>;
  step(n: number): Promise<Result<number>>;
  setSpeed(stepsPerSecond: number): Promise<Result<null>>;
  setParam(name: string, value: unknown): Promise<Result<null>>;
  snapshot(): Promise<Result<Snapshot>>;
  /** Simulation.inspect of one agent (the viewer's inspector). */
  inspect?(group: number, slot: number): Promise<Result<AgentInspection | null>>;
  nextFrame(after: number, id: number): Promise<Result<FrameReply | null>>;
  cancelFrame(id: number): Promise<Result<null>>;
  poll(): Promise<Result<Update>>;
  /** The simulation's latest checkpoint as a tar (Simulation.checkpoint), null if it has none. */
  checkpoint?(): Promise<Result<Uint8Array | null>>;
  dispose(): Promise<Result<null>>;
}

/** Marks buffers to move rather than copy (Comlink.transfer in a worker; identity otherwise). */
export type TransferFn = <T>(value: T, buffers: Transferable[]) => T;

const noTransfer: TransferFn = (value) => value;

async function result<T>(fn: () => T | Promise<T>, step: () => number): Promise<Result<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (err) {
    return { ok: false, error: toRunError(err, step()) };
  }
}

export interface EngineRpcOptions {
  /**
   * Turns a module reference into its experiment before a URL import is tried (undefined: import
   * it). A page that bundles its experiments into its worker (the static viewer) names them
   * instead of giving URLs, so the experiment shares the worker's one copy of core and zod.
   */
  resolveExperiment?: (module: string) => Promise<Experiment | undefined>;
}

/**
 * The calls of one engine. `load` creates it (from a module URL or, in the main thread, an
 * Experiment object), unless an existing engine is given; the others act on it.
 */
export function createEngineRpc(
  transfer: TransferFn = noTransfer,
  existing: SimulationEngine | null = null,
  options: EngineRpcOptions = {},
): EngineRpc & {
  loadExperiment(experiment: Experiment, spec: Omit<LoadSpec, 'module'>): Promise<Result<RunInfo>>;
} {
  let engine: SimulationEngine | null = existing;
  const step = () => engine?.control.done ?? 0;
  const need = (): SimulationEngine => {
    if (!engine) throw new Error('engine: load() has not been called');
    return engine;
  };
  const call = <T>(fn: (e: SimulationEngine) => T | Promise<T>) => result(() => fn(need()), step);
  /** A call whose answer is only "done". */
  const act = (fn: (e: SimulationEngine) => unknown) =>
    result(async () => {
      await fn(need());
      return null;
    }, step);
  const load = (experiment: Experiment | string, spec: Omit<LoadSpec, 'module'>) =>
    result(async () => {
      if (engine) throw new Error('engine: load() was called already');
      const exp =
        typeof experiment === 'string'
          ? ((await options.resolveExperiment?.(experiment)) ?? experiment)
          : experiment;
      engine = await SimulationEngine.create(exp, spec.params ?? {}, {
        seed: spec.seed,
        backend: spec.backend,
        restore: spec.restore,
        steps: spec.steps,
        logEvery: spec.logEvery,
        speed: spec.speed,
        sliceMs: spec.sliceMs,
        pollIntervalMs: spec.pollIntervalMs,
        worker: spec.worker,
        paused: true,
      });
      void engine.run();
      return engine.info;
    }, step);
  return {
    load: (spec) => load(spec.module, spec),
    loadExperiment: (experiment, spec) => load(experiment, spec),
    start: () => act((e) => e.start()),
    pause: () => act((e) => e.pause()),
    resume: () => act((e) => e.resume()),
    step: (n) => call((e) => e.step(n)),
    setSpeed: (sps) => act((e) => e.setSpeed(sps)),
    setParam: (name, value) => act((e) => e.setParam(name, value)),
    snapshot: async () => {
      const r = await call((e) => e.snapshot());
      return r.ok && r.value.frame ? transfer(r, frameTransferables(r.value.frame)) : r;
    },
    nextFrame: async (after, id) => {
      const r = await call((e) => e.nextFrame(after, id));
      return r.ok && r.value ? transfer(r, frameTransferables(r.value.frame)) : r;
    },
    cancelFrame: (id) => act((e) => e.cancelFrame(id)),
    inspect: (group, slot) => call((e) => e.inspect(group, slot)),
    poll: () => call((e) => e.poll()),
    checkpoint: async () => {
      const r = await call((e) => e.checkpoint());
      return r.ok && r.value ? transfer(r, [r.value.buffer as ArrayBuffer]) : r;
    },
    dispose: () =>
      result(async () => {
        await engine?.dispose();
        return null;
      }, step),
  };
}
