/**
 * One call to run an experiment and get its handle, in a worker or in this thread, in Node or in
 * a browser:
 *
 *   const sim = await startSimulation({ experiment: './my-experiment.ts', seed: 1, worker: true });
 *   sim.metrics$.subscribe((batch) => plot(batch));
 *   sim.frames$.subscribe((frame) => draw(frame));
 *   await sim.start();
 *   ...
 *   await sim.dispose();
 */
import { GibbsError } from '../errors.ts';
import { type Experiment, isExperiment } from '../experiment.ts';
import { reviveError } from './engine.ts';
import { EngineHandle, type SimulationHandle } from './handle.ts';
import { createEngineRpc, type LoadSpec } from './rpc.ts';
import type { EngineTransport } from './transport.ts';
import { spawnWebWorkerEngine } from './web.ts';

export interface StartOptions {
  /**
   * The experiment: the URL or path of its module (a worker imports it itself), or, in this
   * thread only, the Experiment object.
   */
  experiment: string | URL | Experiment;
  /** Parameters (strings are parsed like command-line values); defaults fill the rest. */
  params?: Record<string, unknown>;
  seed?: number;
  /** Force a tfjs backend (initBackend); the one chosen shows in info/status.backend. */
  backend?: string;
  /** A checkpoint to continue from (SimulationHandle.checkpoint()'s tar, or a file loaded). */
  restore?: Uint8Array;
  /** Steps after which the run finishes (default: runs until disposed). */
  steps?: number | null;
  /** Log metrics every K steps (default 1). */
  logEvery?: number;
  /** Steps per second (default unlimited). */
  speed?: number;
  /** Run in a worker (Web Worker or worker_threads), default true. */
  worker?: boolean;
  /** Pace of frames$ (default 60 per second). */
  maxFps?: number;
  /** Start running at once instead of waiting for start() (default false). */
  autoStart?: boolean;
  /** Longest run of steps between two yields to the event loop, ms (default 8). */
  sliceMs?: number;
  /**
   * In a browser: make the Web Worker (a module worker whose entry calls serveEngine), instead of
   * core's own. The experiment reference then goes to that entry's resolveExperiment.
   */
  spawnWorker?: () => Worker;
}

const isNode =
  typeof process !== 'undefined' && typeof process.versions === 'object' && !!process.versions.node;

interface NodeRuntime {
  spawnNodeEngine(): EngineTransport;
  moduleUrl(ref: string | URL): string;
}

/** The Node-only half, imported only in Node (a specifier bundlers do not follow). */
async function nodeRuntime(): Promise<NodeRuntime> {
  const spec = ['..', 'node', 'worker.ts'].join('/');
  return (await import(/* @vite-ignore */ spec)) as NodeRuntime;
}

function browserModuleUrl(ref: string | URL): string {
  const base = (globalThis as { location?: { href: string } }).location?.href;
  return new URL(ref, base).href;
}

export async function startSimulation(opts: StartOptions): Promise<SimulationHandle> {
  const inWorker = opts.worker ?? true;
  const spec: Omit<LoadSpec, 'module'> = {
    params: opts.params ?? {},
    seed: opts.seed,
    backend: opts.backend,
    restore: opts.restore,
    steps: opts.steps ?? null,
    logEvery: opts.logEvery,
    speed: opts.speed,
    sliceMs: opts.sliceMs,
    worker: inWorker,
  };
  const exp = opts.experiment;
  if (isExperiment(exp)) {
    if (inWorker) {
      throw GibbsError.invalid(
        'experiment',
        exp.name,
        'the URL or path of the experiment module when worker is true (a worker imports it itself)',
      );
    }
    const rpc = createEngineRpc();
    const r = await rpc.loadExperiment(exp, spec);
    if (!r.ok) throw reviveError(r.error);
    const handle = new EngineHandle(rpc, r.value, { maxFps: opts.maxFps });
    if (opts.autoStart) await handle.start();
    return handle;
  }
  if (typeof exp !== 'string' && !(exp instanceof URL)) {
    throw GibbsError.invalid('experiment', exp, 'a module URL or path, or an Experiment object');
  }
  const node = isNode ? await nodeRuntime() : null;
  const module = node ? node.moduleUrl(exp) : browserModuleUrl(exp);
  const transport: EngineTransport | null = inWorker
    ? node
      ? node.spawnNodeEngine()
      : spawnWebWorkerEngine(opts.spawnWorker?.())
    : null;
  const rpc = transport ? transport.rpc : createEngineRpc();
  try {
    const r = await Promise.race([
      rpc.load({ ...spec, module }),
      transport?.dead ?? new Promise<never>(() => {}),
    ]);
    if (!r.ok) throw reviveError(r.error);
    const handle = new EngineHandle(rpc, r.value, {
      dead: transport?.dead,
      terminate: transport?.terminate,
      maxFps: opts.maxFps,
    });
    if (opts.autoStart) await handle.start();
    return handle;
  } catch (err) {
    transport?.terminate();
    throw err;
  }
}
