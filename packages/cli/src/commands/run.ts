/** `pnpm gibbs run <experiment> [--steps N] [--seed S] [--out DIR] [--log-every K] [--<param> v]` */
import { join } from 'node:path';
import { GibbsError, type Simulation } from '@gibbs/core';
import { parseServeAddress, serveLiveRun } from '@gibbs/core/node';
import { parseArgs, takeFlag, takeInt, takeString } from '../args.ts';
import { Progress } from '../progress.ts';
import { FrameRecorder } from '../record.ts';
import { builtinExperiments, loadExperiment } from '../repo.ts';
import { executeRun } from '../run.ts';

export const describe =
  'run an experiment (built-in name or module path), writing config.json and metrics.jsonl';

function usage(): string {
  return [
    'Usage: pnpm gibbs run <experiment> [--steps N] [--seed S] [--out DIR] [--log-every K]',
    '                      [--backend wasm|cpu|webgl|webgpu] [--<param> <value> ...]',
    '                      [--serve [HOST:]PORT [--paused]]  (watch and control it live over a',
    '                      WebSocket; loopback unless HOST is given; --paused waits for a watcher;',
    '                      pages of loopback origins only, unless --origin URL[,URL...]|any)',
    '                      [--record [--record-every K]]  (render frames into DIR/frames.bin, every',
    '                      K steps (default: --log-every), for `pnpm gibbs view --replay DIR`)',
    `Built-in experiments: ${builtinExperiments().join(', ')}`,
    'An experiment may also be the path of a module that exports one (./my-experiment.ts).',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  if (args.options.has('help')) {
    const ref = args.positionals[0];
    console.log(usage());
    if (ref) {
      const exp = await loadExperiment(ref);
      console.log(`\n${exp.name}: ${exp.description}\nParameters:`);
      for (const [k, f] of Object.entries(exp.params.shape)) {
        console.log(`  --${k}  ${(f as { description?: string }).description ?? ''}`);
      }
    }
    return 0;
  }
  const ref = args.positionals[0];
  if (!ref || args.positionals.length > 1) {
    console.error(usage());
    return 2;
  }
  const experiment = await loadExperiment(ref);
  const steps = takeInt(args, 'steps', experiment.defaultSteps ?? 1000, 1);
  const seed = takeInt(args, 'seed', 0, 0, 2 ** 32 - 1);
  const logEvery = takeInt(args, 'log-every', Math.max(1, Math.floor(steps / 100)), 1);
  const backend = takeString(args, 'backend');
  const serveAt = takeString(args, 'serve');
  const address = serveAt === undefined ? null : parseServeAddress(serveAt);
  const paused = takeFlag(args, 'paused');
  const origin = takeString(args, 'origin');
  const origins = origin === 'any' ? 'any' : origin?.split(',').map((o) => o.trim());
  const recordEvery = takeInt(args, 'record-every', 0, 1);
  const record = takeFlag(args, 'record') || recordEvery > 0;
  const out =
    takeString(args, 'out') ??
    `runs/${experiment.name}-s${seed}-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  const rawParams: Record<string, unknown> = {};
  for (const [k, v] of args.options) {
    if (v === true) throw GibbsError.invalid(`--${k}`, 'no value', 'a value after the parameter');
    rawParams[k] = v;
  }
  const progress = new Progress(experiment.name);
  // --record: the frames of the simulation, written while it runs (set in onSimulation).
  const rec: { file: FrameRecorder | null; sim: Simulation | null } = { file: null, sim: null };
  const every = recordEvery || logEvery;
  const recordFrame = () => {
    const f = rec.sim?.frame();
    if (f) rec.file?.record(f);
  };
  const outcome = await executeRun({
    experiment,
    rawParams,
    steps,
    seed,
    logEvery,
    outDir: out,
    backend,
    onProgress: (d, t) => {
      progress.update(d, t);
      if (rec.file && (d % every === 0 || d === t)) recordFrame();
    },
    log: (line) => progress.log(line),
    onSimulation: async (sim, run) => {
      if (record) {
        rec.sim = sim;
        rec.file = new FrameRecorder(join(out, 'frames.bin'), {
          experiment: experiment.name,
          seed,
          params: run.params,
          every,
        });
        recordFrame();
      }
      if (!address) return undefined;
      const live = await serveLiveRun(sim, {
        ...address,
        experiment,
        params: run.params,
        seed,
        steps: run.steps,
        logEvery,
        paused,
        origins,
      });
      progress.log(`serving ${live.server.url}`);
      return live.hooks;
    },
  }).catch((err: unknown) => {
    rec.file?.abort();
    throw err;
  });
  rec.file?.commit();
  progress.finish(outcome.steps);
  if (outcome.last) console.log(JSON.stringify(outcome.last));
  console.log(
    `wrote ${outcome.outDir}/config.json and metrics.jsonl${rec.file ? ` and frames.bin (${rec.file.frames} frames)` : ''}`,
  );
  return 0;
}
