/**
 * Battle advanced by a plain loop, no runtime: the reference of bench/runtime.bench.ts, run in
 * the bench's thread or in a bare worker_threads Worker (runtime-direct-worker.mjs), so that the
 * cost of a thread of its own (a fresh V8 isolate) and the cost of the runtime show apart.
 */
import type { Experiment } from '@gibbs/core';

export interface DirectJob {
  battle: string;
  params: Record<string, unknown>;
  steps: number;
  warm: number;
}

/** ms per step (advance + metrics, as the runner does) after `warm` untimed steps. */
export async function directLoop(job: DirectJob): Promise<number> {
  const exp = (await import(job.battle)).default as Experiment;
  const sim = await exp.create({ params: exp.params.parse(job.params), seed: 1 });
  try {
    for (let i = 0; i < job.warm; i++) {
      await sim.advance();
      sim.metrics();
    }
    const t = performance.now();
    for (let i = 0; i < job.steps; i++) {
      await sim.advance();
      sim.metrics();
    }
    return (performance.now() - t) / job.steps;
  } finally {
    await sim.dispose?.();
  }
}
