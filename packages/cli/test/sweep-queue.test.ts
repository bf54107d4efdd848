/**
 * Sweeps on a real Redis with real BullMQ workers (separate processes for the kill test). Without
 * any Redis (no redis-server, no GIBBS_TEST_REDIS) they fail, saying what to install: never skipped.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { GibbsError } from '@gibbs/core';
import type { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadExperiment, REPO_ROOT } from '../src/repo.ts';
import { parseGridOption } from '../src/sweep/grid.ts';
import { runLocal } from '../src/sweep/pool.ts';
import {
  jobId,
  openQueue,
  type RunStatus,
  type SweepJobData,
  type SweepJobResult,
  type SweepWorker,
  startWorker,
  submitSweep,
  syncFromQueue,
} from '../src/sweep/queue.ts';
import { checkRedis, parseRedisUrl } from '../src/sweep/redis.ts';
import { buildReport, reportCsv, reportMarkdown, runsCsv } from '../src/sweep/report.ts';
import { prepareSweep, type Sweep, type SweepRequest } from '../src/sweep/spec.ts';
import { hasRedisServer, NO_REDIS, startTestRedis, type TestRedis } from './redis-server.ts';

const FIXTURE = resolve(import.meta.dirname, 'fixtures/tiny-ising.ts');
const MAIN = join(REPO_ROOT, 'packages/cli/src/main.ts');
const available = hasRedisServer();

let redis: TestRedis;
const tmp = mkdtempSync(join(tmpdir(), 'gibbs-sweep-queue-'));
const procs: ChildProcess[] = [];
let queueCount = 0;
const queueName = () => `gibbs-test-${process.pid}-${queueCount++}`;

beforeAll(async () => {
  if (available) redis = await startTestRedis();
});
afterAll(async () => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  await redis?.stop();
  rmSync(tmp, { recursive: true, force: true });
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
    ...extra,
  };
}

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

async function settle(
  queue: Queue<SweepJobData, SweepJobResult>,
  sweep: Sweep,
): Promise<RunStatus[]> {
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

describe('sweeps on a real Redis', () => {
  beforeAll(() => {
    if (!available) throw new Error(NO_REDIS);
  });

  it('2 worker processes, one killed mid-run: every run once, the same report as the local pool', async () => {
    const name = queueName();
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
      expect(killed?.returnvalue.worker).toBe(
        `${(await import('node:os')).hostname()}:${b.proc.pid}`,
      );
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
      expect((await runLocal(local, { concurrency: 2, runsPerProcess: 1 })).ran).toBe(6);
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

  it('a failing run fails once with its error; a worker of another version refuses its job', async () => {
    const name = queueName();
    const target = parseRedisUrl(redis.url);
    const queue = openQueue(target, name);
    const logs: string[] = [];
    let worker: SweepWorker | null = null;
    try {
      worker = await startWorker({
        target,
        queueName: name,
        concurrency: 2,
        log: (l) => logs.push(l),
      });
      const failing = prepareSweep(
        await request({
          out: join(tmp, 'f'),
          grid: [parseGridOption('failAt=0,5')],
          fixed: {},
          seeds: [0],
          queue: { url: redis.url, name },
        }),
      );
      await submitSweep(queue, failing.dir, failing.spec, failing.requested);
      const states = await settle(queue, failing);
      expect(states.map((s) => [s.run.name, s.state])).toEqual([
        ['failAt=0_s0', 'done'],
        ['failAt=5_s0', 'failed'],
      ]);
      const job = await queue.getJob(jobId(failing.spec, failing.requested[1]));
      expect(job?.failedReason).toMatch(/failAt reached at step 5/);
      expect(job?.attemptsStarted).toBe(1);
      expect(logs.filter((l) => l.startsWith(`start ${job?.id}`))).toHaveLength(1);
      expect(
        JSON.parse(readFileSync(join(failing.dir, 'failAt=5_s0', 'error.json'), 'utf8')).message,
      ).toMatch(/failAt reached/);

      const other = prepareSweep(
        await request({
          out: join(tmp, 'v'),
          seeds: [0],
          version: '0.0.0-other',
          queue: { url: redis.url, name },
        }),
      );
      await submitSweep(queue, other.dir, other.spec, other.requested);
      const refused = await settle(queue, other);
      expect(refused.map((s) => s.state)).toEqual(['failed', 'failed']);
      const vjob = await queue.getJob(jobId(other.spec, other.requested[0]));
      expect(vjob?.failedReason).toMatch(
        /runs gibbs 0\.1\.0 but the sweep was submitted with gibbs 0\.0\.0-other: refused/,
      );
      expect(vjob?.attemptsStarted).toBe(1);
      expect(existsSync(join(other.dir, other.requested[0].name, 'metrics.jsonl'))).toBe(false);

      // Something else's job on the same queue: refused once, nothing run.
      const foreign = await queue.add('x', { hello: 1 } as unknown as SweepJobData, {
        attempts: 3,
      });
      const failedForeign = await until('the foreign job to fail', async () => {
        const j = await queue.getJob(foreign.id ?? '');
        return j && (await j.getState()) === 'failed' ? j : null;
      });
      expect(failedForeign.failedReason).toMatch(/^not a Gibbs sweep job/);
      expect(failedForeign.attemptsStarted).toBe(1);
    } finally {
      await worker?.close();
      await queue.close();
    }
  }, 180_000);

  it('a worker with its own --out (another machine): results come back through Redis', async () => {
    const name = queueName();
    const target = parseRedisUrl(redis.url);
    const queue = openQueue(target, name);
    const elsewhere = join(tmp, 'other-machine');
    const worker = await startWorker({
      target,
      queueName: name,
      concurrency: 2,
      out: elsewhere,
      log: () => {},
    });
    try {
      const sweep = prepareSweep(
        await request({ out: join(tmp, 'm'), seeds: [5], queue: { url: redis.url, name } }),
      );
      await submitSweep(queue, sweep.dir, sweep.spec, sweep.requested);
      const states = await settle(queue, sweep);
      expect(states.map((s) => s.state)).toEqual(['done', 'done']);
      for (const run of sweep.requested) {
        const here = readFileSync(join(sweep.dir, run.name, 'metrics.jsonl'), 'utf8');
        const there = readFileSync(join(elsewhere, 'm', run.name, 'metrics.jsonl'), 'utf8');
        expect(here).toBe(there);
        expect(existsSync(join(sweep.dir, run.name, 'done.json'))).toBe(true);
      }
    } finally {
      await worker.close();
      await queue.close();
    }
  }, 180_000);

  it('an unreachable Redis is a clear error naming the URL, without the password', async () => {
    // A port nothing listens on: the one our own server would have had after it stopped is not
    // certain, so take a fresh free port and do not listen on it.
    const { createServer } = await import('node:net');
    const port = await new Promise<number>((r) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => r(p));
      });
    });
    const url = `redis://:hunter2@127.0.0.1:${port}`;
    const err = await checkRedis(parseRedisUrl(url)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GibbsError);
    expect((err as Error).message).toContain(
      `cannot reach Redis at redis://:***@127.0.0.1:${port}`,
    );
    expect((err as Error).message).toMatch(/ECONNREFUSED/);
    expect((err as Error).message).not.toContain('hunter2');
    await expect(
      startWorker({ target: parseRedisUrl(url), queueName: 'x', concurrency: 1 }),
    ).rejects.toThrow(/cannot reach Redis/);
  });
});
