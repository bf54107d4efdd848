/**
 * `@gibbs/core`'s root entry is what a world's author imports: its import graph (followed through
 * every relative import, static or dynamic) reaches no package but zod. tfjs is
 * `@gibbs/core/backend`; rxjs and comlink are `@gibbs/core/runtime`.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '../src');

/** Every module reached from `entry` through relative imports, and the bare specifiers they import. */
function graph(entry: string): { modules: Set<string>; packages: Set<string> } {
  const modules = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (modules.has(file)) return;
    modules.add(file);
    const text = readFileSync(file, 'utf8');
    // `typeof import('node:fs')` is a type: it loads nothing.
    for (const m of text
      .replace(/typeof import\(/g, 'typeof_(')
      .matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s*'([^']+)'|import\(\s*'([^']+)'\s*\)/g)) {
      const spec = m[1] ?? m[2];
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec));
      else packages.add(spec);
    }
  };
  visit(entry);
  return { modules, packages };
}

describe('@gibbs/core entry points', () => {
  it('the root reaches zod and nothing else: no tfjs, rxjs or comlink for a world author', () => {
    const { modules, packages } = graph(resolve(SRC, 'index.ts'));
    expect([...packages].sort()).toEqual(['zod']);
    expect(modules.size).toBeGreaterThan(10);
  });

  it('the runtime entry brings rxjs and comlink; the backend entry tfjs', () => {
    expect(graph(resolve(SRC, 'runtime/index.ts')).packages).toEqual(
      new Set(['zod', 'rxjs', 'comlink']),
    );
    expect([...graph(resolve(SRC, 'backend.ts')).packages]).toContain('@tensorflow/tfjs');
  });
});
