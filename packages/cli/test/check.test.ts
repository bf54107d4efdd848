import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { GibbsError } from '@gibbs/core';
import { describe, expect, it } from 'vitest';
import { checkReference, formatReport } from '../src/commands/check.ts';
import { REPO_ROOT } from '../src/repo.ts';

const fixture = (name: string) => `./packages/cli/test/fixtures/${name}.ts`;

async function failure(ref: string, config: Record<string, unknown> = {}): Promise<GibbsError> {
  try {
    await checkReference(ref, config, {});
  } catch (err) {
    expect(err).toBeInstanceOf(GibbsError);
    return err as GibbsError;
  }
  throw new Error(`checking ${ref} did not throw`);
}

describe('gibbs check', () => {
  it('passes a sound EnvironmentEntry module and reports where it was found', async () => {
    const run = await checkReference(fixture('ticker-env'), {}, { stochastic: false });
    expect(run.problems).toEqual([]);
    expect(run.skipped).toEqual([
      {
        check: 'action-bounds',
        what: 'that the action of a dead slot is ignored',
        why: 'no slot was dead in the first 5 steps after reset(1)',
      },
    ]);
    expect(formatReport(run)).toMatch(
      /ticker-env\.ts: export default \(EnvironmentEntry ticker\) with config \{"bug":"none"\}\nok: passes spec, shapes, finite, determinism, seed, action-bounds, terminal, render\nskipped: action-bounds: that the action of a dead slot is ignored \(no slot was dead in the first 5 steps after reset\(1\)\)$/,
    );
  });

  it('says "skipped", not "passed", for what it did not check: the seed check by default', async () => {
    const run = await checkReference(fixture('ticker-env'), {}, {});
    expect(run.passed).not.toContain('seed');
    const text = formatReport(run);
    expect(text).toMatch(
      /^ok: passes spec, shapes, finite, determinism, action-bounds, terminal, render$/m,
    );
    expect(text).toContain(
      'skipped: seed: whether another seed changes the trajectory (the stochastic option is not set: true, another seed must change it; false, it must not; gibbs check --stochastic true|false)',
    );
    expect(text).not.toContain('every check');
  });

  it('finds a factory under `environment` and an instance before a helper function', async () => {
    const f = await checkReference(fixture('ticker-factory'), {}, {});
    expect(f.source).toBe('export `environment` (factory)');
    expect(f.problems).toEqual([]);
    const i = await checkReference(fixture('ticker-instance'), {}, {});
    expect(i.source).toBe('export `world` (Environment instance)');
    expect(i.problems).toEqual([]);
    expect((await failure(fixture('ticker-instance'), { bug: 'nan-reward' })).message).toMatch(
      /--bug: got "nan-reward", expected no config options: .*ticker-instance\.ts's export `world` is an Environment instance/,
    );
  });

  it('names the call, the field and attaches the original error of a throw inside step', async () => {
    const run = await checkReference(fixture('ticker-env'), { bug: 'throws-in-step' }, {});
    expect(run.problems).toHaveLength(1);
    const [p] = run.problems;
    expect(p.check).toBe('call');
    expect(p.call).toBe('step 3 after reset(1)');
    expect(p.cause).toBeInstanceOf(TypeError);
    const text = formatReport(run);
    expect(text).toContain(
      "ticker: [call] step 3 after reset(1): step: got TypeError: Cannot read properties of undefined (reading 'x'), expected no exception",
    );
    // The user's frame is shown, the checker's frames are cut.
    expect(text).toMatch(/at Ticker\.step \(.*ticker-env\.ts:\d+:\d+\)/);
    expect(text).not.toContain('check.ts');
  });

  it('prints every problem, not only the first', async () => {
    const run = await checkReference(
      fixture('ticker-env'),
      { bug: 'nan-reward' },
      { stochastic: true },
    );
    expect(run.problems.map((p) => p.check)).toEqual(['finite', 'seed']);
    expect(run.problems[0].message).toBe(
      'ticker: [finite] step 1 after reset(1): groups[0:agents].reward[2]: got NaN, expected a finite number (slot 2)',
    );
  });

  it('says which module exports no environment, and what it exports', async () => {
    const err = await failure(fixture('no-env'));
    expect(err.message).toMatch(
      /environment module .*no-env\.ts: it exports no environment; found exports: answer, greet/,
    );
  });

  it('says which module throws on import, with the original error as cause', async () => {
    const err = await failure(fixture('throws-on-import'));
    expect(err.message).toMatch(
      /environment module .*throws-on-import\.ts: importing the module failed: map table not found/,
    );
    expect((err.cause as Error).message).toBe('map table not found while loading the module');
  });

  it('rejects unknown names, missing files and unknown config keys', async () => {
    expect((await failure('no-such-world')).message).toMatch(
      /environment: got "no-such-world", expected a registered environment/,
    );
    expect((await failure('./missing.ts')).message).toMatch(
      /expected the path of an existing module/,
    );
    expect((await failure(fixture('ticker-env'), { bugs: 'x' })).message).toMatch(
      /environment ticker: unknown parameter --bugs \(got "x"\); valid parameters: bug/,
    );
  });

  it('exits 1 with the problems on a broken module, 2 on an unusable one (CLI process)', () => {
    const cli = (...args: string[]) =>
      spawnSync(
        process.execPath,
        ['--import', 'tsx', join(REPO_ROOT, 'packages/cli/src/main.ts'), 'check', ...args],
        {
          cwd: REPO_ROOT,
          encoding: 'utf8',
        },
      );
    const broken = cli(fixture('ticker-env'), '--bug', 'nan-reward');
    expect(broken.status).toBe(1);
    expect(broken.stdout).toContain(
      '[finite] step 1 after reset(1): groups[0:agents].reward[2]: got NaN',
    );
    const unusable = cli(fixture('no-env'));
    expect(unusable.status).toBe(2);
    expect(unusable.stderr).toContain('it exports no environment');
  });
});
