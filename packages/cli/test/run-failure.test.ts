import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineExperiment, GibbsError, type Simulation } from '@gibbs/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { executeRun } from '../src/run.ts';

/** A counter that throws at a chosen step: enough to exercise the run directory's guarantees. */
const counter = defineExperiment({
  name: 'counter',
  description: 'counts steps; throws at failAt',
  params: z.object({ failAt: z.number().int().default(0) }),
  create: ({ params }): Simulation => {
    let step = 0;
    return {
      advance() {
        step++;
        if (step === params.failAt) throw new RangeError('boom in user code');
      },
      metrics: () => ({ step, episode: 0, values: { count: step }, groups: {} }),
      frame: () => null,
    };
  },
});

describe('executeRun in a run directory', () => {
  it('a run that fails names the step, keeps the cause, and keeps the rows logged before it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gibbs-run-'));
    const err = await executeRun({
      experiment: counter,
      rawParams: { failAt: '3' },
      steps: 10,
      seed: 2,
      logEvery: 1,
      outDir: dir,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GibbsError);
    expect((err as GibbsError).message).toBe(
      'experiment "counter" failed at step 3: boom in user code',
    );
    expect((err as GibbsError).cause).toBeInstanceOf(RangeError);
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    expect(config).toMatchObject({ status: 'failed', failedAt: 3 });
    expect(readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n')).toHaveLength(2);
    expect(readdirSync(dir).sort()).toEqual(['config.json', 'metrics.jsonl']);
  });

  it('a bad parameter fails before anything is written', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'gibbs-run-')), 'out');
    await expect(
      executeRun({
        experiment: counter,
        rawParams: { failAt: '2xabc' },
        steps: 3,
        seed: 0,
        logEvery: 1,
        outDir: dir,
      }),
    ).rejects.toThrow(/--failAt: got "2xabc", expected an integer/);
    expect(() => readdirSync(dir)).toThrow();
  });
});
