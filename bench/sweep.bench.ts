/**
 * Sweep throughput on one machine: the same sweep of short runs (built-in `ising`, 20x20, 2000
 * steps) on the local pool with 1 and 2 processes, and on a BullMQ queue with 2 worker processes
 * (concurrency 1 each, started and connected before the clock starts), against a private
 * redis-server on a free loopback port (started here, stopped after). Run processes do up to 20
 * runs each (the default) everywhere, so queue minus local-2 is the queue's own overhead per run
 * (submission, job hand-off, lock renewal, results back through Redis, polling); a local variant
 * with a fresh process per run shows what reusing processes saves.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gibbsVersion, SWEEP_CHILD } from '@gibbs/cli';
import { loadExperiment, REPO_ROOT } from '@gibbs/cli/repo';
import {
  openQueue,
  parseGridOption,
  parseRedisUrl,
  prepareSweep,
  runLocal,
  type SweepRequest,
  submitSweep,
} from '@gibbs/sweep';
import { startTestRedis } from '@gibbs/test-support/redis';
import { printTable, type Row, writeResult } from './lib.ts';

const RUNS = Number(process.env.SWEEP_BENCH_RUNS ?? 32);
const tmp = mkdtempSync(join(tmpdir(), 'gibbs-sweep-bench-'));
const experiment = await loadExperiment('ising');

function request(out: string): SweepRequest {
  const temps = Array.from({ length: RUNS / 2 }, (_, i) => String(0.5 + 0.25 * i));
  return {
    experiment,
    experimentRef: 'ising',
    grid: [parseGridOption(`temperature=${temps.join(',')}`)],
    seeds: [0, 1],
    fixed: { size: '20', coolSteps: '0' },
    steps: 2000,
    logEvery: 10,
    version: gibbsVersion(),
    out,
  };
}

const REPS = Number(process.env.SWEEP_BENCH_REPS ?? 2);
const best = new Map<string, number>();
function record(variant: string, ms: number): void {
  best.set(variant, Math.min(best.get(variant) ?? Number.POSITIVE_INFINITY, ms));
}

async function local(concurrency: number, rep: number, runsPerProcess = 20): Promise<void> {
  const sweep = prepareSweep(request(join(tmp, `local-${concurrency}-${runsPerProcess}-${rep}`)));
  const t0 = performance.now();
  const s = await runLocal(sweep, { entry: SWEEP_CHILD, concurrency, runsPerProcess });
  if (s.ran !== RUNS) throw new Error(`local pool ran ${s.ran} of ${RUNS}`);
  const what = `local pool, ${concurrency} process${concurrency > 1 ? 'es' : ''}`;
  record(runsPerProcess === 1 ? `${what}, fresh per run` : what, performance.now() - t0);
}

const redis = await startTestRedis({ own: true });
const workers: ChildProcess[] = [];
const handoffs: number[] = [];
try {
  const target = parseRedisUrl(redis.url);
  const ready = Array.from({ length: 2 }, () => {
    const proc = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(REPO_ROOT, 'packages/cli/src/main.ts'),
        'worker',
        '--queue',
        redis.url,
        '--queue-name',
        'bench',
        '--concurrency',
        '1',
      ],
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    workers.push(proc);
    // Hand-off: from a worker's "done" line to its next "start" line (taking the next job).
    let lastDone = -1;
    return new Promise<void>((resolve) => {
      proc.stdout?.setEncoding('utf8').on('data', (d: string) => {
        const now = performance.now();
        for (const line of d.split('\n')) {
          if (line.includes('takes runs from queue')) resolve();
          if (line.startsWith('start ') && lastDone >= 0) handoffs.push(now - lastDone);
          if (line.startsWith('done ')) lastDone = now;
        }
      });
    });
  });
  await Promise.all(ready);
  const queue = openQueue(target, 'bench');
  // Variants interleaved, best of REPS each: the machine is shared and its load drifts.
  for (let rep = 0; rep < REPS; rep++) {
    await local(1, rep);
    await local(2, rep);
    await local(2, rep, 1);
    await queue.obliterate({ force: true });
    const sweep = prepareSweep({
      ...request(join(tmp, `queue-${rep}`)),
      queue: { url: redis.url, name: 'bench' },
    });
    const t0 = performance.now();
    await submitSweep(queue, sweep.dir, sweep.spec, sweep.requested);
    // Done when BullMQ has every job completed (results back in Redis), not just the files here.
    for (;;) {
      const counts = await queue.getJobCounts('completed', 'failed');
      if (counts.failed > 0) throw new Error('a queued run failed');
      if (counts.completed === RUNS) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    record('queue, 2 workers', performance.now() - t0);
    const byWorker = new Map<string, number>();
    for (const run of sweep.requested) {
      const w = (await queue.getJob(`${sweep.spec.id}/${run.name}`))?.returnvalue.worker ?? '?';
      byWorker.set(w, (byWorker.get(w) ?? 0) + 1);
    }
    console.log(
      `rep ${rep}: runs per worker on ${hostname()}: ${[...byWorker.values()].join(', ')}`,
    );
  }
  await queue.close();
} finally {
  for (const w of workers) w.kill('SIGTERM');
  await Promise.all(
    workers.map((w) => new Promise((r) => (w.exitCode !== null ? r(null) : w.once('exit', r)))),
  );
  await redis.stop();
  rmSync(tmp, { recursive: true, force: true });
}

const rows: Row[] = [...best].map(([variant, ms]) => ({
  variant,
  runs: RUNS,
  'wall s': ms / 1000,
  'runs/s': (RUNS * 1000) / ms,
  'wall ms/run': ms / RUNS,
}));
const local2 = best.get('local pool, 2 processes')!;
const queued = best.get('queue, 2 workers')!;
// Both use 2 processes at a time: the wall-time difference per run, times 2, is process time.
const overheadMs = ((queued - local2) * 2) / RUNS;
handoffs.sort((a, b) => a - b);
const handoffMs = handoffs[Math.floor(handoffs.length / 2)] ?? Number.NaN;
printTable(
  `Sweep throughput, ${RUNS} runs of ising (20x20, 2000 steps), one machine, best of ${REPS}`,
  rows,
);
console.log(
  `\nqueue minus local pool (2 processes each): ${overheadMs.toFixed(0)} ms of process time per run ` +
    `(${((queued / local2 - 1) * 100).toFixed(0)} % wall time); hand-off from a worker's finished ` +
    `run to its next one, median: ${handoffMs.toFixed(1)} ms`,
);
writeResult('sweep', { rows, queueOverheadMsPerRun: overheadMs, queueHandoffMedianMs: handoffMs });
