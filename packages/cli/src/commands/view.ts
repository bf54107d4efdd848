/**
 * `pnpm gibbs view [experiment] [--seed S] [--<param> v ...] [--port P] [--host H] [--open]
 *   [--attach ws://HOST:PORT] [--replay RUN_DIR] [--runs DIR] [--thread worker|main]`:
 * serves the live viewer (a vite dev server: no build step, works offline) and prints its URL.
 * The page runs the experiment in a Web Worker, attaches to a run served with
 * `pnpm gibbs run ... --serve`, or replays a run recorded with `--record`. Ctrl-C stops it.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { GibbsError, parseParams } from '@gibbs/core';
import { buildStaticViewer } from '@gibbs/viewer/build-static';
import { FRAMES_FILE, startViewerServer } from '@gibbs/viewer/server';
import { parseArgs, takeFlag, takeInt, takeString } from '../args.ts';
import { foldHyperparameters } from '../params.ts';
import {
  browserExperiments,
  builtinExperimentPath,
  builtinExperiments,
  loadExperiment,
} from '../repo.ts';
import { isLoopbackHost } from '../run-guards.ts';

export const describe = 'serve the live viewer (watch, steer, inspect, replay) and print its URL';

function usage(): string {
  return [
    'Usage: pnpm gibbs view [experiment] [--seed S] [--<param> <value> ...] [--port P] [--host H]',
    '                       [--open] [--attach ws://HOST:PORT] [--replay RUN_DIR] [--runs DIR]',
    '                       [--thread worker|main] [--serve-public]',
    '       pnpm gibbs view [experiment-module] --static DIR',
    '--static writes the viewer as a static site to DIR (any file server serves it, no Node at',
    'run time) with the built-in experiments that run in a browser, plus the module given.',
    '--host beyond loopback needs --serve-public: the viewer has no authentication.',
    `Built-in experiments: ${builtinExperiments().join(', ')}`,
    'An experiment may also be the path of a module that exports one (./my-experiment.ts).',
    '--attach watches a run started with `pnpm gibbs run <experiment> --serve PORT`;',
    '--replay plays back a run directory written by `pnpm gibbs run <experiment> --record`.',
    'Keys in the page: space play/pause, . step, + - speed, r reset, 0 fit, f follow,',
    '[ ] nudge the first live parameter, a agents drawn one by one (auto/on/off), v record the',
    'stage to WebM (again: stop and download), s PNG snapshot, Esc unselect, ? help.',
    '`pnpm gibbs video RUN_DIR out.webm` renders a recorded run to a WebM, headless.',
  ].join('\n');
}

/** Open a URL in a browser, where a desktop opener exists; false if none was found. */
function openBrowser(url: string): boolean {
  const opener =
    process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'start' : 'xdg-open';
  const onPath = (process.env.PATH ?? '').split(':').some((d) => existsSync(resolve(d, opener)));
  if (!onPath && process.platform === 'linux') return false;
  try {
    const child = spawn(opener, [url], {
      detached: true,
      stdio: 'ignore',
      shell: process.platform === 'win32',
    });
    child.on('error', () => {});
    child.unref();
    return true;
  } catch {
    return false;
  }
}

/** `--static DIR`: the viewer as a static site, with a user's experiment module bundled in. */
async function writeStatic(
  dir: string,
  ref: string | undefined,
  rest: ReadonlyMap<string, string | true>,
): Promise<number> {
  if (rest.size > 0) {
    const names = [...rest.keys()].map((k) => `--${k}`).join(', ');
    throw GibbsError.invalid(
      'view --static',
      names,
      'no other option (the site is served by any file server)',
    );
  }
  const experiments: Record<string, string> = {};
  for (const name of browserExperiments()) experiments[name] = builtinExperimentPath(name);
  let experiment: string | undefined;
  if (ref) {
    const exp = await loadExperiment(ref);
    experiment = exp.name;
    if (!experiments[exp.name] || /[/\\]|\.[mc]?[jt]s$/.test(ref))
      experiments[exp.name] = resolve(ref);
  }
  const t0 = performance.now();
  const out = await buildStaticViewer({ experiments, outDir: dir, experiment });
  console.log(
    `gibbs viewer site: ${out.outDir} (${out.files} files, ${(out.bytes / 2 ** 20).toFixed(1)} MiB, experiments ${out.experiments.join(', ')}; ${((performance.now() - t0) / 1000).toFixed(1)} s)`,
  );
  console.log('Serve it with any static file server, e.g. `python3 -m http.server -d DIR`.');
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {
    command: 'gibbs view',
    params: true,
    options: {
      static: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      attach: { type: 'string' },
      replay: { type: 'string' },
      thread: { type: 'string' },
      seed: { type: 'string' },
      runs: { type: 'string' },
      'serve-public': { type: 'boolean' },
      open: { type: 'boolean' },
    },
  });
  if (args.options.has('help')) {
    console.log(usage());
    return 0;
  }
  if (args.positionals.length > 1) {
    console.error(usage());
    return 2;
  }
  const staticDir = takeString(args, 'static');
  if (staticDir !== undefined) return writeStatic(staticDir, args.positionals[0], args.options);
  const port = takeInt(args, 'port', 0, 0, 65535);
  const host = takeString(args, 'host') ?? '127.0.0.1';
  // The viewer can start, steer and inspect runs, with no authentication: beyond loopback only
  // when asked for, as `run --serve` (run-guards.ts).
  const servePublic = takeFlag(args, 'serve-public');
  if (!isLoopbackHost(host) && !servePublic)
    throw GibbsError.invalid(
      '--host',
      host,
      'a loopback address (127.0.0.1, localhost, ::1); to serve on another interface add --serve-public (the viewer has no authentication)',
    );
  const open = takeFlag(args, 'open');
  const attach = takeString(args, 'attach');
  const replayDir = takeString(args, 'replay');
  const thread = takeString(args, 'thread') ?? 'worker';
  if (thread !== 'worker' && thread !== 'main')
    throw GibbsError.invalid('--thread', thread, 'worker or main');
  const seedGiven = args.options.has('seed');
  const seed = takeInt(args, 'seed', 0, 0, 2 ** 32 - 1);
  const runsOption = takeString(args, 'runs');

  // Every built-in experiment, plus the one named by path.
  const experiments: Record<string, string> = {};
  for (const name of builtinExperiments()) experiments[name] = builtinExperimentPath(name);
  const ref = args.positionals[0];
  let experiment: string | undefined;
  let rawParams: Record<string, string> = {};
  if (ref) {
    const exp = await loadExperiment(ref);
    experiment = exp.name;
    // A module given by path wins over a built-in of the same name.
    if (!experiments[exp.name] || /[/\\]|\.[mc]?[jt]s$/.test(ref))
      experiments[exp.name] = resolve(ref);
    for (const [k, v] of args.options) {
      if (v === true) throw GibbsError.invalid(`--${k}`, 'no value', 'a value after the parameter');
      rawParams[k] = v;
    }
    // Hyperparameter flags (battle-train's --lr ...) go into its --config JSON, as in `run`.
    rawParams = foldHyperparameters(exp, rawParams);
    // Check the parameters here, where the error is easiest to read.
    parseParams(exp.params, rawParams, `experiment "${exp.name}"`);
  } else if (args.options.size > 0) {
    const names = [...args.options.keys()].map((k) => `--${k}`).join(', ');
    throw GibbsError.invalid('view', names, 'experiment parameters only after an experiment name');
  }

  let runsDir = resolve(runsOption ?? 'runs');
  let replay: string | undefined;
  if (replayDir) {
    const dir = resolve(replayDir);
    if (!existsSync(resolve(dir, FRAMES_FILE))) {
      throw GibbsError.invalid(
        '--replay',
        replayDir,
        `a run directory holding ${FRAMES_FILE} (record one with \`pnpm gibbs run <experiment> --record\`)`,
      );
    }
    runsDir = dirname(dir);
    replay = basename(dir);
  }

  if (servePublic && !isLoopbackHost(host))
    console.error(
      `gibbs: warning: serving the viewer on ${host} beyond this machine: there is no authentication, anyone who can reach it can start and steer runs`,
    );
  const server = await startViewerServer({
    experiments,
    host,
    port,
    runsDir,
    defaults: {
      experiment,
      seed: seedGiven ? seed : undefined,
      params: rawParams,
      attach,
      replay,
      thread,
    },
  });
  console.log(`gibbs viewer: ${server.url}`);
  if (open && !openBrowser(server.url))
    console.log('(no browser opener found here: open the URL yourself)');
  console.log('Ctrl-C stops the server.');
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await server.close();
  return 0;
}
