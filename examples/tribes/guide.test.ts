/**
 * docs/custom-environments.md, "Your own world, the whole way", done as written: in a temporary
 * folder outside the repository (a link named `gibbs` to this checkout beside a new folder, as the
 * guide has them), the test runs the guide's shell blocks and writes its package.json, all read out
 * of the page by their `<!-- guide-test: NAME -->` markers, and checks what each step gives. The
 * one block it leaves out is `watch` (the viewer serves until stopped). It also makes the mistake
 * the guide warns of, a package.json without "type": "module", and reads what the checker says.
 * `npm install` needs zod from the npm registry (or npm's cache); without either the test fails
 * saying so. About 30 s.
 */
import { execFile } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '@gibbs/cli/repo';
import { cleanEnv } from '@gibbs/test-support/child';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const GUIDE = readFileSync(join(REPO_ROOT, 'docs/custom-environments.md'), 'utf8');

/** The guide's blocks by marker: `<!-- guide-test: NAME -->` then a fenced block. */
function blocks(): Map<string, string> {
  const out = new Map<string, string>();
  const re = /<!-- guide-test: ([\w.-]+) -->\n```\w*\n([\s\S]*?)```/g;
  for (const m of GUIDE.matchAll(re)) out.set(m[1], m[2]);
  return out;
}
const BLOCKS = blocks();
function block(name: string): string {
  const b = BLOCKS.get(name);
  if (b === undefined) throw new Error(`docs/custom-environments.md has no block "${name}"`);
  return b;
}

// The temporary folder: `gibbs` (a link to this checkout) and `my-world` beside it.
let work = '';
let folder = '';
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'gibbs-guide-'));
  folder = join(work, 'my-world');
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Run a block of the guide with bash (-e: the first failing line fails it); its output. */
async function sh(name: string, cwd: string): Promise<string> {
  const t0 = Date.now();
  try {
    const { stdout, stderr } = await run('bash', ['-e', '-c', block(name)], {
      cwd,
      env: cleanEnv(),
      timeout: 120_000,
      maxBuffer: 16 << 20,
    });
    console.log(`guide: ${name}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return `${stdout}${stderr}`;
  } catch (err) {
    const e = err as Error & { stdout?: string; stderr?: string };
    throw new Error(
      `the guide's "${name}" block failed in ${cwd}: ${e.message}\n${`${e.stdout ?? ''}${e.stderr ?? ''}`.slice(-3000)}`,
    );
  }
}

const lastRow = (file: string) => {
  const lines = readFileSync(join(folder, file), 'utf8').trim().split('\n');
  return { rows: lines.length, last: JSON.parse(lines[lines.length - 1]) };
};

describe('the guide, from an empty folder outside the repository', () => {
  it('has a block for every step', () => {
    expect([...BLOCKS.keys()]).toEqual([
      'folder',
      'package.json',
      'install',
      'check',
      'run',
      'train',
      'watch',
      'sweep',
    ]);
    expect(block('watch')).toBe('npm run gibbs -- view ./train.ts\n');
  });

  it("the guide's excerpts of the example's files are in those files, in order", () => {
    const re = /<!-- guide-excerpt: ([\w./-]+) -->\n```\w*\n([\s\S]*?)```/g;
    const excerpts = [...GUIDE.matchAll(re)];
    expect(excerpts.map((m) => m[1])).toEqual([
      'examples/tribes/play.ts',
      'examples/tribes/train.ts',
    ]);
    for (const [, file, text] of excerpts) {
      const lines = readFileSync(join(REPO_ROOT, file), 'utf8').split('\n');
      let at = 0;
      for (const line of text.split('\n')) {
        if (line.trim() === '...' || line.trim() === '') continue;
        const found = lines.indexOf(line, at);
        expect(found, `${file}: ${line}`).toBeGreaterThanOrEqual(0);
        at = found + 1;
      }
    }
  });

  it('the folder, its package.json, npm install: @gibbs/* link to the checkout', async () => {
    symlinkSync(REPO_ROOT, join(work, 'gibbs'));
    await sh('folder', work);
    for (const f of ['tribes.ts', 'play.ts', 'train.ts']) {
      expect(readFileSync(join(folder, f), 'utf8')).toBe(
        readFileSync(join(REPO_ROOT, 'examples/tribes', f), 'utf8'),
      );
    }
    writeFileSync(join(folder, 'package.json'), block('package.json'));
    expect(JSON.parse(block('package.json')).type).toBe('module');
    try {
      await sh('install', folder);
    } catch (err) {
      throw new Error(
        `npm install needs zod from the npm registry or npm's cache: ${(err as Error).message}`,
      );
    }
    expect(existsSync(join(folder, 'node_modules/zod/package.json'))).toBe(true);
    for (const p of ['core', 'agents']) {
      const linked = join(folder, 'node_modules/@gibbs', p, 'package.json');
      expect(JSON.parse(readFileSync(linked, 'utf8')).name).toBe(`@gibbs/${p}`);
    }
  }, 150_000);

  it('checked: the world passes every check', async () => {
    const out = await sh('check', folder);
    expect(out).toContain('./tribes.ts: export default (EnvironmentEntry tribes)');
    expect(out).toContain('ok: passes every check');
  });

  it('without "type": "module" the checker names the second copy of @gibbs/core, once', async () => {
    // The mistake the guide warns of: the same folder, its package.json without "type".
    const cjs = join(work, 'cjs-world');
    mkdirSync(cjs);
    copyFileSync(join(folder, 'tribes.ts'), join(cjs, 'tribes.ts'));
    const pkg = JSON.parse(block('package.json'));
    delete pkg.type;
    writeFileSync(join(cjs, 'package.json'), JSON.stringify(pkg));
    const opts = { cwd: cjs, env: cleanEnv(), timeout: 120_000, maxBuffer: 16 << 20 };
    await run('npm', ['install', '--no-audit', '--no-fund'], opts);
    const out = await run('npm', ['run', 'gibbs', '--', 'check', './tribes.ts'], opts).then(
      () => '',
      (e: { stdout?: string }) => e.stdout ?? '',
    );
    expect(out).toMatch(/^1 problem\(s\):$/m);
    expect(out).toContain(
      'the module loaded a second copy of @gibbs/core (the same files loaded a second time, as CommonJS beside ES modules?',
    );
    expect(out).not.toContain('expected a GibbsError');
  }, 150_000);

  it('run: play.ts writes its config and metrics', async () => {
    await sh('run', folder);
    expect(JSON.parse(readFileSync(join(folder, 'runs/play/config.json'), 'utf8')).status).toBe(
      'finished',
    );
    const { last } = lastRow('runs/play/metrics.jsonl');
    expect(last.step).toBe(200);
    expect(Object.keys(last.groups)).toEqual(['blue', 'green', 'red']);
    expect(last.values).toHaveProperty('coins_red');
  });

  it('trained: train.ts with PopulationTrainer, the learners loss finite, the win rates logged', async () => {
    await sh('train', folder);
    expect(JSON.parse(readFileSync(join(folder, 'runs/train/config.json'), 'utf8')).status).toBe(
      'finished',
    );
    const { last } = lastRow('runs/train/metrics.jsonl');
    expect(last.step).toBe(300);
    expect(last.values.episodes).toBe(3);
    for (const tribe of ['red', 'green']) {
      expect(Number.isFinite(last.groups[tribe].loss), tribe).toBe(true);
      expect(last.groups[tribe].updates).toBeGreaterThan(0);
    }
    // One shared network (--shared defaults to true): one loss.
    expect(last.groups.green.loss).toBe(last.groups.red.loss);
    expect(last.groups.blue.loss).toBeUndefined();
    const rates = ['red', 'green', 'blue'].map((t) => last.groups[t].win_rate);
    const winner = last.values.winner;
    expect(rates.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(1);
    if (winner >= 0) expect(rates[winner]).toBeGreaterThan(0);
  });

  it('swept: 2 algorithms x 2 seeds, and the report', async () => {
    const out = await sh('sweep', folder);
    expect(out).toContain('4 runs done, 0 failed, 0 not finished.');
    expect(out).toMatch(/\| algo \| seeds \| red\.win_rate \| blue\.win_rate \| red\.loss \|/);
    expect(out).toMatch(/\| mfq \| 2 \|/);
    expect(out).toMatch(/\| il \| 2 \|/);
    expect(existsSync(join(folder, 'sweeps/algo/report.md'))).toBe(true);
  }, 120_000);
});
