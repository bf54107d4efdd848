/**
 * The queue when Redis misbehaves (issue 14): `gibbs worker --queue` exits within 5 s of SIGTERM
 * with Redis stopped, idle or in the middle of a run; the sweep's "done" accounting is read from
 * the run directories, so runs finished while Redis came back empty are done, not "left the
 * queue unfinished". A real redis-server of our own (stopped on purpose); nothing is mocked.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  finalAccounting,
  heartbeatFresh,
  isRunDone,
  markDone,
  openQueue,
  parseGridOption,
  parseRedisUrl,
  prepareSweep,
  RUNNING_FILE,
  runJob,
  type SweepQueue,
  submitSweep,
  syncFromQueue,
} from '@gibbs/sweep';
import {
  flushRedis,
  hasRedisServer,
  NO_REDIS,
  startTestRedis,
  type TestRedis,
} from '@gibbs/test-support/redis';
import { TINY_ISING } from '@gibbs/test-support/tiny-ising';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadExperiment, REPO_ROOT } from '../src/repo.ts';
import { executeRun, gibbsVersion } from '../src/run.ts';

const FIXTURE = TINY_ISING;
const MAIN = join(REPO_ROOT, 'packages/cli/src/main.ts');
const available = hasRedisServer();
const tmp = mkdtempSync(join(tmpdir(), 'gibbs-queue-faults-'));
const procs: ChildProcess[] = [];
const redises: TestRedis[] = [];
let count = 0;
const queueName = () => `gibbs-faults-${process.pid}-${count++}`;

beforeAll(() => {
  if (!available) throw new Error(NO_REDIS);
});
afterAll(async () => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  for (const r of redises) await r.stop();
  rmSync(tmp, { recursive: true, force: true });
});

async function ownRedis(): Promise<TestRedis> {
  const r = await startTestRedis({ own: true });
  redises.push(r);
  return r;
}

async function until<T>(what: string, probe: () => T | null | false, ms = 60_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = probe();
    if (v !== null && v !== false) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function worker(url: string, queue: string) {
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
    ],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  procs.push(proc);
  let out = '';
  proc.stdout?.setEncoding('utf8').on('data', (c: string) => {
    out += c;
  });
  proc.stderr?.setEncoding('utf8').on('data', (c: string) => {
    out += c;
  });
  const exit = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  return { proc, exit, out: () => out };
}

async function sweepOf(name: string, steps: number) {
  return prepareSweep({
    experiment: await loadExperiment(FIXTURE),
    experimentRef: FIXTURE,
    grid: [parseGridOption('temperature=1.5,3.5')],
    seeds: [0],
    fixed: { size: '8' },
    steps,
    logEvery: 10,
    version: gibbsVersion(),
    out: join(tmp, name),
    queue: null,
  });
}

describe('gibbs worker --queue and SIGTERM', () => {
  it.each([
    ['stopped', 'idle', false, true],
    ['stopped', 'in the middle of a run', true, true],
    ['up', 'in the middle of a run', true, false],
  ])(
    'with Redis %s, %s: exits 143 within 5 s',
    async (_redis, _what, busy, stopRedis) => {
      const redis = await ownRedis();
      const name = queueName();
      const w = worker(redis.url, name);
      await until('the worker to start', () => /takes runs from queue/.test(w.out()));
      if (busy) {
        const sweep = await sweepOf(`busy-${name}`, 100_000_000);
        const queue = openQueue(parseRedisUrl(redis.url), name, () => {});
        await submitSweep(queue, sweep.dir, sweep.spec, sweep.requested.slice(0, 1));
        await queue.close();
        await until('the run to start', () => /start .* pid \d+/.test(w.out()));
      }
      if (stopRedis) {
        await redis.stop();
        await new Promise((r) => setTimeout(r, 1000)); // the worker notices: reconnect attempts
      }
      const t0 = Date.now();
      w.proc.kill('SIGTERM');
      expect(await w.exit).toBe(143);
      expect(Date.now() - t0).toBeLessThan(5000 + 3000); // 5 s, and a margin for a busy machine
      if (busy) {
        // Its run process went with it.
        const pid = Number(/start .* pid (\d+)/.exec(w.out())?.[1]);
        await until('the run process to exit', () => {
          try {
            process.kill(pid, 0);
            return false;
          } catch {
            return true;
          }
        });
      }
    },
    120_000,
  );
});

describe("the sweep's done accounting", () => {
  it('a run still going on a worker when Redis comes back empty is running, not lost (its heartbeat)', async () => {
    const redis = await ownRedis();
    const name = queueName();
    const w = worker(redis.url, name);
    await until('the worker to start', () => /takes runs from queue/.test(w.out()));
    const sweep = await sweepOf(`beat-${name}`, 100_000_000);
    const target = parseRedisUrl(redis.url);
    const queue = openQueue(target, name, () => {});
    try {
      const runs = sweep.requested.slice(0, 1);
      await submitSweep(queue, sweep.dir, sweep.spec, runs);
      await until('the run to start', () => /start .* pid \d+/.test(w.out()));
      await flushRedis(redis.url);
      const states = await syncFromQueue(queue, sweep.dir, sweep.spec, runs);
      expect(states[0]).toMatchObject({
        state: 'running',
        detail: 'its job is gone from the queue',
      });
      const runDir = join(sweep.dir, runs[0].name);
      expect(heartbeatFresh(runDir)).toBe(true);
      // A heartbeat not refreshed for 30 s is a run that died: lost.
      utimesSync(join(runDir, RUNNING_FILE), new Date(0), new Date(0));
      expect(heartbeatFresh(runDir)).toBe(false);
      w.proc.kill('SIGTERM');
      expect(await w.exit).toBe(143);
      expect((await syncFromQueue(queue, sweep.dir, sweep.spec, runs))[0].state).toBe('pending');
    } finally {
      await queue.close();
    }
  }, 120_000);

  it('runs finished while Redis came back empty are done, read from their directories', async () => {
    const redis = await ownRedis();
    const name = queueName();
    const sweep = await sweepOf(`acct-${name}`, 20);
    const target = parseRedisUrl(redis.url);
    const queue = openQueue(target, name, () => {});
    try {
      await submitSweep(queue, sweep.dir, sweep.spec, sweep.requested);
      // Redis comes back empty.
      await flushRedis(redis.url);
      // A worker on the same disk finishes each run while the sweep asks the queue about it.
      const finishing = new Proxy(queue, {
        get(q, key, recv) {
          if (key !== 'getJob') return Reflect.get(q, key, recv);
          return async (id: string) => {
            const run = sweep.requested.find((r) => id.endsWith(`/${r.name}`));
            if (run) {
              const job = runJob(sweep.dir, sweep.spec, run);
              const out = await executeRun({
                experiment: await loadExperiment(FIXTURE),
                rawParams: job.params,
                steps: job.steps,
                seed: job.seed,
                logEvery: job.logEvery,
                outDir: job.outDir,
              });
              markDone(job.outDir, { steps: out.steps, final: out.last });
            }
            return q.getJob(id);
          };
        },
      }) as SweepQueue;
      const states = await syncFromQueue(finishing, sweep.dir, sweep.spec, sweep.requested);
      expect(states.map((s) => s.state)).toEqual(['done', 'done']);
      // The final count reads the directories too, whatever the last poll said.
      const stale = states.map((s) => ({ ...s, state: 'pending' as const }));
      const final = finalAccounting(sweep.dir, stale);
      expect(final.done).toHaveLength(2);
      expect(final.lost).toHaveLength(0);
      for (const r of sweep.requested) expect(isRunDone(join(sweep.dir, r.name))).toBe(true);
    } finally {
      await queue.close();
    }
  }, 120_000);
});
