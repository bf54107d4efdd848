/**
 * The worker-side half of a running simulation, platform-neutral: it owns the Simulation, drives
 * it with runner.ts's loop under a RunControl, and answers a single poller (the handle) with
 * batches of metrics, episodes and status. The same class runs in the main thread, in a Node
 * worker and in a Web Worker; the CLI feeds its own loop through `hooks` instead of `run()`.
 *
 * Consumers are pulled, never pushed to: a frame is rendered only when someone asks for one
 * (`nextFrame`), and then of the newest step, so a slow consumer costs nothing and gets the latest
 * state; the steps whose frame nobody saw are counted as dropped. The engine keeps no reference to
 * any consumer beyond the pending request it will answer.
 */
import { z } from 'zod';
import { GibbsError } from '../errors.ts';
import {
  type AgentInspection,
  type EpisodeSummary,
  type Experiment,
  isExperiment,
  type MetricRecord,
  parseParams,
  type Simulation,
} from '../experiment.ts';
import type { RenderFrame } from '../frame.ts';
import { runSimulation, type StepGate } from '../runner.ts';
import { checkSpeed, now, RunControl } from './control.ts';
import type { RunError, RunInfo, RunState, RunStatus, Snapshot, Update } from './types.ts';

/** tfjs backends from fastest to surest (core/backend.ts's browser order): where a failed one falls back. */
const BACKEND_ORDER = ['webgpu', 'webgl', 'wasm', 'cpu'] as const;

export interface EngineOptions {
  seed?: number;
  /** Steps after which the run finishes; null or undefined: runs until disposed. */
  steps?: number | null;
  /** Log metrics every K steps (default 1). */
  logEvery?: number;
  /** Start running (false) or wait for start() (true, the default). */
  paused?: boolean;
  /** Steps per second, Infinity (default) for unlimited. */
  speed?: number;
  /** Longest run of steps between two yields to the event loop, ms. */
  sliceMs?: number;
  /** Least time between two updates to the poller, unless the state changes (default 30 ms). */
  pollIntervalMs?: number;
  /** Most metric records kept for a poller that does not come; older ones are dropped. */
  maxBufferedMetrics?: number;
  /** Recorded in RunInfo. */
  worker?: boolean;
}

/** What a loop driven elsewhere (runner.ts's runSimulation) feeds the engine. */
export interface RunHooks {
  control: StepGate;
  onMetrics: (r: MetricRecord) => void;
  onEpisode: (e: EpisodeSummary) => void;
  /** The loop ended, with the error that ended it if it failed. */
  onEnd?: (err?: unknown) => void | Promise<void>;
}

/** A frame and the run step it shows. */
export interface FrameReply {
  step: number;
  frame: RenderFrame;
}

interface FrameRequest {
  id: number;
  after: number;
  resolve: (reply: FrameReply | null) => void;
}

/** The exported experiment of a module (default export, or `experiment`). */
export function experimentFromModule(mod: Record<string, unknown>, ref: string): Experiment {
  const candidate = mod.default ?? mod.experiment;
  if (!isExperiment(candidate)) {
    throw new GibbsError(
      `experiment module ${ref}: it must export an experiment (defineExperiment(...)) as default or as \`experiment\`; found exports: ${Object.keys(mod).join(', ') || 'none'}`,
      'experiment',
      ref,
      'a default export made with defineExperiment',
    );
  }
  return candidate;
}

/** Import an experiment module by URL (file: URL in Node, http(s): or blob: in a browser). */
export async function importExperiment(url: string): Promise<Experiment> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(/* @vite-ignore */ url)) as Record<string, unknown>;
  } catch (err) {
    throw new GibbsError(
      `experiment module ${url}: importing the module failed: ${(err as Error).message}`,
      'experiment',
      url,
      'a module that imports without error',
      { cause: err },
    );
  }
  return experimentFromModule(mod, url);
}

export function toRunError(err: unknown, step: number): RunError {
  if (err instanceof Error) {
    const out: RunError = {
      name: err.name,
      message: err.message,
      stack: err.stack ?? null,
      step,
    };
    if (err instanceof GibbsError) {
      if (err.field !== undefined) out.field = err.field;
      if (err.expected !== undefined) out.expected = err.expected;
    }
    return out;
  }
  return { name: 'Error', message: String(err), stack: null, step };
}

/** An Error again from a RunError (a GibbsError when it was one). */
export function reviveError(e: RunError): Error {
  const err =
    e.name === 'GibbsError'
      ? new GibbsError(e.message, e.field, undefined, e.expected)
      : new Error(e.message);
  if (e.name !== 'GibbsError') err.name = e.name;
  if (e.stack) err.stack = e.stack;
  return err;
}

function liveParamInfo(exp: Experiment): RunInfo['liveParams'] {
  const shape = exp.params.shape as Record<string, z.ZodType>;
  return (exp.liveParams ?? []).map((name) => {
    let schema: Record<string, unknown> = {};
    try {
      if (shape[name])
        schema = z.toJSONSchema(shape[name], { unrepresentable: 'any' }) as Record<string, unknown>;
    } catch {
      schema = {};
    }
    return { name, schema };
  });
}

export class SimulationEngine {
  readonly control: RunControl;
  readonly info: RunInfo;
  private sim: Simulation | null = null;
  private started: boolean;
  private terminal: 'finished' | 'failed' | 'disposed' | null = null;
  private error: RunError | null = null;
  private inStep = false;
  private between: (() => void)[] = [];
  private loop: Promise<void> | null = null;
  // Poller state.
  private metrics: MetricRecord[] = [];
  private episodes: EpisodeSummary[] = [];
  private logs: string[] = [];
  private metricsDropped = 0;
  private lastMetrics: MetricRecord | null = null;
  private episode = 0;
  private poller: ((u: Update) => void) | null = null;
  private pollTimer: ReturnType<typeof setTimeout> | null = null;
  private lastPoll = 0;
  private lastPolledStep = -1;
  private stateDirty = true;
  private finalSent = false;
  private readonly pollIntervalMs: number;
  private readonly maxBufferedMetrics: number;
  // Frames.
  private frameRequests: FrameRequest[] = [];
  private framesDelivered = 0;
  private framesDropped = 0;
  private liveValues: Record<string, unknown>;
  // Backend fallback: how create() made the simulation, to make it anew on another backend.
  private remake: ((backend: string, restore?: Uint8Array) => Promise<Simulation>) | null = null;
  private notice: string | null = null;

  constructor(
    readonly experiment: Experiment,
    readonly params: Record<string, unknown>,
    opts: EngineOptions = {},
  ) {
    const steps = opts.steps ?? null;
    if (steps !== null && (!Number.isInteger(steps) || steps < 1))
      throw GibbsError.invalid('steps', steps, 'an integer >= 1, or null to run until disposed');
    const logEvery = opts.logEvery ?? 1;
    if (!Number.isInteger(logEvery) || logEvery < 1)
      throw GibbsError.invalid('logEvery', logEvery, 'an integer >= 1');
    const seed = opts.seed ?? 0;
    if (!Number.isInteger(seed) || seed < 0 || seed > 2 ** 32 - 1)
      throw GibbsError.invalid('seed', seed, 'an integer in [0, 4294967295]');
    this.started = !(opts.paused ?? true);
    this.control = new RunControl({
      paused: opts.paused ?? true,
      speed: checkSpeed(opts.speed ?? Number.POSITIVE_INFINITY),
      sliceMs: opts.sliceMs,
    });
    this.control.onIdle = () => this.idle();
    this.pollIntervalMs = opts.pollIntervalMs ?? 30;
    this.maxBufferedMetrics = opts.maxBufferedMetrics ?? 100_000;
    this.info = {
      experiment: experiment.name,
      description: experiment.description,
      seed,
      steps,
      logEvery,
      params,
      liveParams: liveParamInfo(experiment),
      backend: null,
      worker: opts.worker ?? false,
    };
    this.liveValues = Object.fromEntries(
      (experiment.liveParams ?? []).map((name) => [name, params[name]]),
    );
  }

  /**
   * Load an experiment (object or module URL), parse its parameters and create the simulation.
   * Parameters may be strings (from a command line or URL) or typed values.
   */
  static async create(
    experiment: Experiment | string,
    rawParams: Record<string, unknown>,
    opts: EngineOptions & { backend?: string; restore?: Uint8Array } = {},
  ): Promise<SimulationEngine> {
    const exp = typeof experiment === 'string' ? await importExperiment(experiment) : experiment;
    const params = parseParams(exp.params, rawParams, `experiment "${exp.name}"`) as Record<
      string,
      unknown
    >;
    const engine = new SimulationEngine(exp, params, opts);
    const make = async (backend: string | undefined, restore: Uint8Array | undefined) =>
      exp.create({
        params,
        seed: engine.info.seed,
        backend,
        restore,
        log: (line) => engine.log(line),
      });
    engine.attach(await make(opts.backend, opts.restore));
    engine.remake = make;
    return engine;
  }

  /** Give the engine its simulation (once). */
  attach(sim: Simulation): void {
    if (this.sim) throw new GibbsError('engine: a simulation is attached already', 'sim', 'twice');
    this.sim = sim;
    this.info.backend = sim.backend ?? null;
    this.info.checkpoints = typeof sim.checkpoint === 'function';
    this.stateDirty = true;
  }

  /**
   * What runSimulation needs when someone else drives the loop (the CLI): the gate and the sinks.
   * The engine then learns of the end through finish() or fail().
   */
  get hooks(): RunHooks {
    const control = this.control;
    const gate: StepGate = {
      beforeStep: (next) => {
        const go = control.beforeStep(next);
        if (typeof go === 'boolean') {
          this.inStep = go;
          return go;
        }
        return go.then((g) => {
          this.inStep = g;
          return g;
        });
      },
      afterStep: (done) => {
        this.inStep = false;
        control.afterStep(done);
        this.runBetween();
        // A consumer waiting for a frame gets this step's at once, not at the end of the slice.
        if (this.frameRequests.length > 0) this.serveFrames();
      },
    };
    return {
      control: gate,
      onMetrics: (r) => this.pushMetrics(r),
      onEpisode: (e) => this.pushEpisode(e),
    };
  }

  /** Drive the simulation with runner.ts's loop until finished, failed or disposed. */
  run(): Promise<void> {
    if (this.loop) return this.loop;
    const sim = this.requireSim();
    const h = this.hooks;
    // The loop holds this view, not the simulation: after a backend fallback it reaches the new one.
    const current: Simulation = {
      advance: () => this.advance(),
      metrics: () => this.requireSim().metrics(),
      drainEpisodes: () => this.requireSim().drainEpisodes?.() ?? [],
      frame: () => this.requireSim().frame(),
    };
    this.loop = runSimulation(current, {
      steps: this.info.steps ?? Number.POSITIVE_INFINITY,
      startStep: sim.startStep,
      logEvery: this.info.logEvery,
      control: h.control,
      onMetrics: h.onMetrics,
      onEpisode: h.onEpisode,
    }).then(
      () => {
        if (!this.terminal) this.finish();
      },
      (err: unknown) => this.fail(err),
    );
    return this.loop;
  }

  get state(): RunState {
    if (this.terminal) return this.terminal;
    if (!this.started) return 'ready';
    return this.control.isPaused ? 'paused' : 'running';
  }

  get status(): RunStatus {
    const speed = this.control.stepsPerSecond;
    return {
      state: this.state,
      step: this.control.done,
      episode: this.episode,
      speed: speed === Number.POSITIVE_INFINITY ? null : speed,
      backend: this.info.backend,
      params: { ...this.liveValues },
      framesDelivered: this.framesDelivered,
      framesDropped: this.framesDropped,
      metricsDropped: this.metricsDropped,
      error: this.error,
      notice: this.notice,
    };
  }

  /** The simulation's latest checkpoint (Simulation.checkpoint), between two steps. */
  async checkpoint(): Promise<Uint8Array | null> {
    const sim = this.requireSim();
    return (await this.betweenSteps(() => sim.checkpoint?.() ?? null)) ?? null;
  }

  /** One step; a tfjs backend that fails is replaced (fallBack) and the step taken there. */
  private async advance(): Promise<void> {
    const sim = this.requireSim();
    try {
      await sim.advance();
    } catch (err) {
      if (!(await this.fallBack(sim, err))) throw err;
    }
  }

  /**
   * The simulation failed on its tfjs backend (a WebGPU buffer that cannot be mapped, a lost
   * device): make it anew on the next backend of BACKEND_ORDER that works, from its last
   * checkpoint (Simulation.checkpoint; from the start without one), say so in the status, and
   * take the step there. A GibbsError is the experiment's own complaint, not the backend's: no
   * fallback. False when there is nothing to fall back to; the run then fails with `err`.
   */
  private async fallBack(sim: Simulation, err: unknown): Promise<boolean> {
    const failed = sim.backend;
    if (!this.remake || !failed || err instanceof GibbsError) return false;
    const at = BACKEND_ORDER.indexOf(failed as (typeof BACKEND_ORDER)[number]);
    const next = BACKEND_ORDER.slice(at + 1);
    if (next.length === 0) return false;
    const step = this.control.done + 1;
    let restore: Uint8Array | null = null;
    try {
      restore = (await sim.checkpoint?.()) ?? null;
    } catch {
      // No checkpoint to be had from a broken backend: from the start.
    }
    try {
      await sim.dispose?.();
    } catch {
      // Releasing tensors of a lost device may fail too; they are gone either way.
    }
    const why = err instanceof Error ? err.message : String(err);
    const tried: string[] = [];
    for (const backend of next) {
      try {
        const fresh = await this.remake(backend, restore ?? undefined);
        this.sim = fresh;
        this.info.backend = fresh.backend ?? backend;
        const from = restore
          ? `its last checkpoint (step ${fresh.startStep ?? 0})`
          : 'its start (no checkpoint yet)';
        this.notice = `backend ${failed} failed at step ${step} (${why.split('\n')[0]}); continued on ${this.info.backend} from ${from}`;
        this.log(this.notice);
        this.changed();
        await fresh.advance();
        return true;
      } catch (e) {
        tried.push(`${backend}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    this.log(`backend fallback after ${failed} failed found none that works: ${tried.join('; ')}`);
    return false;
  }

  // ---- control ----

  start(): void {
    this.requireLive('start');
    this.started = true;
    this.control.resume();
    this.changed();
  }

  pause(): void {
    this.requireLive('pause');
    this.started = true;
    this.control.pause();
    this.changed();
  }

  resume(): void {
    this.start();
  }

  /** Pause and take exactly n steps; resolves with the step count reached. */
  async step(n: number): Promise<number> {
    this.requireLive('step');
    this.started = true;
    const p = this.control.step(n);
    this.changed();
    return p;
  }

  setSpeed(stepsPerSecond: number): void {
    this.requireLive('setSpeed');
    this.control.setSpeed(stepsPerSecond);
    this.changed();
  }

  /** Change a live parameter between two steps; a GibbsError for an unknown name or bad value. */
  setParam(name: string, value: unknown): Promise<void> {
    this.requireLive('setParam');
    const live = this.experiment.liveParams ?? [];
    if (typeof name !== 'string' || !live.includes(name)) {
      throw GibbsError.invalid(
        'param',
        name,
        `a live parameter of "${this.experiment.name}" (${live.join(', ') || 'none'})`,
      );
    }
    const sim = this.requireSim();
    if (!sim.setParam) {
      throw new GibbsError(
        `experiment "${this.experiment.name}": parameter ${name} is declared live but the simulation has no setParam`,
        name,
        value,
        'a simulation with setParam',
      );
    }
    const field = (this.experiment.params.shape as Record<string, z.ZodType>)[name];
    const parsed = parseParams(
      z.object({ [name]: field }),
      { [name]: value },
      `experiment "${this.experiment.name}"`,
    )[name];
    return this.betweenSteps(() => {
      sim.setParam?.(name, parsed);
      this.liveValues[name] = parsed;
      this.changed();
    });
  }

  /** What the inspector shows for one agent (Simulation.inspect), between two steps. */
  inspect(group: number, slot: number): Promise<AgentInspection | null> {
    return this.betweenSteps(() => this.requireSim().inspect?.(group, slot) ?? null);
  }

  /** Status, last metrics and a frame, all of the same step. */
  snapshot(): Promise<Snapshot> {
    return this.betweenSteps(() => {
      const sim = this.requireSim();
      const frame = sim.frame();
      return {
        status: this.status,
        metrics: this.control.done > 0 ? sim.metrics() : this.lastMetrics,
        frame,
      };
    });
  }

  /**
   * The newest frame of a step after `after` (-1: any step, including step 0), as soon as there is
   * one; null when the run has ended or the request was cancelled, or the experiment draws nothing.
   */
  nextFrame(after: number, id = 0): Promise<FrameReply | null> {
    if (this.terminal && this.terminal !== 'finished') return Promise.resolve(null);
    return new Promise((resolve) => {
      this.frameRequests.push({ id, after, resolve });
      if (!this.inStep) this.serveFrames();
    });
  }

  /** Frame requests waiting for a step (0 when no consumer waits). */
  get pendingFrames(): number {
    return this.frameRequests.length;
  }

  /** Forget a pending frame request (its consumer left). */
  cancelFrame(id: number): void {
    const keep: FrameRequest[] = [];
    for (const r of this.frameRequests) {
      if (r.id === id) r.resolve(null);
      else keep.push(r);
    }
    this.frameRequests = keep;
  }

  /** Everything since the last poll, as soon as there is something (see pollIntervalMs). */
  poll(): Promise<Update> {
    if (this.poller) {
      const old = this.poller;
      this.poller = null;
      old(this.takeUpdate());
    }
    return new Promise((resolve) => {
      this.poller = resolve;
      this.flushPoll();
    });
  }

  /** Stop the run and release the simulation. */
  async dispose(): Promise<void> {
    if (this.terminal === 'disposed') return;
    this.terminal = 'disposed';
    this.control.stop();
    if (this.loop) await this.loop;
    this.endFrames();
    try {
      await this.sim?.dispose?.();
    } finally {
      this.changed();
    }
  }

  // ---- the loop's side ----

  /** The run ended by reaching its step count. */
  finish(): void {
    if (this.terminal) return;
    this.terminal = 'finished';
    this.control.stop();
    this.serveFrames();
    this.changed();
  }

  /** The run failed: the error goes to the poller with the step it happened at. */
  fail(err: unknown, step = this.control.done + 1): void {
    if (this.terminal === 'disposed') return;
    this.inStep = false;
    this.error = toRunError(err, step);
    this.terminal = 'failed';
    this.control.stop(reviveError(this.error));
    this.between = [];
    this.endFrames();
    this.changed();
  }

  log(line: string): void {
    this.logs.push(line);
    if (this.logs.length > 1000) this.logs.splice(0, this.logs.length - 1000);
    this.flushPoll();
  }

  private pushMetrics(r: MetricRecord): void {
    const copy: MetricRecord = {
      step: r.step,
      episode: r.episode,
      values: { ...r.values },
      groups: Object.fromEntries(Object.entries(r.groups).map(([g, v]) => [g, { ...v }])),
    };
    this.lastMetrics = copy;
    this.episode = r.episode;
    this.metrics.push(copy);
    if (this.metrics.length > this.maxBufferedMetrics) {
      const over = this.metrics.length - this.maxBufferedMetrics;
      this.metrics.splice(0, over);
      this.metricsDropped += over;
    }
  }

  private pushEpisode(e: EpisodeSummary): void {
    this.episodes.push(e);
    if (this.episodes.length > this.maxBufferedMetrics) this.episodes.shift();
  }

  /** The loop is about to wait: serve what waits for a quiet moment. */
  private idle(): void {
    this.serveFrames();
    this.flushPoll();
  }

  private serveFrames(): void {
    if (this.frameRequests.length === 0 || !this.sim) return;
    const step = this.control.done;
    const keep: FrameRequest[] = [];
    for (const r of this.frameRequests) {
      if (step <= r.after) {
        if (this.terminal) r.resolve(null);
        else keep.push(r);
        continue;
      }
      const frame = this.sim.frame();
      if (!frame) {
        r.resolve(null);
        continue;
      }
      if (r.after >= 0) this.framesDropped += step - r.after - 1;
      this.framesDelivered++;
      r.resolve({ step, frame });
    }
    this.frameRequests = keep;
  }

  private endFrames(): void {
    const rs = this.frameRequests;
    this.frameRequests = [];
    for (const r of rs) r.resolve(null);
  }

  /** A change the poller must hear of at once (state, speed, params, error). */
  private changed(): void {
    this.stateDirty = true;
    this.flushPoll();
  }

  private flushPoll(): void {
    if (!this.poller) return;
    const hasData =
      this.metrics.length > 0 ||
      this.episodes.length > 0 ||
      this.logs.length > 0 ||
      this.control.done !== this.lastPolledStep;
    if (!this.stateDirty && !hasData && !(this.terminal && !this.finalSent)) {
      if (this.finalSent) this.resolvePoll();
      return;
    }
    const wait = this.lastPoll + this.pollIntervalMs - now();
    if (this.stateDirty || this.terminal || wait <= 0) {
      this.resolvePoll();
      return;
    }
    this.pollTimer ??= setTimeout(() => {
      this.pollTimer = null;
      this.flushPoll();
    }, wait);
  }

  private resolvePoll(): void {
    const p = this.poller;
    if (!p) return;
    this.poller = null;
    p(this.takeUpdate());
  }

  private takeUpdate(): Update {
    if (this.pollTimer !== null) {
      clearTimeout(this.pollTimer);
      this.pollTimer = null;
    }
    const status = this.status;
    const final = this.terminal !== null;
    const u: Update = {
      metrics: this.metrics,
      episodes: this.episodes,
      logs: this.logs,
      status,
      final,
    };
    this.metrics = [];
    this.episodes = [];
    this.logs = [];
    this.stateDirty = false;
    this.lastPoll = now();
    this.lastPolledStep = status.step;
    if (final) this.finalSent = true;
    return u;
  }

  /** Run `fn` now if no step is in flight, else right after the current step. */
  private betweenSteps<T>(fn: () => T): Promise<T> {
    if (!this.inStep) {
      try {
        return Promise.resolve(fn());
      } catch (err) {
        return Promise.reject(err);
      }
    }
    return new Promise<T>((resolve, reject) => {
      this.between.push(() => {
        try {
          resolve(fn());
        } catch (err) {
          reject(err);
        }
      });
    });
  }

  private runBetween(): void {
    if (this.between.length === 0) return;
    const fns = this.between;
    this.between = [];
    for (const fn of fns) fn();
  }

  private requireSim(): Simulation {
    if (!this.sim) throw new GibbsError('engine: no simulation attached yet', 'sim', null);
    return this.sim;
  }

  private requireLive(what: string): void {
    if (this.terminal) {
      throw new GibbsError(
        `${what}: the run is ${this.terminal}${this.error ? ` (${this.error.message})` : ''}`,
        'state',
        this.terminal,
        'a run that is ready, running or paused',
      );
    }
  }
}
