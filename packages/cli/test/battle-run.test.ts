import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GibbsError } from '@gibbs/core';
import { loadBuiltinExperiment } from '@gibbs/experiments';
import { afterAll, describe, expect, it } from 'vitest';
import { executeRun } from '../src/run.ts';

/** Battle through the CLI's run code: metrics.jsonl and config.json as `gibbs run` writes them. */
const battle = await loadBuiltinExperiment('battle');

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** `pnpm gibbs run battle --steps N --seed S --out DIR [--param value]`, through the CLI's code. */
async function run(seed: number, rawParams: Record<string, unknown> = {}, steps = 200) {
  const out = mkdtempSync(join(tmpdir(), 'gibbs-battle-'));
  dirs.push(out);
  await executeRun({ experiment: battle, rawParams, steps, seed, logEvery: 2, outDir: out });
  return {
    metrics: readFileSync(join(out, 'metrics.jsonl'), 'utf8'),
    config: JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')),
  };
}

describe('experiment battle', () => {
  it('writes byte-identical metrics.jsonl for one seed, different for another', async () => {
    const a = await run(1);
    const b = await run(1);
    const c = await run(2);
    expect(a.metrics).toBe(b.metrics);
    expect(c.metrics).not.toBe(a.metrics);
    const lines = a.metrics
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(100);
    expect(lines[0].step).toBe(2);
    expect(lines.at(-1).step).toBe(200);
    for (const name of ['red', 'blue']) {
      const g = lines.at(-1).groups[name];
      expect(Object.keys(g)).toEqual(expect.arrayContaining(['alive', 'reward_mean', 'kills']));
      expect(g.alive).toBeLessThanOrEqual(81);
    }
    expect(a.config.params).toMatchObject({ map: 45, placement: 'block', threads: 1 });
  });

  it('the metrics do not depend on the number of threads', async () => {
    const one = await run(3, { map: 40, agents: 60, placement: 'random' }, 60);
    const two = await run(3, { map: 40, agents: 60, placement: 'random', threads: 2 }, 60);
    expect(two.metrics).toBe(one.metrics);
  });

  it('starts the next episode when one ends, counting episodes', async () => {
    const { metrics } = await run(4, { map: 20, agents: 10, maxSteps: 15 }, 40);
    const lines = metrics
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const at = (step: number) => lines.find((l) => l.step === step);
    expect(at(14).episode).toBe(0);
    expect(at(14).values.episode_step).toBe(14);
    expect(at(16).episode).toBe(1);
    expect(at(16).values.episode_step).toBe(1);
    expect(at(40).episode).toBe(2);
    expect(at(40).values.episode_step).toBe(10);
    expect(at(16).groups.red.alive).toBe(10);
  });

  it('names agents, map and the maximum when the map is too small', async () => {
    const err = await run(1, { agents: '5000', map: '45' }).catch((e) => e);
    expect(err).toBeInstanceOf(GibbsError);
    expect(err.message).toMatch(/5000 agents per side.*45x45 map.*at most 90 per side/);
    const random = await run(1, { agents: '1000', map: '40', placement: 'random' }).catch((e) => e);
    expect(random.message).toMatch(/1000 agents.*40x40.*at most 722 per side/);
    const bad = await run(1, { agents: '2xabc' }).catch((e) => e);
    expect(bad).toBeInstanceOf(GibbsError);
    expect(bad.message).toMatch(/--agents.*"2xabc"/);
  });
});
