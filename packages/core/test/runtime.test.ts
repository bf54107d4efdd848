/**
 * The runtime: the same run in the main thread and in a worker_threads Worker, the controls,
 * live parameters, errors, back-pressure on frames. Runs the walkers fixture (a real experiment).
 */
import { fileURLToPath } from 'node:url';
import { firstValueFrom, take, toArray } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type EpisodeSummary,
  GibbsError,
  type MetricRecord,
  metricLine,
  type RunError,
  type RunStatus,
  SimulationEngine,
} from '../src/index.ts';
import { type SimulationHandle, type StartOptions, startSimulation } from '../src/runtime/index.ts';
import walkers from './fixtures/walkers.ts';

const WALKERS = fileURLToPath(new URL('./fixtures/walkers.ts', import.meta.url));

const handles: SimulationHandle[] = [];
afterEach(async () => {
  await Promise.all(handles.splice(0).map((h) => h.dispose()));
});

async function start(
  opts: Omit<StartOptions, 'experiment'> & { experiment?: StartOptions['experiment'] },
) {
  const h = await startSimulation({ experiment: WALKERS, ...opts });
  handles.push(h);
  return h;
}

/** Collect every metric line and episode of a handle until it ends. */
function record(h: SimulationHandle): { lines: string[]; episodes: EpisodeSummary[] } {
  const lines: string[] = [];
  const episodes: EpisodeSummary[] = [];
  h.metrics$.subscribe((batch: MetricRecord[]) => {
    for (const r of batch) lines.push(metricLine(r));
  });
  h.episodes$.subscribe((e) => episodes.push(e));
  return { lines, episodes };
}

async function fullRun(worker: boolean, seed: number, steps = 300) {
  const h = await start({ worker, seed, steps, params: { agents: 30, episodeLength: 40 } });
  const rec = record(h);
  await h.start();
  const status = await h.done;
  return { ...rec, status };
}

describe('a run in the main thread and in a Node worker', () => {
  it('gives identical metrics and episodes for the same seed and steps', async () => {
    const [main, worker] = await Promise.all([fullRun(false, 11), fullRun(true, 11)]);
    expect(main.status.state).toBe('finished');
    expect(worker.status.state).toBe('finished');
    expect(main.lines).toHaveLength(300);
    expect(worker.lines).toEqual(main.lines);
    expect(main.episodes.map((e) => e.step)).toEqual([40, 80, 120, 160, 200, 240, 280]);
    expect(worker.episodes).toEqual(main.episodes);
    // The runtime adds nothing of its own: the plain runner gives the same lines.
    const sim = await walkers.create({
      params: walkers.params.parse({ agents: 30, episodeLength: 40 }),
      seed: 11,
    });
    const direct: string[] = [];
    for (let s = 0; s < 300; s++) {
      sim.advance();
      direct.push(metricLine(sim.metrics()));
    }
    expect(main.lines).toEqual(direct);
  });

  it('runs several simulations side by side, one worker each', async () => {
    const [a, b, ref] = await Promise.all([
      fullRun(true, 1, 120),
      fullRun(true, 2, 120),
      fullRun(false, 2, 120),
    ]);
    expect(b.lines).toEqual(ref.lines);
    expect(a.lines).not.toEqual(b.lines);
  });
});

describe.each([false, true])('controls (worker: %s)', (worker) => {
  it('step(n), pause, resume and live parameter changes', async () => {
    const h = await start({ worker, seed: 5 });
    const { lines } = record(h);
    expect(h.status.state).toBe('ready');
    expect(await h.step(5)).toBe(5);
    expect(await h.step(3)).toBe(8);
    const snap = await h.snapshot();
    expect(snap.status.step).toBe(8);
    expect(snap.metrics?.step).toBe(8);
    expect(snap.frame?.agents.count).toBe(100);
    // Live parameter: no walker moves at temperature 0.
    await h.setParam('temperature', 0);
    expect(await h.step(4)).toBe(12);
    await h.setParam('temperature', '2'); // strings are parsed like command-line values
    expect(await h.step(1)).toBe(13);
    await waitFor(h, (s) => s.step === 13 && s.state === 'paused');
    await until(() => lines.length === 13);
    const recs = lines.map((l) => JSON.parse(l) as MetricRecord);
    expect(recs.map((r) => r.step)).toEqual(Array.from({ length: 13 }, (_, i) => i + 1));
    expect(recs.slice(8, 12).map((r) => [r.values.temperature, r.values.moved])).toEqual(
      Array(4).fill([0, 0]),
    );
    expect(recs[12].values.temperature).toBe(2);
    expect(recs[12].values.moved).toBeGreaterThan(0);
    expect(h.status.params).toEqual({ temperature: 2 });
    // Running, then paused: the step count stops moving.
    await h.resume();
    await waitFor(h, (s) => s.state === 'running' && s.step > 40);
    await h.pause();
    const paused = (await waitFor(h, (s) => s.state === 'paused')).step;
    await sleep(60);
    expect((await h.snapshot()).status.step).toBe(paused);
    await h.resume();
    await waitFor(h, (s) => s.step > paused + 10);
    await h.dispose();
    expect(h.status.state).toBe('disposed');
    expect((await h.done).state).toBe('disposed');
  });

  it('refuses bad controls with a GibbsError, and the run goes on', async () => {
    const h = await start({ worker, seed: 1 });
    await expect(h.setParam('width', 3)).rejects.toMatchObject({
      name: 'GibbsError',
      field: 'param',
    });
    await expect(h.setParam('temperature', -1)).rejects.toThrow(/temperature/);
    await expect(h.setSpeed(0)).rejects.toBeInstanceOf(GibbsError);
    await expect(h.step(0)).rejects.toThrow(/step\.n/);
    await h.setSpeed(500);
    expect(h.status.speed === 500 || (await h.snapshot()).status.speed === 500).toBe(true);
    expect(await h.step(2)).toBe(2);
  });

  it('reports an error thrown by the simulation with its stack and step', async () => {
    const h = await start({ worker, seed: 1, params: { failAt: 7 } });
    const errors: RunError[] = [];
    h.errors$.subscribe((e) => errors.push(e));
    await h.start();
    const status = await h.done;
    expect(status.state).toBe('failed');
    expect(errors).toHaveLength(1);
    expect(errors[0].step).toBe(7);
    expect(errors[0].message).toMatch(/failAt reached at step 7/);
    expect(errors[0].stack).toMatch(/advance/);
    expect(status.step).toBe(6);
    await expect(h.step(1)).rejects.toThrow(/failed/);
  });

  it('rejects bad parameters at start with the parameter named', async () => {
    await expect(start({ worker, params: { agents: -3 } })).rejects.toMatchObject({
      name: 'GibbsError',
      field: 'agents',
    });
    await expect(start({ worker, params: { nope: 1 } })).rejects.toThrow(
      /unknown parameter --nope/,
    );
  });
});

describe('dispose', () => {
  it('releases the simulation, also after the run finished', async () => {
    let disposed = 0;
    const counted = {
      ...walkers,
      create: async (ctx: Parameters<typeof walkers.create>[0]) => {
        const sim = await walkers.create(ctx);
        return Object.assign(sim, { dispose: () => void disposed++ });
      },
    } as typeof walkers;
    const h = await startSimulation({ experiment: counted, worker: false, steps: 5 });
    await h.start();
    expect((await h.done).state).toBe('finished');
    await h.dispose();
    expect(disposed).toBe(1);
    expect(h.status.state).toBe('disposed');
    await h.dispose(); // twice is harmless
    expect(disposed).toBe(1);
    await expect(h.step(1)).rejects.toThrow(/disposed/);
  });
});

describe('faults in a worker', () => {
  it('a worker that dies (uncaught error) fails the run; nothing hangs', async () => {
    const h = await start({ worker: true, seed: 1, params: { crashAt: 3 } });
    const errors = firstValueFrom(h.errors$);
    await h.start();
    const status = await h.done;
    expect(status.state).toBe('failed');
    expect((await errors).message).toMatch(/crashAt reached/);
    await expect(h.step(1)).rejects.toThrow();
    await h.dispose();
  });

  it('an experiment module that does not exist is an error naming it', async () => {
    await expect(start({ worker: true, experiment: '/nonexistent/exp.ts' })).rejects.toThrow(
      /nonexistent\/exp\.ts/,
    );
  });

  it('an Experiment object cannot go to a worker', async () => {
    await expect(startSimulation({ experiment: walkers, worker: true })).rejects.toMatchObject({
      field: 'experiment',
    });
  });
});

describe('frames', () => {
  it('a slow consumer gets the newest frames; the dropped count rises', async () => {
    const h = await start({ worker: true, seed: 2, params: { width: 64, height: 64 } });
    await h.start();
    const seen: { step: number; statusStep: number; dropped: number }[] = [];
    await new Promise<void>((resolve) => {
      const sub = h.frames().subscribe(({ step }) => {
        seen.push({ step, statusStep: h.status.step, dropped: h.status.framesDropped });
        busy(25); // a consumer slower than the producer
        if (seen.length === 8) {
          sub.unsubscribe();
          resolve();
        }
      });
    });
    const steps = seen.map((s) => s.step);
    for (let i = 1; i < steps.length; i++) {
      expect(steps[i]).toBeGreaterThan(steps[i - 1] + 1); // frames were skipped, not queued
      // The frame asked for after the previous one was the newest step: never older than what
      // the status already reported when the consumer asked.
      expect(steps[i]).toBeGreaterThanOrEqual(seen[i - 1].statusStep);
    }
    const final = await waitFor(h, (s) => s.framesDelivered >= 8);
    expect(final.framesDropped).toBeGreaterThan(0);
    expect(final.framesDropped).toBeGreaterThanOrEqual(seen[3].dropped);
  });

  it('frames cross from the worker without copying (transferred buffers)', async () => {
    const h = await start({ worker: true, seed: 2 });
    await h.step(3);
    const { frame, step } = await firstValueFrom(h.frames());
    expect(step).toBe(3);
    expect(frame.cells).toHaveLength(32 * 32);
    expect(frame.agents.count).toBe(100);
    // Cells hold each walker's group code.
    let red = 0;
    for (let i = 0; i < frame.agents.count; i++) {
      const code = frame.cells[frame.agents.y[i] * 32 + frame.agents.x[i]];
      expect(code).toBeGreaterThan(0);
      if (frame.agents.group[i] === 0) red++;
    }
    expect(red).toBe(50);
  });

  it('frames$ is shared and paced; a consumer that leaves leaves nothing behind', async () => {
    const engine = await SimulationEngine.create(walkers, {}, { seed: 1 });
    void engine.run();
    const p = engine.nextFrame(-1, 1);
    expect((await p)?.step).toBe(0);
    const pending = engine.nextFrame(0, 2); // paused at step 0: waits for a step
    expect(engine.pendingFrames).toBe(1);
    engine.cancelFrame(2);
    expect(await pending).toBeNull();
    expect(engine.pendingFrames).toBe(0);
    await engine.dispose();

    const h = await start({ worker: false, seed: 1, maxFps: 1000 });
    await h.start();
    const two = await firstValueFrom(h.frames$.pipe(take(3), toArray()));
    expect(two).toHaveLength(3);
    await h.pause();
    const sub = h.frames().subscribe(() => {});
    await sleep(20);
    sub.unsubscribe();
    await sleep(20);
    const snap = await h.snapshot();
    expect(snap.status.state).toBe('paused');
  });
});

describe('memory', () => {
  it.each([false, true])(
    'frames and metrics consumed are not kept (worker: %s)',
    async (worker) => {
      // 1 MiB of cells per frame, as many frames as the consumer takes: anything that kept the
      // delivered frames (or the updates) alive would grow by tens of MiB a second.
      const h = await start({
        worker,
        seed: 1,
        params: { width: 1024, height: 1024, agents: 200 },
      });
      let frames = 0;
      h.frames({ maxFps: Number.POSITIVE_INFINITY }).subscribe(() => frames++);
      h.metrics$.subscribe(() => {});
      await h.start();
      await sleep(500);
      const before = process.memoryUsage();
      const framesBefore = frames;
      await sleep(2500);
      const after = process.memoryUsage();
      expect(frames - framesBefore).toBeGreaterThan(40);
      expect(after.arrayBuffers - before.arrayBuffers).toBeLessThan(48 * 2 ** 20);
      expect(after.rss - before.rss).toBeLessThan(96 * 2 ** 20);
    },
  );
});

describe('backends', () => {
  it('the chosen tfjs backend shows in info and status, in a worker too', async () => {
    const h = await start({ worker: true, seed: 1, params: { tf: true, agents: 4 } });
    expect(h.info.backend).toBe('wasm');
    await h.step(2);
    expect((await h.snapshot()).status.backend).toBe('wasm');
    const c = await start({
      worker: true,
      seed: 1,
      backend: 'cpu',
      params: { tf: true, agents: 4 },
    });
    expect(c.info.backend).toBe('cpu');
    await expect(
      start({ worker: true, seed: 1, backend: 'webgl', params: { tf: true } }),
    ).rejects.toThrow(/"webgl" is not available here \(Node\); available: wasm, cpu/);
  });
});

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function busy(ms: number): void {
  const t = performance.now();
  while (performance.now() - t < ms) {
    /* a slow consumer */
  }
}

async function until(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const t = performance.now();
  while (!cond()) {
    if (performance.now() - t > timeoutMs) throw new Error('until: timed out');
    await sleep(5);
  }
}

function waitFor(h: SimulationHandle, pred: (s: RunStatus) => boolean): Promise<RunStatus> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`waitFor: timed out at ${JSON.stringify(h.status)}`)),
      15_000,
    );
    const sub = h.status$.subscribe((s) => {
      if (pred(s)) {
        clearTimeout(timer);
        queueMicrotask(() => sub.unsubscribe());
        resolve(s);
      }
    });
  });
}
