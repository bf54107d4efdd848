import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadExperiment, REPO_ROOT } from '../src/repo.ts';
import { SweepProgress } from '../src/sweep/display.ts';
import { parseGridOption } from '../src/sweep/grid.ts';
import { runLocal } from '../src/sweep/pool.ts';
import { buildReport, reportCsv, runsCsv } from '../src/sweep/report.ts';
import { RunProcess, runInChild } from '../src/sweep/spawn.ts';
import { prepareSweep, type SweepRequest } from '../src/sweep/spec.ts';
import { localStatus } from '../src/sweep/status.ts';

const FIXTURE = resolve(import.meta.dirname, 'fixtures/tiny-ising.ts');
const MAIN = join(REPO_ROOT, 'packages/cli/src/main.ts');
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
    experiment: await loadExperiment(FIXTURE),
    experimentRef: FIXTURE,
    grid: [parseGridOption('temperature=1.5,3.5')],
    seeds: [0, 1, 2],
    fixed: { size: '6' },
    steps: 20,
    logEvery: 5,
    out,
    ...extra,
  };
}

describe('local pool', () => {
  it('runs every run once in its own directory; resubmitting skips them', async () => {
    const out = join(tmp, 'a');
    const sweep = prepareSweep(await request(out));
    expect(sweep.requested).toHaveLength(6);
    const first = await runLocal(sweep, { concurrency: 2 });
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
    const second = await runLocal(again, { concurrency: 2 });
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
    const summary = await runLocal(sweep, { concurrency: 2, attempts: 3 });
    expect(summary.ran).toBe(1);
    expect(summary.failed).toHaveLength(1);
    expect(summary.failed[0].run.name).toBe('failAt=7_s4');
    expect(summary.failed[0].message).toMatch(/failAt reached at step 7/);
    const error = JSON.parse(readFileSync(join(out, 'failAt=7_s4', 'error.json'), 'utf8'));
    expect(error).toMatchObject({ field: 'failAt' });
    // The failed run keeps the rows logged before the failure, and says where it failed; it
    // is not done (no done.json), so the report leaves it out.
    expect(existsSync(join(out, 'failAt=7_s4', 'done.json'))).toBe(false);
    const config = JSON.parse(readFileSync(join(out, 'failAt=7_s4', 'config.json'), 'utf8'));
    expect(config).toMatchObject({ status: 'failed', failedAt: 7 });
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
    const summary = await runLocal(sweep, { concurrency: 1, attempts: 2, progress });
    expect(summary.failed.map((f) => f.message)).toEqual([
      'run process killed by SIGKILL before finishing',
    ]);
    expect(logs.filter((l) => l.startsWith('retry crashAt=3_s0'))).toHaveLength(1);
    // A crash is not the run's own error: no error.json, so the next submission tries again.
    expect(existsSync(join(out, 'crashAt=3_s0', 'error.json'))).toBe(false);
    expect(localStatus(sweep.dir, sweep.spec)[0].state).toBe('pending');
  });

  it('the sweep command: bad input is an error before anything runs; status and report', () => {
    const cli = (...args: string[]) =>
      spawnSync(
        process.execPath,
        ['--import', import.meta.resolve('tsx'), MAIN, 'sweep', ...args],
        {
          cwd: tmp,
          encoding: 'utf8',
        },
      );
    const unknown = cli(FIXTURE, '--grid', 'temp=1,2', '--seeds', '0', '--out', 'x');
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('has no parameter "temp"; valid parameters: temperature');
    expect(existsSync(join(tmp, 'x'))).toBe(false);
    const down = cli(FIXTURE, '--grid', 'size=4', '--queue', 'redis://127.0.0.1:1', '--out', 'y');
    expect(down.status).toBe(2);
    expect(down.stderr).toContain('cannot reach Redis at redis://127.0.0.1:1');
    expect(existsSync(join(tmp, 'y'))).toBe(false);

    const ok = cli(
      FIXTURE,
      '--grid',
      'temperature=1,4',
      '--seeds',
      '0..1',
      '--size',
      '4',
      '--steps',
      '5',
      '--out',
      'z',
      '--concurrency',
      '2',
    );
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('| temperature | seeds | abs_magnetization | energy |');
    expect(ok.stdout).toContain('4 runs done, 0 failed, 0 not finished.');
    const status = cli('status', 'z');
    expect(status.stdout).toContain('queued 0, running 0, done 4, failed 0, pending 0');
    const report = cli('report', 'z', '--metrics', 'abs_magnetization', '--csv');
    expect(report.status).toBe(0);
    const csv = report.stdout.trimEnd().split('\n');
    expect(csv[0]).toBe(
      'temperature,n,abs_magnetization_mean,abs_magnetization_lo,abs_magnetization_hi',
    );
    expect(csv.slice(1).map((l) => l.split(',').slice(0, 2).join(','))).toEqual(['1,2', '4,2']);
    expect(readFileSync(join(tmp, 'z', 'report.csv'), 'utf8')).toBe(`${csv.join('\n')}\n`);
  }, 180_000);

  it('a run process does runs in turn; it exits when let go', async () => {
    const proc = new RunProcess();
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
      const fresh = await runInChild({ ...job(1), outDir: join(tmp, 'p', 'fresh') }).outcome;
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

  it('refuses a sweep directory that holds other settings', async () => {
    const out = join(tmp, 'a');
    await expect(request(out, { steps: 21 }).then(prepareSweep)).rejects.toThrow(
      /holds sweep .* not these settings/,
    );
  });
});
