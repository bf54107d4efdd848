/**
 * `pnpm gibbs sweep <experiment> --grid p=v1,v2 [--grid ...] --seeds 0..4 [--out DIR]
 *   [--concurrency N | --queue redis://[:password@]host:port [--no-wait]] [--<param> v ...]`
 * `pnpm gibbs sweep status <sweep dir> [--queue URL]`
 * `pnpm gibbs sweep report <sweep dir> [--metrics a,b] [--confidence 0.95] [--csv] [--queue URL]`
 * `pnpm gibbs sweep plot <sweep dir> --x <param> --y <metric[,metric]> [--svg FILE]`
 */
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { GibbsError } from '@gibbs/core';
import { removeStaleFiles, writeFileAtomic } from '@gibbs/core/node';
import type { GridAxis, RedisTarget, RunStatus, SweepSpec } from '@gibbs/sweep';
import {
  type ArgSpec,
  type ParsedArgs,
  parseArgs,
  takeFlag,
  takeInt,
  takeList,
  takeString,
} from '../args.ts';
import { foldHyperparameters } from '../params.ts';
import { loadExperiment } from '../repo.ts';
import { gibbsVersion } from '../run.ts';
import {
  importSweep,
  loadSweepPackage,
  SWEEP_CHILD,
  type Sweep,
  type SweepLoader,
} from '../sweep-package.ts';

export const describe =
  'run an experiment over a grid of parameters and seeds (local pool or BullMQ queue)';

function usage(): string {
  return [
    'Usage: pnpm gibbs sweep <experiment> --grid <param>=<v1,v2,...|a..b:step> [--grid ...]',
    '         --seeds <0,1,2|0..4> [--out DIR] [--steps N] [--log-every K] [--<param> <value> ...]',
    '         [--concurrency N]                      local pool (default: the number of cores)',
    '         [--runs-per-process N]                 runs one process does in turn (default 20)',
    '         [--queue redis://[:password@]host:port [--queue-name NAME] [--no-wait]]',
    '         [--quiet]                              no progress display',
    '       pnpm gibbs sweep status <sweep dir> [--all] [--queue URL]',
    '       pnpm gibbs sweep report <sweep dir> [--metrics a,b] [--confidence 0.95] [--csv]',
    '       pnpm gibbs sweep plot <sweep dir> --x <param> --y <metric[,metric]> [--svg FILE] [--confidence 0.95]',
    'Runs go to <sweep dir>/<param>=<value>_..._s<seed>/ (config.json, metrics.jsonl, done.json);',
    'the default sweep dir is sweeps/<experiment>-<settings hash>. Submitting again skips done runs.',
    'Queued runs are taken by `pnpm gibbs worker --queue URL` on any machine.',
  ].join('\n');
}

const QUEUE_OPTIONS = { queue: { type: 'string' }, 'queue-name': { type: 'string' } } as const;

/** sweep's own options; any other `--name value` is a fixed parameter of the experiment. */
const SWEEP_ARGS: ArgSpec = {
  command: 'gibbs sweep',
  params: true,
  options: {
    grid: { type: 'string', multiple: true },
    seeds: { type: 'string' },
    steps: { type: 'string' },
    'log-every': { type: 'string' },
    backend: { type: 'string' },
    out: { type: 'string' },
    concurrency: { type: 'string' },
    'runs-per-process': { type: 'string' },
    ...QUEUE_OPTIONS,
    'no-wait': { type: 'boolean' },
    quiet: { type: 'boolean' },
  },
};

const SUBCOMMANDS: Record<string, ArgSpec> = {
  status: {
    command: 'gibbs sweep status',
    options: { all: { type: 'boolean' }, ...QUEUE_OPTIONS },
  },
  report: {
    command: 'gibbs sweep report',
    options: {
      metrics: { type: 'string' },
      confidence: { type: 'string' },
      csv: { type: 'boolean' },
      ...QUEUE_OPTIONS,
    },
  },
  plot: {
    command: 'gibbs sweep plot',
    options: {
      x: { type: 'string' },
      y: { type: 'string' },
      svg: { type: 'string' },
      confidence: { type: 'string' },
      ...QUEUE_OPTIONS,
    },
  },
};

/** `load` is how @gibbs/sweep is imported (a test passes one that fails as a missing package). */
export async function main(argv: string[], load: SweepLoader = importSweep): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h') || argv.length === 0) {
    console.log(usage());
    return argv.length === 0 ? 2 : 0;
  }
  const sub = SUBCOMMANDS[argv[0]];
  const args = parseArgs(sub ? argv.slice(1) : argv, sub ?? SWEEP_ARGS);
  const sweeps = await loadSweepPackage('sweep', load);
  if (!sweeps) return 2;
  if (sub) {
    if (argv[0] === 'status') return status(sweeps, args);
    if (argv[0] === 'report') return report(sweeps, args);
    return plot(sweeps, args);
  }
  const {
    buildReport,
    checkQueueName,
    checkRedis,
    DEFAULT_QUEUE,
    DEFAULT_RUNS_PER_PROCESS,
    finalAccounting,
    loadSweep,
    openQueue,
    parseGridOption,
    parseRedisUrl,
    parseSeeds,
    prepareSweep,
    reportMarkdown,
    runLocal,
    submitSweep,
    SweepProgress,
    syncFromQueue,
    writeReport,
  } = sweeps;
  const grids: GridAxis[] = takeList(args, 'grid').map(parseGridOption);
  const ref = args.positionals[0];
  if (!ref || args.positionals.length > 1) {
    console.error(usage());
    return 2;
  }
  const experiment = await loadExperiment(ref);
  const seedsText = takeString(args, 'seeds') ?? '0';
  const seeds = parseSeeds(seedsText);
  const steps = takeInt(args, 'steps', experiment.defaultSteps ?? 1000, 1);
  const logEvery = takeInt(args, 'log-every', Math.max(1, Math.floor(steps / 100)), 1);
  const backend = takeString(args, 'backend') ?? null;
  const out = takeString(args, 'out');
  const concurrency = takeInt(args, 'concurrency', availableParallelism(), 1, 1024);
  const runsPerProcess = takeInt(args, 'runs-per-process', DEFAULT_RUNS_PER_PROCESS, 1);
  const queueUrl = takeString(args, 'queue');
  const queueName = checkQueueName(takeString(args, 'queue-name') ?? DEFAULT_QUEUE);
  const noWait = takeFlag(args, 'no-wait');
  const quiet = takeFlag(args, 'quiet');
  const given: Record<string, unknown> = {};
  for (const [k, v] of args.options) {
    if (v === true) throw GibbsError.invalid(`--${k}`, 'no value', 'a value after the parameter');
    given[k] = v;
  }
  // Hyperparameter flags (battle-train's --lr ...) go into its --config JSON, as in `run`.
  const fixed = foldHyperparameters(experiment, given);
  // Everything that can be wrong is found before a run starts: the Redis first, then the grid.
  const target = queueUrl ? parseRedisUrl(queueUrl) : null;
  if (target) await checkRedis(target);
  const sweep = prepareSweep({
    experiment,
    experimentRef: ref,
    grid: grids,
    seeds,
    fixed,
    steps,
    logEvery,
    backend,
    version: gibbsVersion(),
    out,
    queue: target ? { url: target.redacted, name: queueName } : null,
  });
  const { dir, spec } = sweep;
  // Temp files of dead processes in the sweep directory (each run sweeps its own when it starts).
  removeStaleFiles([dir]);
  const label = `sweep ${spec.experiment.name}`;
  console.error(`${label}: ${sweep.requested.length} runs (${spec.id}) in ${dir}`);
  let failed: number;
  if (!target) {
    const progress = new SweepProgress(label, sweep.requested.length, quiet);
    const summary = await runLocal(sweep, {
      entry: SWEEP_CHILD,
      concurrency,
      runsPerProcess,
      progress,
    });
    progress.finish();
    failed = summary.failed.length;
  } else {
    const queue = openQueue(target, queueName);
    try {
      const submitted = await submitSweep(queue, dir, spec, sweep.requested);
      console.error(
        `${label}: queued ${submitted.added} runs on "${queueName}" at ${target.redacted} (${submitted.done} done already, ${submitted.pending} queued already)`,
      );
      if (noWait) {
        console.error(`follow it with: pnpm gibbs sweep status ${dir}`);
        return 0;
      }
      const progress = new SweepProgress(label, sweep.requested.length, quiet);
      let states: RunStatus[];
      for (;;) {
        states = await syncFromQueue(queue, dir, spec, sweep.requested);
        const running = new Map(
          states.filter((s) => s.state === 'running').map((s) => [s.run.name, s.progress ?? 0]),
        );
        progress.set({
          done: states.filter((s) => s.state === 'done').length,
          failed: states.filter((s) => s.state === 'failed').length,
          queued: states.filter((s) => s.state === 'queued').length,
          running,
        });
        // Every job was queued before this loop: one neither in the queue nor done was removed.
        if (states.every((s) => s.state !== 'queued' && s.state !== 'running')) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      progress.finish();
      // Counted from the run directories, not from the last look at the queue.
      const final = finalAccounting(dir, states);
      const lost = final.lost;
      if (lost.length > 0) {
        console.error(
          `${label}: ${lost.length} runs left the queue unfinished (removed by someone?): ${lost
            .slice(0, 5)
            .map((s) => s.run.name)
            .join(', ')}${lost.length > 5 ? ', ...' : ''}; submit the sweep again to queue them`,
        );
      }
      failed = final.failed.length + lost.length;
    } finally {
      await queue.close();
    }
  }
  const result = buildReport(dir, loadSweep(dir).spec);
  const files = writeReport(dir, result);
  console.log(reportMarkdown(result));
  console.error(`wrote ${files.join(', ')}`);
  return failed > 0 ? 1 : 0;
}

/** The queue of a sweep: --queue if given, else the URL in sweep.json (if it had no password). */
function queueOf(
  s: Sweep,
  args: ParsedArgs,
  spec: SweepSpec,
): { target: RedisTarget; name: string } | null {
  const url = takeString(args, 'queue');
  const name = takeString(args, 'queue-name') ?? spec.queue?.name ?? s.DEFAULT_QUEUE;
  if (url) return { target: s.parseRedisUrl(url), name };
  if (!spec.queue) return null;
  if (spec.queue.url.includes(':***@')) {
    throw GibbsError.invalid('--queue', 'nothing', `the URL with its password (${spec.queue.url})`);
  }
  return { target: s.parseRedisUrl(spec.queue.url), name };
}

async function withQueueStatus(
  s: Sweep,
  args: ParsedArgs,
  dir: string,
  spec: SweepSpec,
): Promise<RunStatus[]> {
  const q = queueOf(s, args, spec);
  if (!q) return s.localStatus(dir, spec);
  await s.checkRedis(q.target);
  const queue = s.openQueue(q.target, q.name);
  try {
    return await s.syncFromQueue(queue, dir, spec);
  } finally {
    await queue.close();
  }
}

/**
 * Copy runs finished on the queue into the sweep directory before a report. Without the queue
 * (Redis down, no password given) the report uses what the directory holds, and says so.
 */
async function collectFromQueue(
  s: Sweep,
  args: ParsedArgs,
  dir: string,
  spec: SweepSpec,
): Promise<void> {
  if (!spec.queue && !args.options.has('queue')) return;
  try {
    await withQueueStatus(s, args, dir, spec);
  } catch (err) {
    if (!(err instanceof GibbsError)) throw err;
    console.error(`gibbs: ${err.message}\n  (reporting the runs in ${dir} only)`);
  }
}

async function status(s: Sweep, args: ParsedArgs): Promise<number> {
  const path = args.positionals[0];
  if (!path) throw GibbsError.invalid('sweep status', 'nothing', 'a sweep directory');
  const all = takeFlag(args, 'all');
  const { dir, spec } = s.loadSweep(path);
  const states = await withQueueStatus(s, args, dir, spec);
  const count = (s: string) => states.filter((x) => x.state === s).length;
  console.log(`sweep ${spec.experiment.name} ${spec.id} (${dir}): ${spec.runs.length} runs`);
  console.log(
    `queued ${count('queued')}, running ${count('running')}, done ${count('done')}, failed ${count('failed')}, pending ${count('pending')}`,
  );
  for (const r of states) {
    if (!all && r.state === 'done') continue;
    const pct =
      r.state === 'running' && r.progress !== undefined ? ` ${Math.round(100 * r.progress)}%` : '';
    const detail = r.detail
      ? `${r.state === 'running' ? ' ' : ': '}${r.detail.split('\n')[0]}`
      : '';
    const extra = `${pct}${detail}`;
    console.log(`  ${r.state.padEnd(8)} ${r.run.name}${extra}`);
  }
  return count('failed') > 0 ? 1 : 0;
}

function takeConfidence(args: ParsedArgs): number {
  const text = takeString(args, 'confidence') ?? '0.95';
  const confidence = Number(text);
  if (!(confidence > 0 && confidence < 1)) {
    throw GibbsError.invalid('--confidence', text, 'a number in (0, 1)');
  }
  return confidence;
}

async function report(s: Sweep, args: ParsedArgs): Promise<number> {
  const path = args.positionals[0];
  if (!path) throw GibbsError.invalid('sweep report', 'nothing', 'a sweep directory');
  const metricsText = takeString(args, 'metrics');
  const confidence = takeConfidence(args);
  const csv = takeFlag(args, 'csv');
  const { dir, spec } = s.loadSweep(path);
  await collectFromQueue(s, args, dir, spec);
  const result = s.buildReport(dir, spec, {
    metrics: metricsText?.split(',').map((m) => m.trim()),
    confidence,
  });
  const files = s.writeReport(dir, result);
  console.log(csv ? s.reportCsv(result) : s.reportMarkdown(result));
  console.error(`wrote ${files.join(', ')}`);
  return 0;
}

async function plot(s: Sweep, args: ParsedArgs): Promise<number> {
  const path = args.positionals[0];
  if (!path) throw GibbsError.invalid('sweep plot', 'nothing', 'a sweep directory');
  const x = takeString(args, 'x');
  const y = takeString(args, 'y')
    ?.split(',')
    .map((m) => m.trim())
    .join(', ');
  const svg = takeString(args, 'svg');
  const confidence = takeConfidence(args);
  const { dir, spec } = s.loadSweep(path);
  if (!x) throw GibbsError.invalid('--x', 'nothing', `a swept parameter (${spec.grid.join(', ')})`);
  if (!y) throw GibbsError.invalid('--y', 'nothing', 'a metric of the runs');
  await collectFromQueue(s, args, dir, spec);
  const result = s.buildReport(dir, spec, { confidence });
  const series = s.seriesOf(result, x, y.split(', '));
  console.log(s.plotAscii(series, { x, y }));
  if (svg) {
    writeFileAtomic(
      resolve(svg),
      s.plotSvg(series, { x, y, confidence, title: `${spec.experiment.name}: ${y} against ${x}` }),
    );
    console.error(`wrote ${resolve(svg)}`);
  }
  return 0;
}
