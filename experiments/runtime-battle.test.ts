/**
 * Battle (experiments/battle.ts) through the runtime: the same seed and steps give identical
 * metrics in the main thread, in a Node worker, and with the split (threads: 2) step in a worker.
 * The experiment is loaded by path, so core does not depend on the env package.
 */
import { fileURLToPath } from 'node:url';
import { metricLine } from '@gibbs/core';
import { type StartOptions, startSimulation } from '@gibbs/core/runtime';
import { describe, expect, it } from 'vitest';
import { experimentUrl } from './index.ts';

const BATTLE = fileURLToPath(experimentUrl('battle'));

async function run(opts: Partial<StartOptions>) {
  const h = await startSimulation({ experiment: BATTLE, seed: 9, steps: 120, ...opts });
  const lines: string[] = [];
  const episodes: number[] = [];
  h.metrics$.subscribe((b) => {
    for (const r of b) lines.push(metricLine(r));
  });
  h.episodes$.subscribe((e) => episodes.push(e.step));
  let frames = 0;
  const sub = h.frames$.subscribe(() => frames++);
  await h.start();
  const status = await h.done;
  sub.unsubscribe();
  await h.dispose();
  return { lines, episodes, status, frames };
}

describe('battle through the runtime', () => {
  it('main thread, Node worker and the split step in a worker agree', async () => {
    const params = { map: 40, maxSteps: 50 };
    const main = await run({ worker: false, params });
    const [worker, split] = await Promise.all([
      run({ worker: true, params }),
      run({ worker: true, params: { ...params, threads: 2 } }),
    ]);
    expect(main.status.state).toBe('finished');
    expect(main.lines).toHaveLength(120);
    expect(main.episodes).toEqual([50, 100]);
    expect(worker.lines).toEqual(main.lines);
    expect(split.lines).toEqual(main.lines);
    expect(split.episodes).toEqual(main.episodes);
    expect(worker.frames).toBeGreaterThan(0);
    // The run is not trivial: agents hit each other.
    let hits = 0;
    for (const l of main.lines) {
      const r = JSON.parse(l) as { groups: Record<string, { hits_step: number }> };
      hits += r.groups.red.hits_step + r.groups.blue.hits_step;
    }
    expect(hits).toBeGreaterThan(0);
  });

  it('inspects an agent across the worker boundary', async () => {
    const h = await startSimulation({ experiment: BATTLE, seed: 9, params: { map: 40 } });
    try {
      await h.step(3);
      const a = await h.inspect?.(0, 0);
      expect(a?.group).toBe('red');
      expect(a?.slot).toBe(0);
      expect(a?.distributions.policy).toHaveLength(21);
      expect(await h.inspect?.(1, 10_000)).toBeNull();
    } finally {
      await h.dispose();
    }
  });
});
