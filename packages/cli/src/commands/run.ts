/** `pnpm gibbs run <experiment> [--steps N] [--seed S] [--out DIR] [--log-every K] [--<param> v]` */
import { join } from 'node:path';
import { type Experiment, GibbsError, type Simulation } from '@gibbs/core';
import { parseServeAddress, serveEnvironment, serveLiveRun } from '@gibbs/core/node';
import {
  type ArgSpec,
  type ParsedArgs,
  parseArgs,
  takeBackend,
  takeFlag,
  takeInt,
  takeString,
} from '../args.ts';
import { resolveEnvironment } from '../env-module.ts';
import {
  describeSchema,
  foldHyperparameters,
  formatParams,
  hyperparameterKeys,
  hyperparameterSchema,
} from '../params.ts';
import { Progress } from '../progress.ts';
import { FrameRecorder } from '../record.ts';
import { builtinExperiments, loadExperiment } from '../repo.ts';
import { executeRun } from '../run.ts';
import {
  checkServePublic,
  prepareOutDir,
  probePort,
  resumeRunDir,
  serveError,
} from '../run-guards.ts';

export const describe =
  'run an experiment (built-in name or module path), writing config.json and metrics.jsonl';

function usage(): string {
  return [
    'Usage: pnpm gibbs run <experiment> [--steps N] [--seed S] [--out DIR] [--log-every K]',
    '                      [--backend wasm|cpu|webgl|webgpu] [--<param> <value> ...]',
    '                      [--serve [HOST:]PORT [--paused]]  (watch and control it live over a',
    '                      WebSocket; loopback unless HOST is given; a HOST beyond loopback needs',
    '                      --serve-public (no authentication); --paused waits for a watcher;',
    '                      pages of loopback origins only, unless --origin URL[,URL...]|any)',
    '                      [--serve [HOST:]PORT --external]  (no policy: the environment waits for',
    '                      reset/act messages from a client, e.g. clients/python/gibbs_client.py;',
    '                      <experiment> then names an environment; --steps N ends it after N steps)',
    '                      [--record [--record-every K]]  (render frames into DIR/frames.bin, every',
    '                      K steps (default: --log-every), for `pnpm gibbs view --replay DIR`)',
    '                      [--overwrite]  (DIR may hold an earlier run: its config.json,',
    '                      metrics.jsonl, frames.bin and rounds.jsonl are replaced; without it a',
    '                      non-empty DIR is refused)',
    '--resume DIR (battle-train) continues the run in DIR itself unless --out is given: the rows',
    'after the checkpoint are dropped and the run appends to the same metrics.jsonl; with another',
    '--out, that directory holds the rows from the checkpoint on (config.json: resumedAt).',
    'SIGINT/SIGTERM stop the run between steps: rows so far are kept, config.json says "stopped"',
    'and at which step, and the exit code is 130/143.',
    `Built-in experiments: ${builtinExperiments().join(', ')}`,
    'An experiment may also be the path of a module that exports one (./my-experiment.ts).',
  ].join('\n');
}

/** run's own options; any other `--name value` is a parameter of the experiment. */
export const RUN_ARGS: ArgSpec = {
  command: 'gibbs run',
  params: true,
  options: {
    steps: { type: 'string' },
    seed: { type: 'string' },
    out: { type: 'string' },
    'log-every': { type: 'string' },
    backend: { type: 'string' },
    serve: { type: 'string' },
    origin: { type: 'string' },
    'record-every': { type: 'string' },
    external: { type: 'boolean' },
    'serve-public': { type: 'boolean' },
    paused: { type: 'boolean' },
    record: { type: 'boolean' },
    overwrite: { type: 'boolean' },
  },
};

export async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv, RUN_ARGS);
  if (args.options.has('help')) {
    const ref = args.positionals[0];
    console.log(usage());
    if (ref) console.log(`\n${experimentHelp(await loadExperiment(ref), args)}`);
    return 0;
  }
  const ref = args.positionals[0];
  if (!ref || args.positionals.length > 1) {
    console.error(usage());
    return 2;
  }
  if (takeFlag(args, 'external')) return runExternal(ref, args);
  const experiment = await loadExperiment(ref);
  const steps = takeInt(args, 'steps', experiment.defaultSteps ?? 1000, 1);
  const seed = takeInt(args, 'seed', 0, 0, 2 ** 32 - 1);
  const logEvery = takeInt(args, 'log-every', Math.max(1, Math.floor(steps / 100)), 1);
  const backend = takeBackend(args);
  const serveAt = takeString(args, 'serve');
  const address = serveAt === undefined ? null : parseServeAddress(serveAt);
  const servePublic = takeFlag(args, 'serve-public');
  const warning = address ? checkServePublic(address, serveAt ?? '', servePublic) : null;
  const paused = takeFlag(args, 'paused');
  const origin = takeString(args, 'origin');
  const origins = origin === 'any' ? 'any' : origin?.split(',').map((o) => o.trim());
  const recordEvery = takeInt(args, 'record-every', 0, 1);
  const record = takeFlag(args, 'record') || recordEvery > 0;
  const overwrite = takeFlag(args, 'overwrite');
  // A resume without --out continues the run it resumes, in its own directory.
  const out =
    takeString(args, 'out') ??
    resumeRunDir(args.options.get('resume')) ??
    `runs/${experiment.name}-s${seed}-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  if (out.trim() === '') throw GibbsError.invalid('--out', out, 'a directory path');
  const given: Record<string, unknown> = {};
  for (const [k, v] of args.options) {
    if (v === true) throw GibbsError.invalid(`--${k}`, 'no value', 'a value after the parameter');
    given[k] = v;
  }
  const rawParams = foldHyperparameters(experiment, given);
  if (address) await probePort(address);
  if (servePublic && !address)
    throw GibbsError.invalid('--serve-public', 'no --serve', '--serve HOST:PORT with it');
  prepareOutDir(out, overwrite, rawParams.resume);
  if (warning) console.error(warning);
  const progress = new Progress(experiment.name);
  // SIGINT/SIGTERM: stop between steps (rows flushed, config.json "stopped"); a second signal,
  // or a run that does not reach the next step within 5 s, exits at once, config.json saying
  // "stopped" at the last step done.
  const stop = new AbortController();
  let stoppedBy: NodeJS.Signals | null = null;
  let markStopped: () => void = () => {};
  const exitNow = (code: number) => {
    try {
      markStopped();
    } finally {
      process.exit(code);
    }
  };
  const onSignal = (sig: NodeJS.Signals) => {
    const code = sig === 'SIGINT' ? 130 : 143;
    if (stoppedBy) exitNow(code);
    stoppedBy = sig;
    progress.log(`${sig}: stopping after the current step`);
    stop.abort();
    setTimeout(() => {
      progress.log(`${sig}: the current step did not end within 5 s; exiting`);
      exitNow(code);
    }, 5000).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
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
    signal: stop.signal,
    onForcedStop: (mark) => {
      markStopped = mark;
    },
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
      }).catch((err: unknown) => {
        throw serveError(err, serveAt ?? '');
      });
      progress.log(`serving ${live.server.url}`);
      return live.hooks;
    },
  })
    .catch((err: unknown) => {
      rec.file?.abort();
      throw err;
    })
    .finally(() => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    });
  rec.file?.commit();
  progress.finish(outcome.steps);
  if (outcome.stopped) {
    console.error(
      `stopped at step ${outcome.steps} (${stoppedBy ?? 'signal'}): rows so far in ${outcome.outDir}/metrics.jsonl`,
    );
    return stoppedBy === 'SIGTERM' ? 143 : 130;
  }
  if (outcome.last) console.log(JSON.stringify(outcome.last));
  console.log(
    `wrote ${outcome.outDir}/config.json and metrics.jsonl${rec.file ? ` and frames.bin (${rec.file.frames} frames)` : ''}`,
  );
  return 0;
}

/**
 * What `run <experiment> --help` prints after the usage: each parameter with its type, default
 * and description, then the algorithm hyperparameters (for the `--algo` given, or the default).
 */
export function experimentHelp(exp: Experiment, args: ParsedArgs): string {
  const lines = [`${exp.name}: ${exp.description}`];
  if (exp.defaultSteps !== undefined) lines.push(`--steps defaults to ${exp.defaultSteps}.`);
  const params = describeSchema(exp.params);
  const h = exp.hyperparameters;
  const given = Object.fromEntries([...args.options].filter(([k]) => k === h?.by));
  const chosen = hyperparameterSchema(exp, given);
  const keys = chosen ? hyperparameterKeys(exp, chosen.schema) : [];
  const hyper = chosen ? describeSchema(chosen.schema).filter((r) => keys.includes(r.name)) : [];
  lines.push('Parameters:', ...formatParams(params, hyper));
  if (h && chosen) {
    const others = Object.keys(h.schemas).filter((k) => k !== chosen.choice);
    lines.push(
      '',
      `Hyperparameters of --${h.by} ${chosen.choice}: flags, or keys of the --${h.param} JSON (a flag wins)`,
      `(--${h.by} ${others.join('|')} --help: another's):`,
      ...formatParams(hyper, params),
    );
  }
  return lines.join('\n');
}

/**
 * `--serve ADDRESS --external`: serve an environment (registered name or module path) that a
 * client steps with `reset` and `act` messages (docs/python.md). No policy, no files: the run
 * lasts until a client sends `finish`, --steps steps are taken, or Ctrl-C.
 */
async function runExternal(ref: string, args: ParsedArgs): Promise<number> {
  const serveAt = takeString(args, 'serve');
  if (serveAt === undefined)
    throw GibbsError.invalid('--external', 'no --serve', '--serve [HOST:]PORT with --external');
  const address = parseServeAddress(serveAt);
  const warning = checkServePublic(address, serveAt, takeFlag(args, 'serve-public'));
  const seed = takeInt(args, 'seed', 0, 0, 2 ** 32 - 1);
  const steps = args.options.has('steps') ? takeInt(args, 'steps', 1, 1) : null;
  const origin = takeString(args, 'origin');
  const origins = origin === 'any' ? 'any' : origin?.split(',').map((o) => o.trim());
  const rawConfig: Record<string, unknown> = {};
  for (const [k, v] of args.options) {
    if (v === true) throw GibbsError.invalid(`--${k}`, 'no value', 'a value after the parameter');
    rawConfig[k] = v;
  }
  const resolved = await resolveEnvironment(ref, rawConfig);
  const env = typeof resolved.factory === 'function' ? resolved.factory() : resolved.factory;
  if (warning) console.error(warning);
  const server = await serveEnvironment(env, {
    ...address,
    origins,
    seed,
    steps,
    params: resolved.config ?? {},
  });
  console.error(`serving ${server.url} (external: ${resolved.source}; waiting for reset/act)`);
  const stop = () => void server.close();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const status = await server.done;
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  await server.close();
  await env.dispose?.();
  console.log(JSON.stringify({ state: status.state, steps: status.step, episode: status.episode }));
  return status.state === 'failed' ? 1 : 0;
}
