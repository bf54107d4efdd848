/**
 * Soak test of a served run: a simulation in a worker, served over a WebSocket on loopback, with
 * one watcher that reads everything and one that reads nothing at all (its socket is paused).
 * Memory is sampled every `--every` seconds; the script fails if it grew more than `--max-growth`
 * MiB between the end of the first minute and the end.
 *
 *   npx tsx scripts/soak.ts [--minutes 10] [--every 10] [--max-growth 64]
 *                           [--experiment experiments/battle.ts] [--<param> value ...]
 *
 * Without --experiment it serves the runtime's walkers fixture on a 1024x1024 grid (1 MiB frames).
 */
import { connect, type Socket } from 'node:net';
import { resolve } from 'node:path';
import { scriptArgs, takeNumber, takeString } from '@gibbs/cli/args';
import { GibbsError } from '@gibbs/core';
import { serveRun } from '@gibbs/core/node';
import { startSimulation } from '@gibbs/core/runtime';

const USAGE =
  'Usage: npx tsx scripts/soak.ts [--minutes 10] [--every 10] [--max-growth 64]\n' +
  '                               [--experiment experiments/battle.ts] [--<param> value ...]';
const { minutes, every, maxGrowth, experiment, params } = scriptArgs(
  'soak',
  USAGE,
  {
    params: true,
    options: {
      minutes: { type: 'string' },
      every: { type: 'string' },
      'max-growth': { type: 'string' },
      experiment: { type: 'string' },
    },
  },
  (args) => {
    const o = {
      minutes: takeNumber(args, 'minutes', 10, 0),
      every: takeNumber(args, 'every', 10, 0.1),
      maxGrowth: takeNumber(args, 'max-growth', 64, 0),
      experiment: takeString(args, 'experiment') ?? '',
      params: {} as Record<string, string>,
    };
    // What is left are the experiment's parameters.
    for (const [k, v] of args.options) {
      if (v === true) throw GibbsError.invalid(`--${k}`, 'no value', 'a value after the parameter');
      o.params[k] = v;
    }
    return o;
  },
);
const module = experiment
  ? resolve(experiment)
  : resolve(import.meta.dirname, '../packages/core/test/fixtures/walkers.ts');
if (!experiment) Object.assign(params, { width: '1024', height: '1024', agents: '2000' }, params);

const mib = (n: number) => n / 2 ** 20;
const handle = await startSimulation({ experiment: module, worker: true, seed: 1, params });
const server = await serveRun(handle, { maxFps: 30 });
console.log(`soak: ${handle.info.experiment} served at ${server.url} for ${minutes} min`);

/** A raw WebSocket connection: the handshake, then `onData` for every byte that arrives. */
function watcher(onData: ((chunk: Buffer) => void) | null): Socket {
  const s = connect(server.port, '127.0.0.1', () => {
    s.write(
      'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
  });
  s.on('error', () => {});
  if (onData) s.on('data', onData);
  else s.once('data', () => s.pause()); // reads the handshake answer, then nothing, ever
  return s;
}
// The watcher that reads everything (counts bytes), and the one that reads nothing.
let bytes = 0;
const reader = watcher((chunk) => {
  bytes += chunk.length;
});
const sleeper = watcher(null);

await handle.start();
const t0 = performance.now();
const rows: { t: number; rss: number; heap: number; ab: number; buffered: number; step: number }[] =
  [];
let baseline: number | null = null;
while (performance.now() - t0 < minutes * 60_000) {
  await new Promise((r) => setTimeout(r, every * 1000));
  const m = process.memoryUsage();
  const row = {
    t: (performance.now() - t0) / 1000,
    rss: mib(m.rss),
    heap: mib(m.heapUsed),
    ab: mib(m.arrayBuffers),
    buffered: mib(server.bufferedBytes()),
    step: handle.status.step,
  };
  rows.push(row);
  if (baseline === null && row.t >= Math.min(60, (minutes * 60) / 4)) baseline = row.rss;
  console.log(
    `t=${row.t.toFixed(0)}s step=${row.step} rss=${row.rss.toFixed(1)}MiB heap=${row.heap.toFixed(1)}MiB ` +
      `arrayBuffers=${row.ab.toFixed(1)}MiB buffered=${row.buffered.toFixed(2)}MiB ` +
      `reader=${mib(bytes).toFixed(0)}MiB dropped frames=${handle.status.framesDropped}`,
  );
  if (handle.status.state === 'failed') break;
}
const end = rows[rows.length - 1];
const growth = baseline === null ? 0 : end.rss - baseline;
reader.destroy();
sleeper.destroy();
await server.close();
await handle.dispose();
const ok = handle.status.error === null && growth <= maxGrowth;
console.log(
  `soak: rss grew ${growth.toFixed(1)} MiB after the first minute (limit ${maxGrowth}); ${ok ? 'OK' : 'FAILED'}`,
);
process.exit(ok ? 0 : 1);
