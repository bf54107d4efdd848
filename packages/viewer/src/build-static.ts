/**
 * The viewer as a static site (Node side, `pnpm build` and `gibbs view --static DIR`): vite builds
 * index.html with the given experiment modules bundled into the page and into its simulation
 * worker, with relative URLs, so that any static file server (or a sub-path of one) serves it.
 * No Node at run time: no runs directory and no COOP/COEP headers unless the host adds them; the
 * page then runs without SharedArrayBuffer and says so.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build, type Plugin } from 'vite';
import { experimentsModule, VIEWER_ROOT, virtualExperiments } from './server.ts';

export interface StaticBuildOptions {
  /** Experiment name to the path of its module. */
  experiments: Record<string, string>;
  /** Where the site goes (emptied first). */
  outDir: string;
  /** The experiment the page starts with (paused), else the first. */
  experiment?: string;
  /** Print vite's own log lines. */
  verbose?: boolean;
}

export interface StaticBuild {
  outDir: string;
  experiments: string[];
  files: number;
  bytes: number;
}

/**
 * An experiment that reaches a Node built-in cannot run in a page: fail the build naming the
 * module and the chain that pulled it in, rather than ship an experiment that dies when picked.
 */
function refuseNodeBuiltins(): Plugin {
  return {
    name: 'gibbs-refuse-node-builtins',
    enforce: 'pre',
    resolveId(spec, importer, options) {
      if (!spec.startsWith('node:')) return undefined;
      // A dynamic import behind a runtime check (core's backend in Node) stays as it is and never
      // runs in a page; a static one would break the module the moment it loads.
      if ((options as { kind?: string }).kind === 'dynamic-import')
        return { id: spec, external: true };
      this.error(
        `${importer ?? '(entry)'} imports ${spec}: a module that runs in the browser cannot use Node built-ins (leave it out of the static viewer, or move the Node part to a module the page does not import)`,
      );
    },
  };
}

function sizeOf(dir: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      const s = sizeOf(p);
      files += s.files;
      bytes += s.bytes;
    } else {
      files += 1;
      bytes += statSync(p).size;
    }
  }
  return { files, bytes };
}

export async function buildStaticViewer(opts: StaticBuildOptions): Promise<StaticBuild> {
  const outDir = resolve(opts.outDir);
  const paths = Object.fromEntries(
    Object.entries(opts.experiments).map(([name, path]) => {
      const abs = resolve(path);
      if (!existsSync(abs))
        throw new Error(`static viewer: experiment ${name}: no module at ${abs}`);
      return [name, abs];
    }),
  );
  const source = () =>
    experimentsModule(paths, opts.experiment ? { experiment: opts.experiment } : {}, 'static');
  const plugins = () => [virtualExperiments(source), refuseNodeBuiltins()];
  await build({
    configFile: false,
    root: VIEWER_ROOT,
    base: './',
    logLevel: opts.verbose ? 'info' : 'warn',
    clearScreen: false,
    plugins: plugins(),
    // A user's module imports core from its own folder: one copy of core and zod in the page,
    // or isExperiment (a zod instanceof) fails.
    resolve: { dedupe: ['@gibbs/core', '@gibbs/env', '@gibbs/agents', 'zod'] },
    worker: { format: 'es', plugins, rollupOptions: { checks: { pluginTimings: false } } },
    build: {
      outDir,
      emptyOutDir: true,
      target: 'es2022',
      reportCompressedSize: false,
      // tfjs and pixi.js are large by nature; the page loads them once.
      chunkSizeWarningLimit: 8192,
      rollupOptions: {
        input: resolve(VIEWER_ROOT, 'index.html'),
        checks: { pluginTimings: false },
      },
    },
  });
  return { outDir, experiments: Object.keys(paths).sort(), ...sizeOf(outDir) };
}
