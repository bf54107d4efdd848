/**
 * The local pool and its run processes, on a small real experiment (tiny-ising) run by the tests'
 * own entry (fixtures/run-entry.ts): runs done once each, failures, crashes and retries, reports.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { experimentFromModule } from '@gibbs/core';
import * as tinyIsing from '@gibbs/test-support/tiny-ising';
import { afterAll, describe, expect, it } from 'vitest';
import { SweepProgress } from '../src/display.ts';
import { parseGridOption } from '../src/grid.ts';
import { runLocal } from '../src/pool.ts';
import { buildReport, reportCsv, runsCsv } from '../src/report.ts';
import { RunProcess, runInChild } from '../src/spawn.ts';
import { prepareSweep, type SweepRequest } from '../src/spec.ts';
import { localStatus } from '../src/status.ts';

const FIXTURE = tinyIsing.TINY_ISING;
const ENTRY = resolve(import.meta.dirname, 'fixtures/run-entry.ts');
const tmp = mkdtempSync(join(tmpdir(), 'gibbs-sweep-local-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function until(ok: () => boolean, ms = 30_000): Promise<void> {
  const t0 = Date.now();
  while (!ok()) {
    if (Date.now() - t0 > ms) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function request(out: string, extra: Partial<SweepRequest> = {}): Promise<SweepRequest> {
  return {
    experiment: experimentFromModule(tinyIsing, FIXTURE),
    experimentRef: FIXTURE,
    grid: [parseGridOption('temperature=1.5,3.5')],
    seeds: [0, 1, 2],
    fixed: { size: '6' },
    steps: 20,
    logEvery: 5,
    version: '0.1.0',
    out,
    ...extra,
  };
}

describe('local pool', () => {
  it('runs every run once in its own directory; resubmitting skips them', async () => {
    const out = join(tmp, 'a');
    const sweep = prepareSweep(await request(out));
    expect(sweep.requested).toHaveLength(6);
    const first = await runLocal(sweep, { entry: ENTRY, concurrency: 2 });
    expect(first).toEqual({ ran: 6, skipped: 0, failed: [] });
    const run0 = join(out, 'temperature=1.5_s0');
    for (const f of ['config.json', 'metrics.jsonl', 'done.json'])
      expect(existsSync(join(run0, f))).toBe(true);
    const lines = readFileSync(join(run0, 'metrics.jsonl'), 'utf8').trim().split('\n');
    expect(lines.map((l) => JSON.parse(l).step)).toEqual([5, 10, 15, 20]);
    const config = JSON.parse(readFileSync(join(run0, 'config.json'), 'utf8'));
    expect(config).toMatchObject({ experiment: 'tiny-ising', seed: 0, steps: 20, logEvery: 5 });
    expect(config.params).toEqual({
      temperature: 1.5,
      size: 6,
      sweepsPerStep: 1,
      failAt: 0,
      crashAt: 0,
    });

    const mtime = statSync(join(run0, 'metrics.jsonl')).mtimeMs;
    // More seeds: the same directory (same settings), only the new runs run.
    const again = prepareSweep(await request(out, { seeds: [0, 1, 2, 3] }));
    expect(again.dir).toBe(sweep.dir);
    const second = await runLocal(again, { entry: ENTRY, concurrency: 2 });
    expect(second).toEqual({ ran: 2, skipped: 6, failed: [] });
    expect(statSync(join(run0, 'metrics.jsonl')).mtimeMs).toBe(mtime);

    const report = buildReport(again.dir, again.spec);
    expect(report.points.map((p) => [p.point.temperature, p.seeds])).toEqual([
      [1.5, [0, 1, 2, 3]],
      [3.5, [0, 1, 2, 3]],
    ]);
    expect(runsCsv(report).trim().split('\n')).toHaveLength(1 + 8);
    // Deep in the ordered phase |m| is near 1; far above T_c it is small.
    expect(report.points[0].stats.abs_magnetization.mean).toBeGreaterThan(0.8);
    expect(report.points[1].stats.abs_magnetization.mean).toBeLessThan(0.5);
    expect(reportCsv(report).split('\n')[0]).toBe(
      'temperature,n,abs_magnetization_mean,abs_magnetization_lo,abs_magnetization_hi,energy_mean,energy_lo,energy_hi',
    );
  }, 120_000);

  it('a run that throws fails once with its error; the others finish', async () => {
    const out = join(tmp, 'b');
    const sweep = prepareSweep(
      await request(out, { grid: [parseGridOption('failAt=0,7')], fixed: {}, seeds: [4] }),
    );
    const summary = await runLocal(sweep, { entry: ENTRY, concurrency: 2, attempts: 3 });
    expect(summary.ran).toBe(1);
    expect(summary.failed).toHaveLength(1);
    expect(summary.failed[0].run.name).toBe('failAt=7_s4');
    expect(summary.failed[0].message).toMatch(/failAt reached at step 7/);
    const error = JSON.parse(readFileSync(join(out, 'failAt=7_s4', 'error.json'), 'utf8'));
    expect(error).toMatchObject({ field: 'failAt' });
    // The failed run is not done (no done.json), so the report leaves it out.
    expect(existsSync(join(out, 'failAt=7_s4', 'done.json'))).toBe(false);
    const states = localStatus(sweep.dir, sweep.spec).map((s) => [s.run.name, s.state]);
    expect(states).toEqual([
      ['failAt=0_s4', 'done'],
      ['failAt=7_s4', 'failed'],
    ]);
    const report = buildReport(sweep.dir, sweep.spec);
    expect(report.failed.map((f) => f.run.name)).toEqual(['failAt=7_s4']);
  });

  it('a run whose process dies is tried again, then reported with how it died', async () => {
    const out = join(tmp, 'c');
    const sweep = prepareSweep(
      await request(out, { grid: [parseGridOption('crashAt=3')], fixed: {}, seeds: [0] }),
    );
    const logs: string[] = [];
    const progress = new SweepProgress('t', 1, false);
    progress.log = (line: string) => logs.push(line);
    const summary = await runLocal(sweep, { entry: ENTRY, concurrency: 1, attempts: 2, progress });
    expect(summary.failed.map((f) => f.message)).toEqual([
      'run process killed by SIGKILL before finishing',
    ]);
    expect(logs.filter((l) => l.startsWith('retry crashAt=3_s0'))).toHaveLength(1);
    // A crash is not the run's own error: no error.json, so the next submission tries again.
    expect(existsSync(join(out, 'crashAt=3_s0', 'error.json'))).toBe(false);
    expect(localStatus(sweep.dir, sweep.spec)[0].state).toBe('pending');
  });

  it('a run process does runs in turn; it exits when let go', async () => {
    const proc = new RunProcess({ entry: ENTRY });
    try {
      const job = (seed: number, failAt = 0) => ({
        experiment: FIXTURE,
        params: { size: 4, failAt },
        seed,
        steps: 10,
        logEvery: 5,
        backend: null,
        outDir: join(tmp, 'p', `s${seed}`),
      });
      const progress: number[] = [];
      const a = await proc.run(job(0), { onProgress: (d) => progress.push(d) });
      expect(a.kind).toBe('done');
      expect(progress.at(-1)).toBe(10);
      const b = await proc.run(job(1));
      expect(b).toMatchObject({ kind: 'done', steps: 10 });
      const c = await proc.run(job(2, 3));
      expect(c).toMatchObject({ kind: 'failed', error: { field: 'failAt' } });
      expect(proc.runs).toBe(3);
      expect(proc.alive).toBe(true);
      // The same run in another process gives the same metrics.
      const fresh = await runInChild(
        { ...job(1), outDir: join(tmp, 'p', 'fresh') },
        { entry: pathToFileURL(ENTRY) },
      ).outcome;
      expect(fresh).toEqual(b);
      expect(readFileSync(join(tmp, 'p', 'fresh', 'metrics.jsonl'), 'utf8')).toBe(
        readFileSync(join(tmp, 'p', 's1', 'metrics.jsonl'), 'utf8'),
      );
      const pid = proc.pid;
      proc.close();
      await until(() => {
        try {
          process.kill(pid, 0);
          return false;
        } catch {
          return true;
        }
      });
      expect(proc.alive).toBe(false);
    } finally {
      proc.kill();
    }
  });

  it('an entry that does not exist is an error before any run starts', async () => {
    const sweep = prepareSweep(await request(join(tmp, 'e'), { seeds: [0] }));
    await expect(
      runLocal(sweep, { entry: join(tmp, 'no-such-entry.ts'), concurrency: 1 }),
    ).rejects.toThrow(/run process entry .*no-such-entry\.ts does not exist/);
    expect(() => new RunProcess({ entry: new URL('file:///no/such/entry.js') })).toThrow(
      /does not exist/,
    );
    expect(existsSync(join(tmp, 'e', sweep.requested[0].name))).toBe(false);
  });

  it('refuses a sweep directory that holds other settings', async () => {
    const out = join(tmp, 'a');
    await expect(request(out, { steps: 21 }).then(prepareSweep)).rejects.toThrow(
      /holds sweep .* not these settings/,
    );
  });
});
