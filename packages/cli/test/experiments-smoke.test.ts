/**
 * Every built-in experiment runs as `gibbs run` runs it (executeRun: params parsed, every step's
 * metrics checked finite, episodes written), small, across at least one episode boundary: what a
 * user's first `gibbs run <name>` does, for each name the registry lists.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXPERIMENT_NAMES, loadBuiltinExperiment } from '@gibbs/experiments';
import { afterAll, describe, expect, it } from 'vitest';
import { executeRun } from '../src/run.ts';

/** Small worlds, episodes of a few steps, and how many steps cross two episode boundaries. */
const SMALL: Record<string, { params: Record<string, unknown>; steps: number }> = {
  'aif-forage': {
    params: { width: 8, height: 8, agents: 6, food: 6, episodeLength: 4, policyLen: 2 },
    steps: 9,
  },
  'aif-mixed': {
    params: { width: 8, height: 8, agents: 4, rivals: 4, food: 6, episodeLength: 4, policyLen: 2 },
    steps: 9,
  },
  battle: { params: { map: 16, maxSteps: 4 }, steps: 9 },
  'battle-eval': { params: { map: 16, agents: 4, maxSteps: 4, rounds: 2, threads: 1 }, steps: 8 },
  'battle-train': {
    params: { map: 16, agents: 4, maxSteps: 4, rounds: 2, threads: 1 },
    steps: 8,
  },
  gather: { params: { map: 16, maxSteps: 4 }, steps: 9 },
  'gaussian-squeeze': { params: { agents: 20, maxSteps: 4 }, steps: 9 },
  ising: { params: { size: 8, coolSteps: 4 }, steps: 9 },
  'ising-mcmc': { params: { size: 8 }, steps: 9 },
  pursuit: { params: { map: 16, predators: 4, prey: 6, maxSteps: 4 }, steps: 9 },
  'tiger-deer': { params: { map: 16, maxSteps: 4 }, steps: 9 },
  tmaze: { params: { agents: 8 }, steps: 9 },
};

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('every built-in experiment runs under gibbs run', () => {
  it('has a small setting for each registered experiment', () => {
    expect(Object.keys(SMALL).sort()).toEqual([...EXPERIMENT_NAMES].sort());
  });

  for (const name of EXPERIMENT_NAMES) {
    it(name, async () => {
      const small = SMALL[name];
      if (!small) throw new Error(`no small setting for ${name}: add one to SMALL`);
      const experiment = await loadBuiltinExperiment(name);
      const outDir = mkdtempSync(join(tmpdir(), `gibbs-smoke-${name}-`));
      dirs.push(outDir);
      const out = await executeRun({
        experiment,
        rawParams: small.params,
        steps: small.steps,
        seed: 3,
        logEvery: 1,
        outDir,
      });
      expect(out.steps).toBe(small.steps);
      const rows = readFileSync(join(outDir, 'metrics.jsonl'), 'utf8').trim().split('\n');
      expect(rows).toHaveLength(small.steps);
      expect(JSON.parse(rows[rows.length - 1]).step).toBe(small.steps);
    }, 60_000);
  }
});
