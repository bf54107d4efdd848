/**
 * The import graph of workspace modules, read from their source text: relative imports and the
 * workspace's own packages (`@gibbs/*`, through their `exports`) are followed, any other package
 * is recorded by name and not entered. `import type` and `typeof import(...)` load nothing and are
 * left out. Static imports are what loading a module loads; a literal dynamic `import('x')` runs
 * only when its code does, so it is recorded apart (and followed only when asked).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');

/** Workspace package name to its folder. */
function workspace(): Map<string, string> {
  const dirs = [
    ...readdirSync(join(ROOT, 'packages')).map((d) => join(ROOT, 'packages', d)),
    join(ROOT, 'experiments'),
    join(ROOT, 'test-support'),
  ];
  const out = new Map<string, string>();
  for (const dir of dirs) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) out.set(JSON.parse(readFileSync(file, 'utf8')).name, dir);
  }
  return out;
}

export interface ImportEdge {
  /** The importing file. */
  from: string;
  specifier: string;
  dynamic: boolean;
}

export interface ImportGraph {
  /** Every workspace file reached. */
  modules: Set<string>;
  /** Packages outside the workspace that are imported, by specifier. */
  packages: Set<string>;
  edges: ImportEdge[];
}

const STATIC =
  /(?:^|\n)[ \t]*(?:import|export)(?![ \t]+type[ \t{*])[^'";]*?from[ \t]*['"]([^'"]+)['"]|(?:^|\n)[ \t]*import[ \t]*['"]([^'"]+)['"]/g;
const DYNAMIC = /(?<!typeof )\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

/**
 * The graph from `entries` (absolute file paths). `dynamic`: follow literal dynamic imports too.
 * `stopAt`: workspace packages recorded in `packages` but not entered.
 */
export function importGraph(
  entries: string[],
  opts: { dynamic?: boolean; stopAt?: string[] } = {},
): ImportGraph {
  const packagesDir = workspace();
  const graph: ImportGraph = { modules: new Set(), packages: new Set(), edges: [] };
  const target = (from: string, spec: string): string | null => {
    if (spec.startsWith('.')) return resolve(dirname(from), spec);
    const m = /^(@gibbs\/[^/]+)(\/.*)?$/.exec(spec);
    const dir = m ? packagesDir.get(m[1]) : undefined;
    if (!m || !dir || opts.stopAt?.includes(m[1])) return null;
    const exports = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).exports;
    const file = exports?.[`.${m[2] ?? ''}`];
    if (typeof file !== 'string') throw new Error(`${from}: ${spec} is not an entry of ${m[1]}`);
    return resolve(dir, file);
  };
  const visit = (file: string) => {
    if (graph.modules.has(file) || !existsSync(file)) return;
    graph.modules.add(file);
    // Comments that open a line: a documented `import('x')` is no import.
    const text = readFileSync(file, 'utf8')
      .replace(/(^|\n)[ \t]*\/\*[\s\S]*?\*\//g, '$1')
      .replace(/(^|\n)[ \t]*\/\/[^\n]*/g, '$1');
    const found = [
      ...[...text.matchAll(STATIC)].map((m) => ({ specifier: m[1] ?? m[2], dynamic: false })),
      ...[...text.matchAll(DYNAMIC)].map((m) => ({ specifier: m[1], dynamic: true })),
    ];
    for (const { specifier, dynamic } of found) {
      graph.edges.push({ from: file, specifier, dynamic });
      if (dynamic && !opts.dynamic) continue;
      const next = target(file, specifier);
      if (next) visit(next);
      else if (!specifier.startsWith('.')) graph.packages.add(specifier);
    }
  };
  for (const entry of entries) visit(entry);
  return graph;
}
