/**
 * Issue 14, run directories that stay whole: a resume continues the same metrics history (rows
 * after the checkpoint dropped, no duplicates); SIGINT/SIGTERM stop `run` and `battle-train` with
 * config.json "stopped" and exit 130/143, even when a step never ends; the startup sweep removes
 * the temp files and partial checkpoints of dead processes, and only theirs.
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { defineExperiment, GibbsError } from '@gibbs/core';
import { isPidAlive, keepLinesWhile, removeStaleFiles, writerPid } from '@gibbs/core/node';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { main as runMain } from '../src/commands/run.ts';
import { loadExperiment, REPO_ROOT } from '../src/repo.ts';
import { executeRun } from '../src/run.ts';
import { isLoopbackHost, prepareOutDir, resumeRunDir } from '../src/run-guards.ts';

const tmp = mkdtempSync(join(tmpdir(), 'gibbs-resume-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(tmp, `d${n++}`);
const read = (p: string) => readFileSync(p, 'utf8');
const steps = (text: string) =>
  text
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l).step as number);

/** A pid that is not alive: a process that has exited. */
function deadPid(): number {
  const pid = spawnSync(process.execPath, ['-e', '0']).pid ?? 0;
  expect(pid).toBeGreaterThan(0);
  expect(isPidAlive(pid)).toBe(false);
  return pid;
}

describe('keepLinesWhile', () => {
  it('keeps the leading whole rows up to the step, drops the rest and any partial line (property)', () => {
    const file = join(tmp, 'rows.jsonl');
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 50 }), { maxLength: 30 }),
        fc.integer({ min: 0, max: 60 }),
        fc.oneof(fc.constant(''), fc.constant('{"step":'), fc.string({ maxLength: 12 })),
        (raw, upTo, tail) => {
          const rows = [...raw].sort((a, b) => a - b);
          const body = rows.map((s) => `${JSON.stringify({ step: s })}\n`).join('');
          writeFileSync(file, body + tail.replace(/\n/g, ''));
          const kept = keepLinesWhile(file, (r) => (r as { step: number }).step <= upTo);
          const expected = rows.filter((s) => s <= upTo);
          expect(kept).toBe(expected.length);
          const text = read(file);
          expect(steps(text)).toEqual(expected);
          expect(text === '' || text.endsWith('\n')).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
    expect(keepLinesWhile(join(tmp, 'missing.jsonl'), () => true)).toBe(0);
    expect(existsSync(join(tmp, 'missing.jsonl'))).toBe(false);
  });
});

describe('a resume continues the same metrics history', () => {
  const small = [
    '--map',
    '16',
    '--agents',
    '4',
    '--maxSteps',
    '20',
    '--threads',
    '1',
    '--seed',
    '2',
    '--log-every',
    '5',
    '--checkpointEvery',
    '1',
    '--keepCheckpoints',
    '3',
  ];
  const train = (extra: string[]) => runMain(['battle-train', ...small, ...extra]);

  it('resumed in its own directory (no --out): the rows after the checkpoint are dropped, the file equals an uninterrupted run; another --out holds the rows from the checkpoint on', async () => {
    const whole = fresh();
    expect(await train(['--rounds', '3', '--steps', '60', '--out', whole])).toBe(0);
    // A run that went on past its first checkpoint, as a killed one would have.
    const run = fresh();
    expect(await train(['--rounds', '3', '--steps', '60', '--out', run])).toBe(0);
    const round1 = join(run, 'checkpoints', 'round-000001');
    const s1 = JSON.parse(read(join(run, 'rounds.jsonl')).split('\n')[0]).step as number;
    expect(steps(read(join(run, 'metrics.jsonl'))).some((s) => s > s1)).toBe(true);
    // ... and was killed in the middle of writing a row.
    appendFileSync(join(run, 'metrics.jsonl'), '{"step":65,"episode":3,"val');

    // Another --out: a continuation that starts after the checkpoint.
    const chunk = fresh();
    expect(
      await train(['--rounds', '3', '--steps', '60', '--resume', round1, '--out', chunk]),
    ).toBe(0);
    const chunkSteps = steps(read(join(chunk, 'metrics.jsonl')));
    expect(chunkSteps[0]).toBeGreaterThan(s1);
    const head = read(join(whole, 'metrics.jsonl'))
      .split('\n')
      .filter((l) => l && JSON.parse(l).step <= s1);
    expect([...head, ...read(join(chunk, 'metrics.jsonl')).split('\n').filter(Boolean)]).toEqual(
      read(join(whole, 'metrics.jsonl')).split('\n').filter(Boolean),
    );
    expect(JSON.parse(read(join(chunk, 'config.json')))).toMatchObject({
      status: 'finished',
      resumedAt: s1,
    });

    // No --out: the run continues in its own directory, without --overwrite. Stopped in round 2
    // (--steps), it leaves the checkpoint it resumed from as the latest: the later ones are gone
    // with the rows they went with.
    expect(await train(['--rounds', '3', '--steps', String(s1 + 7), '--resume', round1])).toBe(0);
    expect(readdirSync(join(run, 'checkpoints')).sort()).toEqual(['latest.json', 'round-000001']);
    expect(JSON.parse(read(join(run, 'checkpoints', 'latest.json')))).toMatchObject({ round: 1 });
    expect(steps(read(join(run, 'metrics.jsonl'))).at(-1)).toBe(s1 + 7);
    // Resumed again from the directory (its latest checkpoint), to the end.
    expect(await train(['--rounds', '3', '--steps', '60', '--resume', run])).toBe(0);
    expect(read(join(run, 'metrics.jsonl'))).toBe(read(join(whole, 'metrics.jsonl')));
    expect(read(join(run, 'rounds.jsonl'))).toBe(read(join(whole, 'rounds.jsonl')));
    expect(JSON.parse(read(join(run, 'config.json')))).toMatchObject({
      status: 'finished',
      resumedAt: s1,
      steps: 60,
    });
  }, 240_000);

  it('killed with SIGKILL mid-run (and mid-checkpoint), then resumed: one file, equal to an uninterrupted run', async () => {
    const args = ['--rounds', '8', '--steps', '160'];
    const whole = fresh();
    expect(await train([...args, '--out', whole])).toBe(0);
    const dir = fresh();
    const run = child(['battle-train', ...small, ...args, '--out', dir]);
    const latest = join(dir, 'checkpoints', 'latest.json');
    await until(
      () => existsSync(latest) && JSON.parse(read(latest)).round >= 2,
      () => `round 2: ${run.stderr()}`,
    );
    run.proc.kill('SIGKILL');
    await run.exit;
    const round = JSON.parse(read(latest)).round as number;
    expect(round).toBeLessThan(8);
    // As a kill in the middle of a checkpoint leaves it.
    const partial = join(dir, 'checkpoints', `.round-000009.partial-${deadPid()}`);
    mkdirSync(join(partial, 'learner'), { recursive: true });
    utimesSync(partial, new Date(0), new Date(0));
    expect(await train([...args, '--resume', dir])).toBe(0);
    expect(existsSync(partial)).toBe(false);
    const a = read(join(dir, 'metrics.jsonl')).split('\n');
    const b = read(join(whole, 'metrics.jsonl')).split('\n');
    const at = a.findIndex((l, i) => l !== b[i]);
    expect(at === -1 ? null : [at, a[at], b[at]]).toBeNull();
    expect(read(join(dir, 'metrics.jsonl'))).toBe(read(join(whole, 'metrics.jsonl')));
    expect(read(join(dir, 'rounds.jsonl'))).toBe(read(join(whole, 'rounds.jsonl')));
  }, 240_000);

  it("ctx.flush() at the end of a step writes that step's row too (a checkpoint's rows are on disk with it), once", async () => {
    const dir = fresh();
    const seen: number[][] = [];
    const flushing = defineExperiment({
      name: 'flushing',
      description: 'flushes at the end of steps 10 and 13, as a checkpoint would',
      params: z.object({}),
      create: ({ flush }) => {
        let step = 0;
        return {
          advance() {
            step++;
            if (step === 10 || step === 13) {
              flush?.();
              seen.push(steps(read(join(dir, 'metrics.jsonl'))));
            }
          },
          metrics: () => ({ step, episode: 0, values: { step }, groups: {} }),
          frame: () => null,
        };
      },
    });
    await executeRun({
      experiment: flushing,
      rawParams: {},
      steps: 20,
      seed: 0,
      logEvery: 5,
      outDir: dir,
    });
    expect(seen).toEqual([
      [5, 10],
      [5, 10],
    ]);
    expect(steps(read(join(dir, 'metrics.jsonl')))).toEqual([5, 10, 15, 20]);
  });

  it('--steps must go past the checkpoint (it counts from the start of the run)', async () => {
    const run = fresh();
    expect(await train(['--rounds', '1', '--steps', '20', '--out', run])).toBe(0);
    const s1 = JSON.parse(read(join(run, 'rounds.jsonl')).split('\n')[0]).step as number;
    const before = read(join(run, 'metrics.jsonl'));
    const err = await train(['--rounds', '2', '--steps', String(s1), '--resume', run]).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(GibbsError);
    expect((err as Error).message).toMatch(
      new RegExp(`--steps: got ${s1}, expected more than the ${s1} steps`),
    );
    expect(read(join(run, 'metrics.jsonl'))).toBe(before);
  }, 120_000);

  it('resumeRunDir and prepareOutDir: resuming from DIR continues DIR, anything else follows the --out rule', () => {
    const dir = fresh();
    mkdirSync(join(dir, 'checkpoints', 'round-000002'), { recursive: true });
    writeFileSync(join(dir, 'metrics.jsonl'), '{"step":1}\n');
    for (const r of [dir, join(dir, 'checkpoints'), join(dir, 'checkpoints', 'round-000002')])
      expect(resumeRunDir(r)).toBe(resolve(dir));
    expect(resumeRunDir('')).toBeNull();
    expect(resumeRunDir(undefined)).toBeNull();
    expect(prepareOutDir(dir, false, join(dir, 'checkpoints', 'round-000002'))).toBe('continued');
    expect(read(join(dir, 'metrics.jsonl'))).toBe('{"step":1}\n');
    expect(() => prepareOutDir(dir, false, fresh())).toThrow(/a new or empty directory/);
    expect(prepareOutDir(fresh(), false, dir)).toBe('new');
  });
});

/** `gibbs run ...` in a child process. */
function child(args: string[]) {
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', resolve(REPO_ROOT, 'packages/cli/src/main.ts'), 'run', ...args],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  proc.stderr.on('data', (d) => {
    stderr += d;
  });
  proc.stdout.resume();
  const exit = new Promise<number | null>((ok) => proc.on('exit', (code) => ok(code)));
  return { proc, exit, stderr: () => stderr };
}

async function until(cond: () => boolean, what: () => string, ms = 90_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out: ${what()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const rowsOf = (dir: string) => {
  const p = join(dir, 'metrics.jsonl');
  return existsSync(p) ? steps(read(p)) : [];
};

describe('signals', () => {
  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)(
    '%s stops battle-train between steps: rows flushed, config.json stopped, exit %i',
    async (sig, code) => {
      const dir = fresh();
      const run = child([
        'battle-train',
        '--map',
        '16',
        '--agents',
        '4',
        '--maxSteps',
        '20',
        '--threads',
        '1',
        '--rounds',
        '100000',
        '--steps',
        '2000000',
        '--log-every',
        '5',
        '--checkpointEvery',
        '2',
        '--out',
        dir,
      ]);
      // Past a checkpoint (the rows are flushed there), so a few rounds have been trained.
      await until(
        () => existsSync(join(dir, 'checkpoints', 'latest.json')),
        () => `a checkpoint: ${run.stderr()}`,
      );
      run.proc.kill(sig);
      expect(await run.exit).toBe(code);
      const config = JSON.parse(read(join(dir, 'config.json')));
      expect(config.status).toBe('stopped');
      const rows = rowsOf(dir);
      expect(rows.length).toBeGreaterThan(0);
      expect(config.stoppedAt).toBeGreaterThanOrEqual(rows.at(-1) ?? 0);
      expect(config.stoppedAt - (rows.at(-1) ?? 0)).toBeLessThan(5);
      expect(run.stderr()).toMatch(new RegExp(`stopped at step ${config.stoppedAt} \\(${sig}\\)`));
    },
    180_000,
  );

  it('a step that never ends: SIGTERM exits 143 within 5 s (+ margin), config.json stopped at the last step done', async () => {
    const dir = fresh();
    const run = child([
      resolve(REPO_ROOT, 'packages/cli/test/fixtures/stuck-step.ts'),
      '--stuckAt',
      '3',
      '--steps',
      '10',
      '--log-every',
      '1',
      '--out',
      dir,
    ]);
    await until(
      () => rowsOf(dir).length >= 2 || /step 2\b/.test(run.stderr()),
      () => `2 rows: ${run.stderr()}`,
    );
    // Rows are written out every 2 s: wait until the stuck step has begun for sure.
    await new Promise((r) => setTimeout(r, 500));
    const t0 = Date.now();
    run.proc.kill('SIGTERM');
    expect(await run.exit).toBe(143);
    expect(Date.now() - t0).toBeLessThan(15_000);
    const config = JSON.parse(read(join(dir, 'config.json')));
    expect(config).toMatchObject({ status: 'stopped', stoppedAt: 2 });
    expect(rowsOf(dir)).toEqual([1, 2]);
  }, 120_000);
});

describe('the startup sweep', () => {
  it('removes the temp files and partial checkpoints of dead processes only (property over names)', () => {
    const dead = deadPid();
    const alive = process.ppid;
    const dir = fresh();
    const ck = join(dir, 'checkpoints');
    mkdirSync(ck, { recursive: true });
    const old = (p: string) => utimesSync(p, new Date(0), new Date(0));
    const files = {
      deadTemp: join(dir, `.metrics.jsonl.${dead}.0.tmp`),
      deadConfig: join(dir, `.config.json.${dead}.12.tmp`),
      aliveTemp: join(dir, `.config.json.${alive}.0.tmp`),
      freshDead: join(dir, `.done.json.${dead}.1.tmp`),
      ours: join(dir, 'metrics.jsonl'),
      lookalike: join(dir, `.metrics.jsonl.${dead}.tmp`),
    };
    for (const p of Object.values(files)) writeFileSync(p, 'x');
    const deadPartial = join(ck, `.round-000004.partial-${dead}`);
    const alivePartial = join(ck, `.round-000006.partial-${alive}`);
    for (const p of [deadPartial, alivePartial]) {
      mkdirSync(join(p, 'learner'), { recursive: true });
      writeFileSync(join(p, 'learner', 'weights.bin'), 'w');
      old(p);
    }
    for (const [k, p] of Object.entries(files)) if (k !== 'freshDead') old(p);
    const removed = removeStaleFiles([dir, ck]).sort();
    expect(removed).toEqual([deadPartial, files.deadConfig, files.deadTemp].sort());
    for (const p of [files.aliveTemp, files.freshDead, files.ours, files.lookalike, alivePartial])
      expect(existsSync(p)).toBe(true);
    expect(removeStaleFiles([join(tmp, 'no-such-dir')])).toEqual([]);

    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), (name) => {
        const pid = writerPid(name);
        expect(pid === null || (Number.isInteger(pid) && pid >= 0)).toBe(true);
      }),
    );
    expect(writerPid(`.round-000001.partial-${dead}`)).toBe(dead);
    expect(writerPid(`.metrics.jsonl.${dead}.3.tmp`)).toBe(dead);
    expect(writerPid('round-000001')).toBeNull();
  });

  it('a run starting in a directory removes what dead processes left there before it writes', async () => {
    const dead = deadPid();
    const dir = fresh();
    const ck = join(dir, 'checkpoints');
    const partial = join(ck, `.round-000002.partial-${dead}`);
    mkdirSync(partial, { recursive: true });
    const temp = join(dir, `.metrics.jsonl.${dead}.0.tmp`);
    writeFileSync(temp, '{"step":1');
    for (const p of [partial, temp]) utimesSync(p, new Date(0), new Date(0));
    const lines: string[] = [];
    await executeRun({
      experiment: await loadExperiment('ising'),
      rawParams: { size: '4' },
      steps: 3,
      seed: 0,
      logEvery: 1,
      outDir: dir,
      log: (l) => lines.push(l),
    });
    expect(existsSync(partial)).toBe(false);
    expect(existsSync(temp)).toBe(false);
    expect(lines.join('\n')).toMatch(/removed 2 temp files of dead processes/);
  });
});

describe('--serve beyond loopback', () => {
  it('is refused without --serve-public, and warned about with it', async () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1'])
      expect(isLoopbackHost(h)).toBe(true);
    for (const h of ['0.0.0.0', '::', '192.168.1.4', '10.0.0.1', 'example.com', '128.0.0.1'])
      expect(isLoopbackHost(h)).toBe(false);
    const dir = fresh();
    const err = await runMain([
      'ising',
      '--steps',
      '2',
      '--out',
      dir,
      '--serve',
      '0.0.0.0:0',
    ]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GibbsError);
    expect((err as Error).message).toMatch(
      /--serve: got "0\.0\.0\.0:0", expected a loopback address .*--serve-public \(watchers are not authenticated\)/,
    );
    expect(existsSync(dir)).toBe(false);
    const errors: string[] = [];
    const log = console.error;
    console.error = (...a: unknown[]) => void errors.push(a.join(' '));
    try {
      expect(
        await runMain([
          'ising',
          '--size',
          '4',
          '--steps',
          '2',
          '--out',
          dir,
          '--serve',
          '0.0.0.0:0',
          '--serve-public',
        ]),
      ).toBe(0);
    } finally {
      console.error = log;
    }
    expect(errors.join('\n')).toMatch(/warning: serving on 0\.0\.0\.0:0 .*no authentication/);
    const noServe = await runMain(['ising', '--out', fresh(), '--serve-public']).catch(
      (e: unknown) => e,
    );
    expect((noServe as Error).message).toMatch(/--serve-public: got "no --serve"/);
  }, 60_000);
});
