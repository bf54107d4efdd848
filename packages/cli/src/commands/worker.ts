/**
 * `pnpm gibbs worker --queue redis://[:password@]host:port [--concurrency N] [--queue-name NAME]
 *   [--out DIR] [--lock-duration MS] [--stalled-interval MS] [--runs-per-process N]`: takes sweep
 * runs from the queue and runs each in a child process until stopped. Ctrl-C (SIGINT) once:
 * finish the running runs, take no more; twice: kill them (the queue retries them elsewhere).
 * SIGTERM: kill the running runs and exit within 5 s (code 143), even when Redis is gone.
 */
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { GibbsError } from '@gibbs/core';
import { parseArgs, takeInt, takeString } from '../args.ts';
import { gibbsVersion } from '../run.ts';
import { importSweep, loadSweepPackage, SWEEP_CHILD, type SweepLoader } from '../sweep-package.ts';

export const describe = 'take sweep runs from a Redis queue (BullMQ) and run them';

/** `load` is how @gibbs/sweep is imported (a test passes one that fails as a missing package). */
export async function main(argv: string[], load: SweepLoader = importSweep): Promise<number> {
  const args = parseArgs(argv, {
    command: 'gibbs worker',
    options: {
      queue: { type: 'string' },
      concurrency: { type: 'string' },
      'queue-name': { type: 'string' },
      out: { type: 'string' },
      'lock-duration': { type: 'string' },
      'stalled-interval': { type: 'string' },
      'runs-per-process': { type: 'string' },
    },
  });
  if (args.options.has('help')) {
    console.log(
      [
        'Usage: pnpm gibbs worker --queue redis://[:password@]host:port [--concurrency N]',
        '         [--queue-name NAME] [--out DIR] [--lock-duration MS] [--stalled-interval MS]',
        '         [--runs-per-process N]   runs one process does in turn (default 20; 1: fresh each)',
        'Runs are written to the sweep directory named in each job (same machine or shared disk),',
        'or under --out DIR/<sweep dir name>/; results also travel back through Redis.',
        'A run of a worker that dies is retried elsewhere after --lock-duration (default 30000).',
        'Ctrl-C once: finish the running runs and take no more; twice, or SIGTERM: kill them (they',
        'are retried elsewhere) and exit within 5 s, whether Redis is reachable or not.',
      ].join('\n'),
    );
    return 0;
  }
  const sweeps = await loadSweepPackage('worker', load);
  if (!sweeps) return 2;
  const { checkQueueName, DEFAULT_QUEUE, DEFAULT_RUNS_PER_PROCESS, parseRedisUrl, startWorker } =
    sweeps;
  const url = takeString(args, 'queue');
  if (!url) throw GibbsError.invalid('--queue', 'nothing', 'redis://[:password@]host:port');
  const target = parseRedisUrl(url);
  const concurrency = takeInt(args, 'concurrency', availableParallelism(), 1, 1024);
  const queueName = checkQueueName(takeString(args, 'queue-name') ?? DEFAULT_QUEUE);
  const out = takeString(args, 'out');
  const lockDuration = takeInt(args, 'lock-duration', 30_000, 1000);
  const stalledInterval = takeInt(args, 'stalled-interval', 30_000, 500);
  const runsPerProcess = takeInt(args, 'runs-per-process', DEFAULT_RUNS_PER_PROCESS, 1);
  if (args.positionals.length > 0)
    throw GibbsError.invalid(
      'worker',
      args.positionals.join(' '),
      'options only (gibbs worker --help)',
    );
  const worker = await startWorker({
    entry: SWEEP_CHILD,
    version: gibbsVersion(),
    target,
    queueName,
    concurrency,
    out: out ? resolve(out) : undefined,
    lockDuration,
    stalledInterval,
    runsPerProcess,
  });
  // SIGINT (Ctrl-C) once: finish the running runs, take no more; twice: kill them. SIGTERM (what a
  // service manager sends before SIGKILL): kill the running runs (their jobs are retried
  // elsewhere once their locks lapse) and exit within 5 s, whatever Redis does: closing the
  // BullMQ worker is waited for at most STOP_GRACE_MS.
  const code = await new Promise<number>((done) => {
    let stops = 0;
    const exitSoon = (c: number) => {
      worker.close(true).then(
        () => done(c),
        () => done(c),
      );
      setTimeout(() => done(c), STOP_GRACE_MS).unref();
    };
    process.on('SIGINT', () => {
      stops++;
      if (stops > 1) {
        console.log(`worker ${worker.name}: killing running runs`);
        exitSoon(130);
        return;
      }
      console.log(`worker ${worker.name}: finishing running runs (again to kill them)`);
      worker.close(false).then(
        () => done(0),
        () => done(0),
      );
    });
    process.on('SIGTERM', () => {
      console.log(`worker ${worker.name}: SIGTERM: killing running runs and exiting`);
      exitSoon(143);
    });
  });
  // Connections to a Redis that is gone keep retrying: leave without waiting for them.
  process.exit(code);
}

/** How long a stopping worker waits for BullMQ to close before it exits anyway. */
const STOP_GRACE_MS = 3000;
