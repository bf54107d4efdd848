/**
 * battle-train / battle-eval end to end on a tiny Battle (4 vs 4 on 16x16, 15 steps a round):
 * a short run followed by --resume gives the metrics of one uninterrupted run; checkpoints are
 * tfjs model.json + weights.bin; bad checkpoints are GibbsErrors naming the file.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Experiment, metricLine, parseParams, runSimulation } from '@gibbs/core';
import { afterAll, describe, expect, it } from 'vitest';
import battleEval, { meanInterval, wilson } from './battle-eval.ts';
import battleTrain from './battle-train.ts';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'gibbs-bt-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const TINY = { map: 16, agents: 4, maxSteps: 15, config: '{"batchSize":16,"learningStarts":16}' };

async function run(exp: Experiment, raw: Record<string, unknown>, steps: number, outDir?: string) {
  const params = parseParams(exp.params, raw, exp.name);
  const sim = await exp.create({ params, seed: 11, outDir });
  const lines: string[] = [];
  try {
    await runSimulation(sim, {
      steps,
      logEvery: 1,
      onMetrics: (r) => void lines.push(metricLine(r)),
    });
    return { lines, last: sim.metrics() };
  } finally {
    await sim.dispose?.();
  }
}

/** Drop the idle steps after the last round (the metrics of a finished run repeat). */
const distinct = (lines: string[]) => lines.filter((l, i) => i === 0 || l !== lines[i - 1]);

describe('battle-train', () => {
  it('3 rounds in one run equal 2 rounds + --resume to 3 (mfq, prioritised replay)', async () => {
    const cfg = {
      ...TINY,
      algo: 'mfq',
      config: '{"batchSize":16,"learningStarts":16,"priorityAlpha":0.6}',
    };
    const whole = await run(battleTrain, { ...cfg, rounds: 3 }, 60);
    const dir = tmp();
    const first = await run(battleTrain, { ...cfg, rounds: 2, checkpointEvery: 1 }, 60, dir);
    const rest = await run(battleTrain, { ...cfg, rounds: 3, resume: dir }, 60, tmp());
    expect(distinct([...first.lines, ...rest.lines])).toEqual(distinct(whole.lines));
    expect(whole.last.values.round).toBe(3);
    const model = JSON.parse(
      readFileSync(join(dir, 'checkpoints', 'round-000002', 'learner', 'model.json'), 'utf8'),
    );
    expect(model.weightsManifest[0].paths).toEqual(['weights.bin']);
    expect(model.modelTopology.algo).toBe('mfq');
    expect(model.modelTopology.shape.view).toEqual({ height: 13, width: 13, channels: 5 });
  });

  it('--resume with another algorithm names the checkpoint', async () => {
    const dir = tmp();
    await run(battleTrain, { ...TINY, algo: 'ac', rounds: 1, config: '{"batchSize":16}' }, 20, dir);
    await expect(
      run(battleTrain, { ...TINY, algo: 'mfq', rounds: 2, resume: dir }, 5),
    ).rejects.toThrow(
      /round-000001\/state\.json was trained with --algo ac, this run has --algo mfq/,
    );
    // battle-eval plays it against itself: win rates with intervals.
    const ev = await run(
      battleEval,
      {
        red: dir,
        blue: join(dir, 'checkpoints', 'round-000001'),
        rounds: 2,
        map: 16,
        agents: 4,
        maxSteps: 15,
      },
      40,
      tmp(),
    );
    const v = ev.last.values;
    expect(v.rounds).toBe(2);
    expect(v.red_win_rate + v.blue_win_rate + v.draw_rate).toBeCloseTo(1, 12);
    expect(v.red_win_lo).toBeLessThanOrEqual(v.red_win_rate);
  });
});

describe('battle-eval statistics', () => {
  it('Wilson interval of 8 wins in 10: [0.490, 0.943]', () => {
    const [lo, hi] = wilson(8, 10);
    expect(lo).toBeCloseTo(0.4902, 3);
    expect(hi).toBeCloseTo(0.9433, 3);
  });
  it('mean interval of [1, 2, 3]: 2 +- 1.96 * 1 / sqrt(3)', () => {
    const [m, lo, hi] = meanInterval([1, 2, 3]);
    expect(m).toBe(2);
    expect(hi - m).toBeCloseTo(1.959964 / Math.sqrt(3), 9);
    expect(m - lo).toBeCloseTo(hi - m, 12);
  });
});
