/**
 * K threads for the learners: the main thread and K-1 workers (worker_threads in Node, module Web
 * Workers in a cross-origin-isolated page), each with its own tfjs backend and a replica of every
 * registered agent's networks.
 *
 *  - Acting is data-parallel over contiguous slices of the rows: each thread writes the policies
 *    of its slice into shared memory, then the main thread draws every action from its one Rng.
 *  - An update is data-parallel over slices of the batch: every thread takes the gradient of its
 *    slice (the loss is scaled to the whole batch), the main thread adds them in thread order and
 *    takes the Adam step on its master weights.
 *  - Weights go out to the workers before a call whenever they changed (Adam steps, soft
 *    updates, copies, loads): ParamSet.version and Adam's step count say when.
 * The split depends only on the row count, the network and K, and every sum is in a fixed order,
 * so one seed and one K give byte-identical runs. A slice carries at least `minShardFlops` of
 * work: below that a thread costs more in messages and weight copies than it saves, so small
 * groups and small batches of a small network stay on this thread.
 */
import { GibbsError } from '@gibbs/core';
import * as tf from '@tensorflow/tfjs';
import { forwardFlops, type NetKind, type ObsBatch } from '../nets.ts';
import type { Compute, GroupAgent, Learner, ShardGradient, UpdateBatch } from '../policy.ts';
import type { GradientReply, Reply, Request } from './protocol.ts';

interface Port {
  postMessage(m: { id: number; req: Request }): void;
  terminate(): Promise<unknown>;
}

const isNode =
  typeof process !== 'undefined' && typeof process.versions === 'object' && !!process.versions.node;

/** Split n rows over at most k threads, each slice at least `min` rows: slice bounds. */
export function splitRows(n: number, k: number, min: number): number[] {
  const parts = Math.max(1, Math.min(k, Math.floor(n / Math.max(1, min))));
  const bounds: number[] = [];
  for (let i = 0; i <= parts; i++) bounds.push(Math.floor((i * n) / parts));
  return bounds;
}

export interface PoolOptions {
  /** FLOPs a slice must carry (default 40 M: a few milliseconds of one core). */
  minShardFlops?: number;
  /** Rows per slice of a forward pass / a gradient, instead of the FLOP rule (tests). */
  minActRows?: number;
  minGradRows?: number;
  /** Where a browser's workers fetch tfjs's wasm binaries (a folder URL ending in "/"). */
  wasmPaths?: string;
  /** The tfjs backend the workers use (default: this thread's). */
  backend?: string;
}

/** One worker: a worker_threads Worker in Node, a module Web Worker in a browser. */
async function spawn(pool: ThreadPool): Promise<Port> {
  if (isNode) {
    const { Worker } = await import('node:worker_threads');
    // The URL apart from `new Worker(...)`: bundlers would take `new Worker(new URL(...))` for a
    // Web Worker and bundle this Node-only entry for the browser.
    const entry = new URL(['.', 'node-entry.mjs'].join('/'), import.meta.url);
    const w = new Worker(entry, { execArgv: [] });
    w.on('message', (m: Reply) => pool.answer(m));
    w.on('error', (err) => pool.fail(err));
    w.on('exit', (code) => {
      if (!pool.closing) pool.fail(new Error(`a learner thread exited (code ${code})`));
    });
    return { postMessage: (m) => w.postMessage(m), terminate: () => w.terminate() };
  }
  const w = new Worker(new URL('./browser-entry.ts', import.meta.url), { type: 'module' });
  w.onmessage = (e: MessageEvent<Reply>) => pool.answer(e.data);
  w.onerror = (e: ErrorEvent) => pool.fail(new Error(`a learner thread failed: ${e.message}`));
  return {
    postMessage: (m) => w.postMessage(m),
    terminate: async () => w.terminate(),
  };
}

export class ThreadPool implements Compute {
  private readonly pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: unknown) => void }
  >();
  private nextId = 0;
  private readonly keys = new Map<GroupAgent, { key: string; sent: string }>();
  private dead: Error | null = null;
  private readonly opts: PoolOptions;

  private constructor(
    readonly threads: number,
    private readonly ports: Port[],
    opts: PoolOptions,
  ) {
    this.opts = opts;
  }

  /** K threads in all: this one and K-1 workers (Node worker_threads). */
  static async create(threads: number, opts: PoolOptions = {}): Promise<ThreadPool> {
    if (!(Number.isInteger(threads) && threads >= 1 && threads <= 64)) {
      throw GibbsError.invalid('threads', threads, 'an integer from 1 to 64');
    }
    if (threads > 1 && typeof SharedArrayBuffer !== 'function') {
      throw GibbsError.invalid(
        'threads',
        threads,
        '1 where there is no SharedArrayBuffer (a page must be cross-origin isolated: COOP/COEP)',
      );
    }
    const ports: Port[] = [];
    const pool = new ThreadPool(threads, ports, opts);
    if (threads > 1) {
      for (let i = 1; i < threads; i++) ports.push(await spawn(pool));
      await pool.all({
        op: 'init',
        backend: opts.backend ?? tf.getBackend(),
        wasmPaths: opts.wasmPaths,
      });
    }
    return pool;
  }

  closing = false;

  /** A worker's reply (called by `spawn`'s listeners). */
  answer(m: Reply): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (m.ok) p.resolve(m.value);
    else {
      const e = m.error;
      p.reject(
        e.name === 'GibbsError'
          ? new GibbsError(e.message, e.field, e.value, e.expected)
          : new Error(`learner thread: ${e.message}`),
      );
    }
  }

  fail(err: Error): void {
    this.dead ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  private call<T>(worker: number, req: Request): Promise<T> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.ports[worker].postMessage({ id, req });
    });
  }

  private all(req: Request): Promise<unknown[]> {
    return Promise.all(this.ports.map((_, i) => this.call(i, req)));
  }

  /** Give every worker a replica of `agent` (its algorithm, shape and config). */
  async register(agent: GroupAgent): Promise<void> {
    if (this.keys.has(agent)) return;
    const key = `a${this.keys.size}`;
    this.keys.set(agent, { key, sent: '' });
    await this.all({
      op: 'create',
      key,
      algo: agent.algo,
      shape: agent.shape,
      config: agent.config,
    });
    agent.compute = this;
  }

  /** Rows a slice needs: the FLOP rule, or the rows the options fix. */
  private minRows(agent: GroupAgent, gradient: boolean): number {
    const fixed = gradient ? this.opts.minGradRows : this.opts.minActRows;
    if (fixed !== undefined) return fixed;
    const ac = agent.algo === 'mfac' || agent.algo === 'ac';
    const net = (agent.config.net as NetKind | undefined) ?? 'mfrl';
    // A gradient row: the target's forward passes, the forward pass and twice its cost backward.
    const perRow = gradient
      ? 5 * forwardFlops(agent.shape, ac, net)
      : forwardFlops(agent.shape, ac, net, true);
    return Math.max(1, Math.ceil((this.opts.minShardFlops ?? 40e6) / perRow));
  }

  /** Send `agent`'s weights to the workers if they changed since they were last sent. */
  private async sync(agent: GroupAgent): Promise<string> {
    const entry = this.keys.get(agent);
    if (!entry) throw new Error('ThreadPool: agent not registered');
    const extras = Object.entries(agent.extraParams);
    const version = [
      agent.policyParams.version,
      agent.optimizer.t,
      ...extras.map(([, p]) => p.version),
    ].join('/');
    if (version !== entry.sent && this.ports.length > 0) {
      const sets: Record<string, Float32Array> = { policy: agent.policyParams.flat() };
      for (const [name, p] of extras) sets[name] = p.flat();
      await this.all({ op: 'weights', key: entry.key, sets });
    }
    entry.sent = version;
    return entry.key;
  }

  async policy(agent: GroupAgent, obs: ObsBatch, temperature: number, probs: Float32Array) {
    const b = splitRows(obs.n, this.threads, this.minRows(agent, false));
    if (b.length === 2) {
      agent.policyRows(obs, 0, obs.n, temperature, probs);
      return;
    }
    if (
      !(
        probs.buffer instanceof SharedArrayBuffer &&
        obs.features.buffer instanceof SharedArrayBuffer
      )
    ) {
      throw new Error(
        'ThreadPool.policy: rows and policies must be on shared memory (sharedFloat32)',
      );
    }
    const key = await this.sync(agent);
    const jobs: Promise<unknown>[] = [];
    for (let k = 1; k + 1 < b.length; k++) {
      jobs.push(
        this.call(k - 1, { op: 'policy', key, obs, lo: b[k], hi: b[k + 1], temperature, probs }),
      );
    }
    agent.policyRows(obs, b[0], b[1], temperature, probs);
    await Promise.all(jobs);
  }

  async gradient(learner: Learner, u: UpdateBatch, temperature: number): Promise<ShardGradient> {
    const b = splitRows(u.n, this.threads, this.minRows(learner, true));
    if (b.length === 2) return learner.gradient(u, 0, u.n, temperature);
    const key = await this.sync(learner);
    const jobs: Promise<GradientReply>[] = [];
    for (let k = 1; k + 1 < b.length; k++) {
      jobs.push(
        this.call<GradientReply>(k - 1, {
          op: 'gradient',
          key,
          u,
          lo: b[k],
          hi: b[k + 1],
          temperature,
        }),
      );
    }
    const mine = learner.gradient(u, b[0], b[1], temperature);
    const others = await Promise.all(jobs);
    // Add the shards in thread order: the same sum whatever order they finished in.
    const sum = mine.grad;
    let loss = mine.loss;
    let qSum = mine.qSum;
    for (const o of others) {
      for (let i = 0; i < sum.length; i++) sum[i] += o.grad[i];
      loss += o.loss;
      qSum += o.qSum;
    }
    let td: Float32Array | null = null;
    if (mine.td) {
      td = new Float32Array(u.n);
      td.set(mine.td, 0);
      others.forEach((o, k) => {
        if (o.td) td?.set(o.td, b[k + 1]);
      });
    }
    return { grad: sum, loss, qSum, td };
  }

  /** Stop the workers (the agents themselves belong to their owners). */
  async dispose(): Promise<void> {
    this.closing = true;
    await Promise.all(this.ports.map((p) => p.terminate()));
    this.fail(new Error('the thread pool was disposed'));
  }
}
