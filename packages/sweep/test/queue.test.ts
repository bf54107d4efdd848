/**
 * Sweeps on a real Redis with real BullMQ workers in this process, their runs done by the tests'
 * own entry (fixtures/run-entry.ts). Without any Redis (no redis-server, no GIBBS_TEST_REDIS) they
 * fail, saying what to install: never skipped. Worker processes killed mid-run, and SIGTERM, are
 * the CLI's tests of `gibbs worker` (packages/cli/test/sweep-worker.test.ts, queue-faults.test.ts).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { experimentFromModule, GibbsError } from '@gibbs/core';
import {
  hasRedisServer,
  NO_REDIS,
  startTestRedis,
  type TestRedis,
} from '@gibbs/test-support/redis';
import * as tinyIsing from '@gibbs/test-support/tiny-ising';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseGridOption } from '../src/grid.ts';
import {
  jobId,
  openQueue,
  type RunStatus,
  type SweepJobData,
  type SweepQueue,
  type SweepWorker,
  startWorker,
  submitSweep,
  syncFromQueue,
} from '../src/queue.ts';
import { checkRedis, parseRedisUrl } from '../src/redis.ts';
import { prepareSweep, type Sweep, type SweepRequest } from '../src/spec.ts';

const FIXTURE = tinyIsing.TINY_ISING;
const ENTRY = resolve(import.meta.dirname, 'fixtures/run-entry.ts');
const VERSION = '0.1.0';
const available = hasRedisServer();

let redis: TestRedis;
const tmp = mkdtempSync(join(tmpdir(), 'gibbs-sweep-queue-'));
let queueCount = 0;
const queueName = () => `gibbs-test-${process.pid}-${queueCount++}`;

beforeAll(async () => {
  if (available) redis = await startTestRedis();
});
afterAll(async () => {
  await redis?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

async function request(extra: Partial<SweepRequest>): Promise<SweepRequest> {
  return {
    experiment: experimentFromModule(tinyIsing, FIXTURE),
    experimentRef: FIXTURE,
    grid: [parseGridOption('temperature=1.5,3.5')],
    seeds: [0, 1, 2],
    fixed: { size: '16', sweepsPerStep: '60' },
    steps: 40,
    logEvery: 10,
    version: VERSION,
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

async function settle(queue: SweepQueue, sweep: Sweep): Promise<RunStatus[]> {
  return until('the sweep to finish', async () => {
    const states = await syncFromQueue(queue, sweep.dir, sweep.spec, sweep.requested);
    return states.every((s) => s.state === 'done' || s.state === 'failed') ? states : null;
  });
}

describe('sweeps on a real Redis', () => {
  beforeAll(() => {
    if (!available) throw new Error(NO_REDIS);
  });

  it('a failing run fails once with its error; a worker of another version refuses its job', async () => {
    const name = queueName();
    const target = parseRedisUrl(redis.url);
    const queue = openQueue(target, name);
    const logs: string[] = [];
    let worker: SweepWorker | null = null;
    try {
      worker = await startWorker({
        entry: ENTRY,
        version: VERSION,
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
      entry: ENTRY,
      version: VERSION,
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
      startWorker({
        entry: ENTRY,
        version: VERSION,
        target: parseRedisUrl(url),
        queueName: 'x',
        concurrency: 1,
      }),
    ).rejects.toThrow(/cannot reach Redis/);
  });
});
