import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SCRIPT = resolve(import.meta.dirname, 'ising-phase.ts');
const phase = (...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', SCRIPT, ...args], { encoding: 'utf8' });

describe('scripts/ising-phase.ts options', () => {
  it('--help prints the usage and runs nothing', () => {
    const r = phase('--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Usage: pnpm tsx scripts/ising-phase.ts');
    expect(r.stdout).not.toContain('done');
  });

  it('a mistyped option exits 2 naming it, before any run', () => {
    const r = phase('--seed', '5');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('got "--seed"');
    expect(r.stderr).toContain('expected one of --size, --seeds,');
    expect(r.stdout).toBe('');
  });
});
