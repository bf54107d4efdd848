/** `gibbs aif replay` as a user runs it: one JSON object on stdout; bad input exits non-zero. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../../..');
const CASE = resolve(ROOT, 'packages/agents/test/conformance/pymdp/tmaze_len1.json');
const cli = (...args: string[]) =>
  spawnSync(
    process.execPath,
    ['--import', 'tsx', resolve(ROOT, 'packages/cli/src/main.ts'), ...args],
    {
      cwd: ROOT,
      encoding: 'utf8',
    },
  );

describe('gibbs aif replay', () => {
  it('prints exactly one JSON object with the expected steps', () => {
    const r = cli('aif', 'replay', CASE);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(Object.keys(out)).toEqual(['steps']);
    const want = JSON.parse(readFileSync(CASE, 'utf8')).expected.steps;
    expect(out.steps.map((s: { action: number[] }) => s.action)).toEqual(
      want.map((s: { action: number[] }) => s.action),
    );
    expect(Object.keys(out.steps[0]).sort()).toEqual(
      [
        'F',
        'action',
        'neg_efe',
        'param_info_gain',
        'q_pi',
        'qs',
        'state_info_gain',
        'utility',
      ].sort(),
    );
  });
  it('exits non-zero on a bad model, naming the array', () => {
    const c = JSON.parse(readFileSync(CASE, 'utf8'));
    c.model.A[0][0][0][0] = 0.5;
    const dir = mkdtempSync(join(tmpdir(), 'gibbs-aif-'));
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify(c));
    const r = cli('aif', 'replay', file);
    expect(r.status).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('A[0][:, 0, 0]');
  });
});
