/**
 * Issue 14's reproductions, one test each: every bad input is a one-line GibbsError, quickly and
 * before anything is allocated or written; a killed or interrupted run keeps its rows; a run
 * directory never mixes two runs.
 */
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readTrainingState, resolveCheckpoint } from '@gibbs/agents/checkpoint';
import { GibbsError } from '@gibbs/core';
import { ensureDir, writeFileAtomic } from '@gibbs/core/node';
import { MAX_RUNS, oneLine, parseGridOption, parseSeeds, planRuns } from '@gibbs/sweep';
import { afterAll, describe, expect, it } from 'vitest';
import { main as aifMain } from '../src/commands/aif.ts';
import { main as runMain } from '../src/commands/run.ts';
import { loadExperiment, REPO_ROOT } from '../src/repo.ts';
import { executeRun } from '../src/run.ts';

const tmp = mkdtempSync(join(tmpdir(), 'gibbs-hardening-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(tmp, `d${n++}`);

/** A rejection that is a GibbsError with a one-line message matching `re`. */
async function refused(p: Promise<unknown>, re: RegExp): Promise<GibbsError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GibbsError);
  const msg = (err as GibbsError).message;
  expect(msg).toMatch(re);
  expect(msg).not.toContain('\n');
  return err as GibbsError;
}

describe('resources are checked before they are taken', () => {
  it('run battle --map 8192 is refused with the estimate and the free memory', async () => {
    const before = process.env.GIBBS_MEMORY_BYTES;
    process.env.GIBBS_MEMORY_BYTES = String(4 * 2 ** 30);
    try {
      const dir = fresh();
      await refused(
        runMain(['battle', '--map', '8192', '--steps', '3', '--out', dir]),
        /need about 20\.\d GiB of memory, the machine has [\d.]+ GiB free/,
      );
      expect(existsSync(dir)).toBe(false);
    } finally {
      if (before === undefined) delete process.env.GIBBS_MEMORY_BYTES;
      else process.env.GIBBS_MEMORY_BYTES = before;
    }
  });

  it("a sweep's total run count is capped before any run is planned", async () => {
    const exp = await loadExperiment('ising');
    const t0 = performance.now();
    const err = (() => {
      try {
        planRuns(
          exp,
          [parseGridOption('temperature=0.5..2.5:0.001'), parseGridOption('alpha=0.01..1:0.001')],
          {},
          parseSeeds('0..99'),
        );
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(GibbsError);
    expect((err as Error).message).toMatch(
      new RegExp(`2001 temperature x 991 alpha x 100 seeds = 198299100 runs.*at most ${MAX_RUNS}`),
    );
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it('aif replay refuses num_iter 1e9 before replaying', async () => {
    const src = JSON.parse(
      readFileSync(
        resolve(REPO_ROOT, 'packages/agents/test/conformance/pymdp/no_state_ig.json'),
        'utf8',
      ),
    );
    src.model.inference.num_iter = 1e9;
    const file = join(tmp, 'num-iter.json');
    writeFileSync(file, JSON.stringify(src));
    await refused(
      aifMain(['replay', file]),
      /model\.inference\.num_iter: got 1000000000, expected an integer in \[1, 10000\]/,
    );
  });

  it.each([
    ['/proc/x', /outside \/proc/],
    ['/proc/x/y/z', /outside \/proc/],
    ['/sys/x', /outside \/sys/],
    ['/dev/null', /outside \/dev/],
  ])('--out %s is refused at once, without recursive mkdir', async (out, re) => {
    const t0 = performance.now();
    await refused(runMain(['ising', '--steps', '2', '--out', out]), re);
    await refused(runMain(['ising', '--steps', '2', '--record', '--out', out]), re);
    expect(performance.now() - t0).toBeLessThan(5000);
  });

  it('sweep plot --svg /proc/x/y.svg (any file write under /proc) is refused', () => {
    expect(() => writeFileAtomic('/proc/x/y.svg', 'svg')).toThrow(GibbsError);
    expect(() => ensureDir('/sys/kernel/x', '--svg')).toThrow(/outside \/sys/);
  });
});

describe('one error path', () => {
  it('--out naming a file, or a path through a file, is one line', async () => {
    const file = join(tmp, 'a-file');
    writeFileSync(file, 'x');
    await refused(runMain(['ising', '--out', file]), /is a file, not a directory/);
    await refused(runMain(['ising', '--out', join(file, 'sub')]), /is a file, not a directory/);
  });

  it('--out "" is refused (it used to exit 0 writing nothing)', async () => {
    await refused(runMain(['ising', '--steps', '2', '--out', '']), /--out: got "", expected/);
  });

  it('battle-train --config null is refused', async () => {
    const exp = await loadExperiment('battle-train');
    const dir = fresh();
    await refused(
      executeRun({
        experiment: exp,
        rawParams: { config: 'null', threads: '1' },
        steps: 1,
        seed: 0,
        logEvery: 1,
        outDir: dir,
      }),
      /config: got "null", expected a JSON object of hyperparameters/,
    );
  }, 60_000);

  it('--serve on a busy port or a foreign address is one line, and writes nothing', async () => {
    const busy: Server = createServer();
    await new Promise<void>((ok) => busy.listen(0, '127.0.0.1', () => ok()));
    const port = (busy.address() as { port: number }).port;
    try {
      const dir = fresh();
      await refused(
        runMain(['ising', '--steps', '2', '--out', dir, '--serve', `127.0.0.1:${port}`]),
        /--serve: got "127\.0\.0\.1:\d+", expected a port that is free/,
      );
      expect(existsSync(dir)).toBe(false);
    } finally {
      busy.close();
    }
    await refused(
      runMain([
        'ising',
        '--steps',
        '2',
        '--out',
        fresh(),
        '--serve',
        '203.0.113.7:0',
        '--serve-public',
      ]),
      /expected an address of this machine/,
    );
  });

  it('a sweep queue error is one line, not the whole error object', () => {
    const err = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6390'), {
      code: 'ECONNREFUSED',
      errno: -111,
      syscall: 'connect',
      address: '127.0.0.1',
      port: 6390,
    });
    expect(oneLine(err)).toBe('connect ECONNREFUSED 127.0.0.1:6390');
    expect(oneLine(new Error('a\nb'))).toBe('a');
  });
});

describe('checkpoints with valid JSON but wrong types', () => {
  const round = (name: string) => {
    const run = join(tmp, name);
    const dir = join(run, 'checkpoints', 'round-000001');
    mkdirSync(dir, { recursive: true });
    return { run, dir };
  };

  it('latest.json = {} (or a path out of the folder) is one line', () => {
    const { run } = round('latest');
    for (const latest of ['{}', '{"round":1,"path":"../../etc"}', 'null', '[1]']) {
      writeFileSync(join(run, 'checkpoints', 'latest.json'), latest);
      expect(() => resolveCheckpoint(run)).toThrow(GibbsError);
      expect(() => resolveCheckpoint(run)).toThrow(/latest\.json: .*expected \{"round": N/);
    }
  });

  it('state.json with round -5 or a malformed body is one line', () => {
    const { dir } = round('state');
    const good = { format: 'gibbs-mfrl/1', algo: 'mfq' };
    const sp = { round: 3, step: 1200, rng: [1, 2, 3, 4], temperature: 0.5 };
    for (const state of [
      { ...good, selfplay: { ...sp, round: -5 } },
      { ...good, selfplay: { ...sp, step: 'x' } },
      { ...good, selfplay: null },
      { ...good },
      null,
      7,
    ]) {
      writeFileSync(join(dir, 'state.json'), JSON.stringify(state));
      expect(() => readTrainingState(dir)).toThrow(GibbsError);
      expect(() => readTrainingState(dir)).toThrow(/state\.json: missing, corrupt or not a gibbs/);
    }
    writeFileSync(join(dir, 'state.json'), JSON.stringify({ ...good, selfplay: sp }));
    expect(readTrainingState(dir)).toMatchObject({ algo: 'mfq' });
  });
});

describe('a real checkpoint, damaged', () => {
  it('battle-train --resume refuses an unknown dtype in replay.json and modelTopology null; a fresh --out resumes', async () => {
    const exp = await loadExperiment('battle-train');
    const small = { map: '16', agents: '4', maxSteps: '20', rounds: '1', threads: '1' };
    const first = fresh();
    await executeRun({
      experiment: exp,
      rawParams: { ...small, checkpointEvery: '1' },
      steps: 20,
      seed: 1,
      logEvery: 5,
      outDir: first,
    });
    const round = join(first, 'checkpoints', 'round-000001');
    const resume = (extra: Record<string, string> = {}) =>
      executeRun({
        experiment: exp,
        rawParams: { ...small, rounds: '2', resume: first, ...extra },
        steps: 40,
        seed: 1,
        logEvery: 5,
        outDir: fresh(),
      });
    const replay = join(round, 'replay.json');
    const replayText = readFileSync(replay, 'utf8');
    const head = JSON.parse(replayText);
    head.arrays[0].dtype = 'Float16Array';
    writeFileSync(replay, JSON.stringify(head));
    await refused(resume(), /replay\.json: arrays\.0\.dtype: .*expected a replay header/);
    writeFileSync(replay, replayText);
    const model = join(round, 'opponent', 'model.json');
    const modelText = readFileSync(model, 'utf8');
    writeFileSync(model, JSON.stringify({ ...JSON.parse(modelText), modelTopology: null }));
    await refused(resume(), /opponent\/model\.json: modelTopology: /);
    writeFileSync(model, modelText);
    const out = await resume();
    expect(out.steps).toBe(40);
  }, 180_000);
});

describe('values', () => {
  it('--backend is validated for every experiment', async () => {
    await refused(runMain(['battle', '--backend', 'tpu', '--out', fresh()]), /one of webgpu/);
    await refused(
      runMain(['ising', '--backend', 'cpu', '--steps', '2', '--out', fresh()]),
      /does not compute with tfjs/,
    );
  });

  it('numbers are decimal: --steps 0x10 is refused', async () => {
    for (const v of ['0x10', '0b11', '0o7', 'Infinity', ' ', '1_000'])
      await refused(runMain(['ising', '--steps', v, '--out', fresh()]), /--steps: got/);
  });

  it('--temperature 1e-300 is refused at the boundary, not at step 12', async () => {
    const dir = fresh();
    await refused(
      runMain(['ising', '--temperature', '1e-300', '--out', dir]),
      /--temperature: got 1e-300, expected a number >= 0\.01/,
    );
    expect(existsSync(dir)).toBe(false);
  });

  it('NaN in a logged metric fails the run with the step and the field', async () => {
    const exp = await loadExperiment('tmaze');
    await refused(
      executeRun({
        experiment: exp,
        rawParams: { gamma: '1e308', alpha: '1e308', agents: '4' },
        steps: 3,
        seed: 0,
        logEvery: 1,
        outDir: fresh(),
      }),
      /failed at step 1: metric values\.\w+ at step 1: got NaN, expected a finite number/,
    );
  });
});

describe('run directories', () => {
  it('a non-empty --out is refused unless --overwrite, which replaces the earlier run', async () => {
    const dir = fresh();
    await runMain(['ising', '--size', '4', '--steps', '3', '--out', dir]);
    writeFileSync(join(dir, 'frames.bin'), 'an earlier recording');
    await refused(
      runMain(['ising', '--size', '4', '--steps', '5', '--out', dir]),
      /expected a new or empty directory \(it holds config\.json, frames\.bin, metrics\.jsonl\); give --overwrite/,
    );
    expect(readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n')).toHaveLength(3);
    await runMain(['ising', '--size', '4', '--steps', '5', '--out', dir, '--overwrite']);
    expect(readdirSync(dir).sort()).toEqual(['config.json', 'metrics.jsonl']);
    expect(readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n')).toHaveLength(5);
    expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'))).toMatchObject({
      status: 'finished',
      steps: 5,
    });
  }, 30_000);

  /** `gibbs run ising` for many steps in a child process; resolves once it has logged rows. */
  function longRun(dir: string) {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        resolve(REPO_ROOT, 'packages/cli/src/main.ts'),
        'run',
        'ising',
        '--size',
        '16',
        '--steps',
        '100000000',
        '--log-every',
        '10',
        '--out',
        dir,
      ],
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const exit = new Promise<number | null>((ok) =>
      child.on('exit', (code, sig) => ok(code ?? (sig === 'SIGKILL' ? 137 : null))),
    );
    const rows = () => {
      const p = join(dir, 'metrics.jsonl');
      return existsSync(p) ? readFileSync(p, 'utf8').split('\n').filter(Boolean) : [];
    };
    const logged = async () => {
      const t0 = Date.now();
      while (rows().length < 20) {
        if (Date.now() - t0 > 60_000) throw new Error(`no rows after 60 s: ${stderr}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    return { child, exit, rows, logged, stderr: () => stderr };
  }

  it('a killed run (SIGKILL) keeps the rows written before it died, whole lines only', async () => {
    const dir = fresh();
    const run = longRun(dir);
    await run.logged();
    await new Promise((r) => setTimeout(r, 2500)); // past one 2 s flush
    run.child.kill('SIGKILL');
    expect(await run.exit).toBe(137);
    const text = readFileSync(join(dir, 'metrics.jsonl'), 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    const steps = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).step as number);
    expect(steps.length).toBeGreaterThanOrEqual(20);
    expect(steps).toEqual(steps.map((_, i) => 10 * (i + 1)));
  }, 90_000);

  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)(
    '%s stops gibbs run cleanly: rows flushed, config.json stopped, exit %i',
    async (sig, code) => {
      const dir = fresh();
      const run = longRun(dir);
      await run.logged();
      run.child.kill(sig);
      expect(await run.exit).toBe(code);
      const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
      expect(config.status).toBe('stopped');
      const last = JSON.parse(run.rows().at(-1) ?? '{}');
      expect(config.stoppedAt).toBeGreaterThanOrEqual(last.step);
      expect(config.stoppedAt - last.step).toBeLessThan(10);
      expect(run.stderr()).toMatch(new RegExp(`stopped at step ${config.stoppedAt} \\(${sig}\\)`));
    },
    90_000,
  );
});
