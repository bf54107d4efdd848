/**
 * `pnpm gibbs worker --queue redis://[:password@]host:port [--concurrency N] [--queue-name NAME]
 *   [--out DIR] [--lock-duration MS] [--stalled-interval MS] [--runs-per-process N]`: takes sweep
 * runs from the queue and runs each in a child process until stopped. Ctrl-C (SIGINT/SIGTERM) once: finish the running
 * runs, take no more; twice: kill them (the queue retries them elsewhere).
 */
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { GibbsError } from '@gibbs/core';
import { parseArgs, takeInt, takeString } from '../args.ts';
import { DEFAULT_QUEUE, startWorker } from '../sweep/queue.ts';
import { checkQueueName, parseRedisUrl } from '../sweep/redis.ts';
import { DEFAULT_RUNS_PER_PROCESS } from '../sweep/spawn.ts';

export const describe = 'take sweep runs from a Redis queue (BullMQ) and run them';

export async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  if (args.options.has('help')) {
    console.log(
      [
        'Usage: pnpm gibbs worker --queue redis://[:password@]host:port [--concurrency N]',
        '         [--queue-name NAME] [--out DIR] [--lock-duration MS] [--stalled-interval MS]',
        '         [--runs-per-process N]   runs one process does in turn (default 20; 1: fresh each)',
        'Runs are written to the sweep directory named in each job (same machine or shared disk),',
        'or under --out DIR/<sweep dir name>/; results also travel back through Redis.',
        'A run of a worker that dies is retried elsewhere after --lock-duration (default 30000).',
      ].join('\n'),
    );
    return 0;
  }
  const url = takeString(args, 'queue');
  if (!url) throw GibbsError.invalid('--queue', 'nothing', 'redis://[:password@]host:port');
  const target = parseRedisUrl(url);
  const concurrency = takeInt(args, 'concurrency', availableParallelism(), 1, 1024);
  const queueName = checkQueueName(takeString(args, 'queue-name') ?? DEFAULT_QUEUE);
  const out = takeString(args, 'out');
  const lockDuration = takeInt(args, 'lock-duration', 30_000, 1000);
  const stalledInterval = takeInt(args, 'stalled-interval', 30_000, 500);
  const runsPerProcess = takeInt(args, 'runs-per-process', DEFAULT_RUNS_PER_PROCESS, 1);
  const unknown = [...args.options.keys()];
  if (unknown.length > 0 || args.positionals.length > 0) {
    throw GibbsError.invalid(
      'worker',
      [...args.positionals, ...unknown.map((k) => `--${k}`)].join(' '),
      '--queue, --concurrency, --queue-name, --out, --lock-duration, --stalled-interval, --runs-per-process',
    );
  }
  const worker = await startWorker({
    target,
    queueName,
    concurrency,
    out: out ? resolve(out) : undefined,
    lockDuration,
    stalledInterval,
    runsPerProcess,
  });
  await new Promise<void>((done) => {
    let stops = 0;
    const stop = () => {
      stops++;
      console.log(
        stops === 1
          ? `worker ${worker.name}: finishing running runs (again to kill them)`
          : `worker ${worker.name}: killing running runs`,
      );
      worker.close(stops > 1).then(done, done);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  return 0;
}
