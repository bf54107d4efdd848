/**
 * battle-train as it runs in a page (no run directory: its files in memory): the checkpoint it
 * hands out is a tar that continues the run exactly, and a tfjs backend that fails mid-run is
 * replaced by the next one, from that checkpoint, with a notice (the runtime's engine).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { metricLine, parseParams, runSimulation, SimulationEngine, untar } from '@gibbs/core';
import { afterAll, describe, expect, it } from 'vitest';
import battleTrain from './battle-train.ts';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const TINY = {
  map: 16,
  agents: 4,
  maxSteps: 15,
  threads: 1,
  checkpointEvery: 1,
  config: '{"batchSize":16,"learningStarts":16}',
};

/** Steps of a run (`restore` given: continued from that checkpoint), its metric lines and its checkpoint. */
async function run(rounds: number, steps: number, restore?: Uint8Array) {
  const params = parseParams(battleTrain.params, { ...TINY, rounds }, 'battle-train');
  const sim = await battleTrain.create({ params, seed: 5, restore });
  const lines: string[] = [];
  try {
    await runSimulation(sim, {
      steps,
      startStep: sim.startStep,
      logEvery: 1,
      onMetrics: (r) => void lines.push(metricLine(r)),
    });
    return { lines, startStep: sim.startStep ?? 0, checkpoint: await sim.checkpoint?.() };
  } finally {
    await sim.dispose?.();
  }
}

describe('battle-train in a page', () => {
  it('its checkpoint is a tar of the round directory, which the system tar unpacks', async () => {
    const { checkpoint } = await run(2, 30);
    expect(checkpoint).toBeInstanceOf(Uint8Array);
    const names = untar(checkpoint as Uint8Array).map(([n]) => n);
    for (const f of ['state.json', 'learner/model.json', 'learner/weights.bin', 'replay.bin'])
      expect(names).toContain(f);
    const dir = mkdtempSync(join(tmpdir(), 'gibbs-ck-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'ck.tar'), checkpoint as Uint8Array);
    mkdirSync(join(dir, 'out'));
    execFileSync('tar', ['-xf', join(dir, 'ck.tar'), '-C', join(dir, 'out')]);
    expect(readdirSync(join(dir, 'out'))).toContain('learner-optimizer');
  });

  it('2 rounds, then restore from the checkpoint to 3 rounds, equal 3 rounds in one run', async () => {
    const whole = await run(3, 45);
    const first = await run(2, 30);
    const rest = await run(3, 45, first.checkpoint as Uint8Array);
    expect(rest.startStep).toBe(30);
    expect([...first.lines, ...rest.lines]).toEqual(whole.lines);
  });

  it('a backend that fails mid-run: the run goes on on the next backend, from its checkpoint, and says so', async () => {
    const engine = await SimulationEngine.create(
      battleTrain,
      { ...TINY, rounds: 3 },
      { seed: 5, steps: 45, paused: false, backend: 'faulty:3000' },
    );
    const logs: string[] = [];
    const update = () => engine.poll();
    await engine.run();
    const u = await update();
    logs.push(...u.logs);
    const status = engine.status;
    expect(status.error).toBeNull();
    expect(status.state).toBe('finished');
    expect(status.notice).toMatch(
      /^backend faulty failed at step \d+ \(faulty backend: kernel \w+ failed after 3000 kernel calls.*\); continued on wasm from its last checkpoint \(step (15|30)\)$/,
    );
    expect(engine.info.backend).toBe('wasm');
    expect(logs.join('\n')).toContain('continued on wasm');
    // Trained to the end on the new backend.
    expect(engine.status.step).toBe(45);
    await engine.dispose();
  });
});
