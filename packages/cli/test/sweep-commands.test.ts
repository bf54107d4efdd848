/**
 * `gibbs sweep` and `gibbs worker`: the CLI's side of @gibbs/sweep. Its run processes start from
 * the CLI's entry (sweep-child.ts: loadExperiment and executeRun); the package is an optional peer,
 * loaded only when these commands run, and its absence is one line. The worker test needs Redis
 * (a redis-server of its own, or GIBBS_TEST_REDIS); without it it fails saying what to install.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  buildReport,
  openQueue,
  parseGridOption,
  parseRedisUrl,
  prepareSweep,
  type RunStatus,
  reportCsv,
  reportMarkdown,
  runLocal,
  runsCsv,
  type Sweep,
  type SweepQueue,
  type SweepRequest,
  submitSweep,
  syncFromQueue,
} from '@gibbs/sweep';
import { importGraph } from '@gibbs/test-support/imports';
import {
  hasRedisServer,
  NO_REDIS,
  startTestRedis,
  type TestRedis,
} from '@gibbs/test-support/redis';
import { TINY_ISING } from '@gibbs/test-support/tiny-ising';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { main as sweepMain } from '../src/commands/sweep.ts';
import { main as workerMain } from '../src/commands/worker.ts';
import { loadExperiment, REPO_ROOT } from '../src/repo.ts';
import { gibbsVersion } from '../src/run.ts';
import { SWEEP_CHILD, sweepMissing } from '../src/sweep-package.ts';

const FIXTURE = TINY_ISING;
const MAIN = join(REPO_ROOT, 'packages/cli/src/main.ts');
const tmp = mkdtempSync(join(tmpdir(), 'gibbs-sweep-commands-'));
const procs: ChildProcess[] = [];
afterAll(() => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
});

async function until<T>(
  what: string,
  probe: () => Promise<T | null> | T | null,
  ms = 150_000,
): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await probe();
    if (v !== null && v !== false) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('gibbs sweep', () => {
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

    // A run that throws fails the sweep (exit 1); executeRun said where, in its config.json.
    const failing = cli(
      FIXTURE,
      '--grid',
      'failAt=0,3',
      '--size',
      '4',
      '--steps',
      '5',
      '--out',
      'f',
    );
    expect(failing.status).toBe(1);
    expect(failing.stdout).toContain('1 runs done, 1 failed, 0 not finished.');
    const config = JSON.parse(readFileSync(join(tmp, 'f', 'failAt=3_s0', 'config.json'), 'utf8'));
    expect(config).toMatchObject({ status: 'failed', failedAt: 3 });
  }, 180_000);
});

describe('gibbs worker on a real Redis', () => {
  const available = hasRedisServer();
  let redis: TestRedis;
  beforeAll(async () => {
    if (!available) throw new Error(NO_REDIS);
    redis = await startTestRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  async function request(extra: Partial<SweepRequest>): Promise<SweepRequest> {
    return {
      experiment: await loadExperiment(FIXTURE),
      experimentRef: FIXTURE,
      grid: [parseGridOption('temperature=1.5,3.5')],
      seeds: [0, 1, 2],
      fixed: { size: '16', sweepsPerStep: '60' },
      steps: 40,
      logEvery: 10,
      version: gibbsVersion(),
      ...extra,
    };
  }

  async function settle(queue: SweepQueue, sweep: Sweep): Promise<RunStatus[]> {
    return until('the sweep to finish', async () => {
      const states = await syncFromQueue(queue, sweep.dir, sweep.spec, sweep.requested);
      return states.every((s) => s.state === 'done' || s.state === 'failed') ? states : null;
    });
  }

  /** `pnpm gibbs worker` as a separate process; resolves once it listens. */
  async function workerProcess(
    url: string,
    queue: string,
  ): Promise<{ proc: ChildProcess; lines: string[] }> {
    const proc = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        MAIN,
        'worker',
        '--queue',
        url,
        '--queue-name',
        queue,
        '--concurrency',
        '1',
        '--lock-duration',
        '2000',
        '--stalled-interval',
        '1000',
      ],
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    procs.push(proc);
    const lines: string[] = [];
    let buf = '';
    proc.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      buf += chunk;
      const parts = buf.split('\n');
      buf = parts.pop() ?? '';
      lines.push(...parts);
    });
    proc.stderr?.setEncoding('utf8').on('data', (chunk: string) => lines.push(`stderr: ${chunk}`));
    await until(
      'the worker to start',
      () => lines.some((l) => l.includes('takes runs from queue')) || null,
      30_000,
    );
    return { proc, lines };
  }

  function alive(pid: number): boolean {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }

  it('2 worker processes, one killed mid-run: every run once, the same report as the local pool', async () => {
    const name = `gibbs-test-${process.pid}`;
    const sweep = prepareSweep(
      await request({ out: join(tmp, 'q'), queue: { url: redis.url, name } }),
    );
    expect(sweep.requested).toHaveLength(6);
    const queue = openQueue(parseRedisUrl(redis.url), name);
    try {
      const [a, b] = await Promise.all([
        workerProcess(redis.url, name),
        workerProcess(redis.url, name),
      ]);
      expect(await submitSweep(queue, sweep.dir, sweep.spec, sweep.requested)).toEqual({
        added: 6,
        done: 0,
        pending: 0,
      });
      const start = await until('worker a to start a run', () => {
        for (const l of a.lines) {
          const m = /^start (\S+) attempt \d+ pid (\d+)/.exec(l);
          if (m) return { job: m[1], pid: Number(m[2]) };
        }
        return null;
      });
      a.proc.kill('SIGKILL');
      // The run attempt's process goes with its worker.
      await until(
        "the killed worker's run process to exit",
        () => !alive(start.pid) || null,
        10_000,
      );
      const states = await settle(queue, sweep);
      expect(states.map((s) => s.state)).toEqual(Array(6).fill('done'));
      // The killed run was started again (by b, after its lock expired) and finished there.
      // (Its files can be done here a moment before BullMQ marks the job completed.)
      await until('the killed job to complete', async () =>
        (await queue.getJob(start.job))?.finishedOn ? true : null,
      );
      const killed = await queue.getJob(start.job);
      expect(killed?.attemptsStarted).toBeGreaterThanOrEqual(2);
      expect(killed?.returnvalue.worker).toBe(`${hostname()}:${b.proc.pid}`);
      expect(b.lines.some((l) => l.startsWith(`done ${start.job}`))).toBe(true);

      const report = buildReport(sweep.dir, sweep.spec);
      expect(report.points.map((p) => p.seeds)).toEqual([
        [0, 1, 2],
        [0, 1, 2],
      ]);
      const rows = runsCsv(report).trim().split('\n').slice(1);
      expect(rows).toHaveLength(6);
      expect(new Set(rows.map((r) => r.split(',').slice(0, 2).join(','))).size).toBe(6);

      // The same sweep on the local pool: identical runs, identical report.
      const local = prepareSweep(await request({ out: join(tmp, 'l') }));
      // One fresh process per run here, reused processes on the workers: the same results.
      expect(
        (await runLocal(local, { entry: SWEEP_CHILD, concurrency: 2, runsPerProcess: 1 })).ran,
      ).toBe(6);
      const localReport = buildReport(local.dir, local.spec);
      expect(reportMarkdown(localReport)).toBe(reportMarkdown(report));
      expect(reportCsv(localReport)).toBe(reportCsv(report));
      expect(runsCsv(localReport)).toBe(runsCsv(report));
      for (const run of sweep.requested) {
        const m = (d: string) => readFileSync(join(d, run.name, 'metrics.jsonl'), 'utf8');
        expect(m(sweep.dir)).toBe(m(local.dir));
      }

      // Resubmitting finds everything done; nothing is queued again.
      expect(await submitSweep(queue, sweep.dir, sweep.spec, sweep.requested)).toEqual({
        added: 0,
        done: 6,
        pending: 0,
      });
      // Runs done on the queue but missing here are copied back from Redis, not rerun.
      rmSync(join(sweep.dir, sweep.requested[0].name), { recursive: true });
      expect(await submitSweep(queue, sweep.dir, sweep.spec, sweep.requested)).toEqual({
        added: 0,
        done: 6,
        pending: 0,
      });
      expect(readFileSync(join(sweep.dir, sweep.requested[0].name, 'metrics.jsonl'), 'utf8')).toBe(
        readFileSync(join(local.dir, sweep.requested[0].name, 'metrics.jsonl'), 'utf8'),
      );
    } finally {
      await queue.close();
    }
  }, 180_000);
});

describe('without @gibbs/sweep', () => {
  // What Node throws when a package is not installed.
  const notInstalled = (name: string) =>
    Object.assign(
      new Error(`Cannot find package '${name}' imported from ${SWEEP_CHILD.pathname}`),
      {
        code: 'ERR_MODULE_NOT_FOUND',
      },
    );
  const missing = () => Promise.reject(notInstalled('@gibbs/sweep'));
  let errors: string[] = [];
  beforeEach(() => {
    errors = [];
    vi.spyOn(console, 'error').mockImplementation((line: unknown) => {
      errors.push(String(line));
    });
    vi.spyOn(console, 'log').mockImplementation(() => {});
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('gibbs sweep and gibbs worker say so in one line and exit 2, having done nothing', async () => {
    const out = join(tmp, 'none');
    expect(await sweepMain([FIXTURE, '--grid', 'temperature=1,2', '--out', out], missing)).toBe(2);
    expect(errors).toEqual([
      'gibbs sweep needs the package @gibbs/sweep (it brings bullmq and ioredis): npm install @gibbs/sweep',
    ]);
    expect(existsSync(out)).toBe(false);
    expect(await sweepMain(['report', out], missing)).toBe(2);
    expect(await workerMain(['--queue', 'redis://127.0.0.1:1'], missing)).toBe(2);
    expect(errors.slice(1)).toEqual([sweepMissing('sweep'), sweepMissing('worker')]);
    // Their help needs no package.
    expect(await sweepMain(['--help'], missing)).toBe(0);
    expect(await workerMain(['--help'], missing)).toBe(0);
    expect(errors).toHaveLength(3);
  });

  it('a package missing under @gibbs/sweep is thrown as it is, not taken for @gibbs/sweep', async () => {
    const broken = () => Promise.reject(notInstalled('bullmq'));
    await expect(sweepMain(['status', tmp], broken)).rejects.toThrow(/'bullmq'/);
    expect(errors).toEqual([]);
  });

  it('gibbs --help, run, resolves no module of @gibbs/sweep, bullmq or ioredis', () => {
    // A resolve hook (module.register) that notes every URL resolved into a file.
    const hook = join(tmp, 'hook.mjs');
    const seen = join(tmp, 'resolved.txt');
    writeFileSync(
      hook,
      `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(${JSON.stringify(seen)}, r.url + '\\n');
  return r;
}
`,
    );
    const register = `import { register } from 'node:module'; register(${JSON.stringify(pathToFileURL(hook).href)});`;
    const help = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '--import',
        `data:text/javascript,${encodeURIComponent(register)}`,
        MAIN,
        '--help',
      ],
      { cwd: REPO_ROOT, encoding: 'utf8' },
    );
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^ {2}sweep +run an experiment over a grid/m);
    const urls = readFileSync(seen, 'utf8').trim().split('\n');
    expect(urls.some((u) => u.endsWith('/packages/cli/src/commands/worker.ts'))).toBe(true);
    expect(urls.filter((u) => /\/(bullmq|ioredis)\/|\/packages\/sweep\//.test(u))).toEqual([]);
  });

  it('gibbs --help and the other commands load neither bullmq nor ioredis', () => {
    const src = resolve(REPO_ROOT, 'packages/cli/src');
    const commands = readdirSync(join(src, 'commands')).map((f) => join(src, 'commands', f));
    // main.ts imports every command to print --help; index.ts is the library's root.
    const roots = [join(src, 'main.ts'), join(src, 'index.ts'), ...commands];
    const graph = importGraph(roots, { dynamic: true, stopAt: ['@gibbs/sweep'] });
    expect([...graph.packages].filter((p) => /bullmq|ioredis/.test(p))).toEqual([]);
    expect(graph.modules.has(join(src, 'commands/sweep.ts'))).toBe(true);
    // @gibbs/sweep is reached once, by a dynamic import that only sweep and worker call.
    const toSweep = graph.edges.filter((e) => e.specifier.startsWith('@gibbs/sweep'));
    expect(toSweep.filter((e) => !e.dynamic).map((e) => e.from)).toEqual([]);
    expect(toSweep.map((e) => e.from)).toEqual([join(src, 'sweep-package.ts')]);
    const callers = graph.edges.filter((e) => e.specifier.endsWith('/sweep-package.ts'));
    expect(new Set(callers.map((e) => e.from.slice(src.length + 1)))).toEqual(
      new Set(['commands/sweep.ts', 'commands/worker.ts', 'index.ts']),
    );
  });
});
