/**
 * The runtime (packages/core/src/runtime): what running a simulation behind a handle costs.
 *   1. Step overhead: Battle (random play) advanced by a plain loop (in this thread and in a bare
 *      worker thread), through a main-thread handle and through a worker handle, at 2x1k and
 *      2x100k agents (ms per step). "worker handle / bare worker" is the runtime's own cost;
 *      "bare worker / direct" that of a thread of its own (a fresh V8 isolate, its own JIT).
 *   2. Frames per second delivered from a worker to the main thread, 1024x1024-cell frames
 *      (transferred, not copied), against the same frames taken in the main thread.
 *   3. Battle's split observation step (threads 2) against one thread, in a worker, at 2x100k.
 * Variants run interleaved in one process (medians of rounds), so compare ratios: the machine
 * is shared. `--quick` runs fewer steps and one round.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { type SimulationHandle, startSimulation } from '@gibbs/core/runtime';
import { experimentUrl } from '@gibbs/experiments';
import { printTable, type Row, writeResult } from './lib.ts';
import { type DirectJob, directLoop } from './runtime-direct.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BATTLE = fileURLToPath(experimentUrl('battle'));
const WALKERS = join(ROOT, 'packages/core/test/fixtures/walkers.ts');
const quick = process.argv.includes('--quick');

const SIZES = [
  {
    label: '2x1k',
    params: { map: 160, agents: 1000, maxSteps: 100_000 },
    steps: quick ? 60 : 300,
    warm: quick ? 20 : 100,
    rounds: quick ? 1 : 3,
  },
  {
    label: '2x100k',
    params: { map: 1600, agents: 100_000, maxSteps: 100_000 },
    steps: quick ? 3 : 8,
    warm: 2,
    rounds: quick ? 1 : 2,
  },
];
/**
 * ms per step of `steps` steps run by the handle, after `warm` steps (a worker is a fresh V8
 * isolate: without warm-up steps its JIT warm-up would count as runtime overhead).
 */
async function handleStep(
  worker: boolean,
  params: Record<string, unknown>,
  steps: number,
  warm: number,
  frames = false,
): Promise<number> {
  const h = await startSimulation({
    experiment: BATTLE,
    worker,
    seed: 1,
    steps: warm + steps,
    params,
  });
  try {
    await h.step(warm);
    const sub = frames ? h.frames$.subscribe(() => {}) : null;
    const t = performance.now();
    await h.start();
    await h.done;
    const ms = (performance.now() - t) / steps;
    sub?.unsubscribe();
    return ms;
  } finally {
    await h.dispose();
  }
}

async function directStep(
  params: Record<string, unknown>,
  steps: number,
  warm: number,
): Promise<number> {
  return directLoop({ battle: BATTLE, params, steps, warm });
}

/** The same plain loop in a bare worker thread (no runtime, no comlink). */
function directWorkerStep(
  params: Record<string, unknown>,
  steps: number,
  warm: number,
): Promise<number> {
  const job: DirectJob = { battle: BATTLE, params, steps, warm };
  const w = new Worker(new URL('./runtime-direct-worker.mjs', import.meta.url), {
    execArgv: [],
    workerData: job,
  });
  return new Promise<number>((resolve, reject) => {
    w.once('message', (ms: number) => resolve(ms));
    w.once('error', reject);
  }).finally(() => void w.terminate());
}

/** Median of `rounds` values of each variant, the variants interleaved (ABCD ABCD ...). */
async function interleaved(
  variants: Record<string, () => Promise<number>>,
  rounds: number,
): Promise<Record<string, number>> {
  const runs: Record<string, number[]> = {};
  for (let r = 0; r < rounds; r++) {
    for (const [name, fn] of Object.entries(variants)) {
      runs[name] ??= [];
      runs[name].push(await fn());
    }
  }
  const out: Record<string, number> = {};
  for (const [name, v] of Object.entries(runs)) {
    v.sort((a, b) => a - b);
    out[name] = v[Math.floor(v.length / 2)];
  }
  return out;
}

async function stepOverhead(): Promise<Row[]> {
  const rows: Row[] = [];
  for (const size of SIZES) {
    const m = await interleaved(
      {
        direct: () => directStep(size.params, size.steps, size.warm),
        directWorker: () => directWorkerStep(size.params, size.steps, size.warm),
        main: () => handleStep(false, size.params, size.steps, size.warm),
        worker: () => handleStep(true, size.params, size.steps, size.warm),
        workerFrames: () => handleStep(true, size.params, size.steps, size.warm, true),
      },
      size.rounds,
    );
    rows.push({
      agents: size.label,
      steps: size.steps,
      rounds: size.rounds,
      'direct ms/step': m.direct,
      'direct in bare worker': m.directWorker,
      'main handle': m.main,
      'worker handle': m.worker,
      'worker handle+frames$': m.workerFrames,
      'main handle/direct': m.main / m.direct,
      'worker handle/bare worker': m.worker / m.directWorker,
      'worker handle/direct': m.worker / m.direct,
    });
  }
  return rows;
}

/** Frames of a 1024x1024 world delivered to this thread in `seconds`. */
async function frameRate(worker: boolean, seconds: number): Promise<Row> {
  const h: SimulationHandle = await startSimulation({
    experiment: WALKERS,
    worker,
    seed: 1,
    params: { width: 1024, height: 1024, agents: 1000 },
  });
  try {
    await h.start();
    let frames = 0;
    let bytes = 0;
    const t = performance.now();
    await new Promise<void>((resolve) => {
      const sub = h.frames({ maxFps: Number.POSITIVE_INFINITY }).subscribe(({ frame }) => {
        frames++;
        bytes += frame.cells.byteLength + frame.agents.count * 27;
        if (performance.now() - t > seconds * 1000) {
          sub.unsubscribe();
          resolve();
        }
      });
    });
    const secs = (performance.now() - t) / 1000;
    const s = h.status;
    return {
      thread: worker ? 'worker -> main' : 'main (no transfer)',
      'frames/s': frames / secs,
      'MB/s': bytes / secs / 2 ** 20,
      'steps/s': s.step / secs,
      dropped: s.framesDropped,
    };
  } finally {
    await h.dispose();
  }
}

async function splitStep(): Promise<Row[]> {
  const size = SIZES[1];
  const m = await interleaved(
    {
      one: () => handleStep(true, { ...size.params, threads: 1 }, size.steps, size.warm),
      two: () => handleStep(true, { ...size.params, threads: 2 }, size.steps, size.warm),
    },
    size.rounds,
  );
  return [
    {
      agents: size.label,
      rounds: size.rounds,
      'threads 1 ms/step': m.one,
      'threads 2 ms/step': m.two,
      'speed-up': m.one / m.two,
    },
  ];
}

const overhead = await stepOverhead();
printTable('Battle step through the runtime (ms per step; ratios to a direct loop)', overhead);
const frames = [await frameRate(true, quick ? 1.5 : 4), await frameRate(false, quick ? 1.5 : 4)];
printTable('1024x1024-cell frames delivered to the main thread', frames);
const split = await splitStep();
printTable('Battle split observation step in a worker (2 cores)', split);
writeResult('runtime', { overhead, frames, split, quick });
