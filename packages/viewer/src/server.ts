/**
 * Serves the viewer (Node side): a vite dev server rooted at this package, with
 *   - a virtual module listing the experiments the page may run (built-ins and user modules);
 *   - `/@gibbs/runs` (JSON list), `/@gibbs/runs/<dir>/frames.bin` and `.../metrics.jsonl`: the
 *     recorded frames and metrics of runs under one runs directory, nothing else, nothing outside;
 *   - COOP/COEP headers, so that the page is cross-origin isolated and may use SharedArrayBuffer.
 * The dev server transforms the TypeScript sources on request: no build step, offline, and the
 * first page load takes a few seconds while vite pre-bundles pixi.js.
 */
import { createReadStream, existsSync, readdirSync, statSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer, type Plugin, type ViteDevServer } from 'vite';

export const VIEWER_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_ROOT = resolve(VIEWER_ROOT, '../..');
/** Name of the recorded frames file in a run directory. */
export const FRAMES_FILE = 'frames.bin';

export const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
} as const;

export interface ViewerServerOptions {
  /** Experiment name to the absolute path of its module. */
  experiments: Record<string, string>;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Directory whose run folders' recorded frames the page may load. */
  runsDir?: string;
  /** What the page starts with (experiment, seed, params, attach address, replay path). */
  defaults?: {
    experiment?: string;
    seed?: number;
    params?: Record<string, string>;
    attach?: string;
    replay?: string;
    thread?: 'worker' | 'main';
  };
  /** Print vite's own log lines. */
  verbose?: boolean;
}

export interface ViewerServer {
  url: string;
  server: ViteDevServer;
  close(): Promise<void>;
}

/**
 * The source of `virtual:gibbs-experiments`: a lazy import of each experiment module (by the
 * specifier given), the page's defaults and what serves it.
 */
export function experimentsModule(
  specifiers: Record<string, string>,
  defaults: ViewerServerOptions['defaults'],
  site: 'dev' | 'static',
): string {
  const entries = Object.entries(specifiers).map(
    ([name, spec]) => `  ${JSON.stringify(name)}: () => import(${JSON.stringify(spec)}),`,
  );
  return [
    `export const experiments = {\n${entries.join('\n')}\n};`,
    `export const defaults = ${JSON.stringify(defaults ?? {})};`,
    `export const site = ${JSON.stringify(site)};`,
    '',
  ].join('\n');
}

/** Resolves `virtual:gibbs-experiments` to `source`. */
export function virtualExperiments(source: () => string): Plugin {
  const id = 'virtual:gibbs-experiments';
  const resolved = `\0${id}`;
  return {
    name: 'gibbs-experiments',
    resolveId: (spec) => (spec === id ? resolved : undefined),
    load: (spec) => (spec === resolved ? source() : undefined),
  };
}

function gibbsPlugin(opts: ViewerServerOptions): Plugin {
  const runsDir = opts.runsDir ? resolve(opts.runsDir) : null;
  return {
    name: 'gibbs-viewer',
    configureServer(server) {
      server.middlewares.use('/@gibbs/runs', (req, res) => {
        const path = decodeURIComponent((req.url ?? '/').split('?')[0]);
        if (path === '/' || path === '') {
          res.setHeader('Content-Type', 'application/json');
          res.end(JSON.stringify(runsDir ? listRuns(runsDir) : []));
          return;
        }
        if (!runsDir) return notFound(res, 'no runs directory was given to the viewer');
        const file = resolve(runsDir, `.${path}`);
        const served = [FRAMES_FILE, 'metrics.jsonl'].some((f) => file.endsWith(`${sep}${f}`));
        if (!file.startsWith(runsDir + sep) || !served) {
          return notFound(
            res,
            `not a run's frames or metrics file under the runs directory: ${path}`,
          );
        }
        if (!existsSync(file) && file.endsWith('.jsonl')) {
          // A run without metrics still replays: nothing to chart, not an error.
          res.statusCode = 204;
          res.end();
          return;
        }
        if (!existsSync(file)) return notFound(res, `no recorded frames at ${path}`);
        res.setHeader(
          'Content-Type',
          file.endsWith('.jsonl') ? 'application/x-ndjson' : 'application/octet-stream',
        );
        res.setHeader('Content-Length', String(statSync(file).size));
        createReadStream(file).pipe(res);
      });
    },
  };
}

function notFound(res: ServerResponse, message: string): void {
  res.statusCode = 404;
  res.setHeader('Content-Type', 'text/plain');
  res.end(message);
}

/** Run folders (relative to `root`, two levels deep at most) that hold recorded frames. */
export function listRuns(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, depth: number) => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    if (names.includes(FRAMES_FILE)) out.push(relative(root, dir).split(sep).join('/') || '.');
    if (depth === 0) return;
    for (const n of names) {
      const p = join(dir, n);
      if (!n.startsWith('.') && statSync(p, { throwIfNoEntry: false })?.isDirectory())
        walk(p, depth - 1);
    }
  };
  walk(root, 2);
  return out.sort();
}

export async function startViewerServer(opts: ViewerServerOptions): Promise<ViewerServer> {
  const extraDirs = Object.values(opts.experiments).map((p) => dirname(resolve(p)));
  const server = await createServer({
    configFile: false,
    root: VIEWER_ROOT,
    logLevel: opts.verbose ? 'info' : 'warn',
    clearScreen: false,
    plugins: [
      virtualExperiments(() =>
        experimentsModule(
          Object.fromEntries(
            Object.entries(opts.experiments).map(([name, path]) => [name, `/@fs${resolve(path)}`]),
          ),
          opts.defaults,
          'dev',
        ),
      ),
      gibbsPlugin(opts),
    ],
    server: {
      host: opts.host ?? '127.0.0.1',
      port: opts.port ?? 0,
      strictPort: opts.port !== undefined && opts.port !== 0,
      headers: ISOLATION_HEADERS,
      hmr: false,
      fs: { allow: [REPO_ROOT, ...extraDirs] },
    },
    optimizeDeps: { include: ['pixi.js', 'uplot'] },
    worker: { format: 'es' },
  });
  await server.listen();
  const url = server.resolvedUrls?.local[0];
  if (!url) {
    await server.close();
    throw new Error('viewer: the dev server did not report an address');
  }
  return { url, server, close: () => server.close() };
}
