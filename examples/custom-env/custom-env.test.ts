/**
 * The worked example of docs/custom-environments.md: the Coins world passes the checker, its broken
 * copy fails it with the expected messages, and its experiment runs from the CLI.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { executeRun, loadExperiment } from '@gibbs/cli';
import { checkReference } from '@gibbs/cli/commands/check';
import { REPO_ROOT } from '@gibbs/cli/repo';
import { afterAll, describe, expect, it } from 'vitest';

const here = (f: string) => join(REPO_ROOT, 'examples/custom-env', f);
const tmp = mkdtempSync(join(tmpdir(), 'gibbs-custom-env-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function gibbs(...args: string[]) {
  return spawnSync(
    process.execPath,
    ['--import', 'tsx', join(REPO_ROOT, 'packages/cli/src/main.ts'), ...args],
    { cwd: REPO_ROOT, encoding: 'utf8' },
  );
}

describe('examples/custom-env', () => {
  it('coins.ts passes every check, including seed sensitivity', async () => {
    const run = await checkReference(here('coins.ts'), {}, { stochastic: true });
    expect(run.source).toBe('export default (EnvironmentEntry coins)');
    expect(run.problems).toEqual([]);
    expect(run.skipped).toEqual([]); // step after done included: its episodes end
  });

  it('broken-coins.ts fails with one message per planted bug', async () => {
    const run = await checkReference(here('broken-coins.ts'), {}, {});
    const messages = run.problems.map((p) => p.message);
    const expected = [
      // BUG 3: dead walkers keep their -1.
      /^coins: \[terminal\] step \d+ after reset\(1\): groups\[0:walkers\]\.reward\[\d\]: got -1, expected 0 for a dead slot$/,
      // BUG 4: dead walkers rendered.
      /^coins: \[render\] render\(\) after step \d+ after reset\(1\): agents\.count: got 8, expected \d \(the live agents\)$/,
      // BUG 1: no reseed.
      /^coins: \[determinism\] step 0 after reset\(1\): groups\[0:walkers\]\.view\[\d+\]: got [01], expected [01], its value in another run with seed 1 and the same actions/,
      // BUG 2: no action check.
      /^coins: \[action-bounds\] step 1 after reset\(1\) with action 5 on live slot 0 \(valid: 0\.\.4\): groups\[0:walkers\] actions\[0\]: got 5, expected step to throw a GibbsError$/,
    ];
    for (const re of expected)
      expect(
        messages.some((m) => re.test(m)),
        `${re}\n${messages.join('\n')}`,
      ).toBe(true);
    expect(new Set(run.problems.map((p) => p.check))).toEqual(
      new Set(['terminal', 'render', 'determinism', 'action-bounds']),
    );
  });

  it('checking the experiment module instead of the world says so', async () => {
    await expect(checkReference(here('experiment.ts'), {}, {})).rejects.toThrow(
      /experiment\.ts: it exports no environment \(it exports an experiment: check the module of the environment it plays instead\); found exports: default/,
    );
  });

  it('pnpm gibbs check: exit 0 for coins.ts, 1 with the messages for broken-coins.ts', () => {
    const ok = gibbs('check', './examples/custom-env/coins.ts');
    expect(ok.status).toBe(0);
    // Without --stochastic the seed check is skipped, and said to be.
    expect(ok.stdout).toContain(
      'ok: passes spec, shapes, finite, determinism, action-bounds, terminal, render\nskipped: seed: ',
    );
    const bad = gibbs('check', './examples/custom-env/broken-coins.ts');
    expect(bad.status).toBe(1);
    expect(bad.stdout).toMatch(/\d problem\(s\):/);
    expect(bad.stdout).toContain('expected 0 for a dead slot');
    expect(bad.stdout).toContain('expected step to throw a GibbsError');
  });

  it('the experiment runs through executeRun: same seed, same bytes; greedy beats random', async () => {
    const experiment = await loadExperiment(here('experiment.ts'));
    const run = async (dir: string, seed: number, policy: string) => {
      await executeRun({
        experiment,
        rawParams: { policy },
        steps: 200,
        seed,
        logEvery: 10,
        outDir: join(tmp, dir),
      });
      return readFileSync(join(tmp, dir, 'metrics.jsonl'), 'utf8');
    };
    const a = await run('a', 5, 'greedy');
    expect(await run('b', 5, 'greedy')).toBe(a);
    expect(await run('c', 6, 'greedy')).not.toBe(a);
    const lines = a
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(20);
    const random = (await run('d', 5, 'random'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.at(-1).values.coins_total).toBeGreaterThan(2 * random.at(-1).values.coins_total);
  });

  it('pnpm gibbs run ./examples/custom-env/experiment.ts writes config.json and metrics.jsonl', () => {
    const out = join(tmp, 'cli');
    const r = gibbs(
      'run',
      './examples/custom-env/experiment.ts',
      '--steps',
      '30',
      '--log-every',
      '10',
      '--out',
      out,
      '--walkers',
      '4',
    );
    expect(r.status, r.stderr).toBe(0);
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(config).toMatchObject({
      experiment: 'coins',
      params: { walkers: 4 },
      seed: 0,
      steps: 30,
    });
    expect(readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n')).toHaveLength(3);
    const bad = gibbs('run', './examples/custom-env/experiment.ts', '--walkers', 'many');
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/--walkers: got "many", expected an integer/);
  });
});
