/**
 * The packages as a user gets them: `pnpm pack:all` builds and packs every package; the tarballs
 * go into a fresh npm project outside the repository (third-party dependencies from the npm
 * registry), where plain `node` (no tsx) runs a short script that builds Battle from the registry
 * and steps it (the same numbers as from source), imports every published entry point, runs a
 * simulation in a worker thread with Battle's own observation threads (the .mjs worker entries of
 * dist/), and sweeps a user's experiment on @gibbs/sweep's local pool, whose run processes start
 * from the CLI's compiled entry; `tsc` (nodenext, no skipLibCheck) type-checks a consumer through
 * the `types` conditions.
 * Needs the npm registry: without it the test fails with one line saying so. About 30-60 s.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { allocActions, Rng } from '@gibbs/core';
import { environments } from '@gibbs/env';
import { cleanEnv } from '@gibbs/test-support/child';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PACKAGES = ['agents', 'cli', 'core', 'env', 'experiments', 'sweep', 'viewer'];
/** A package's folder: packages/<name>, except @gibbs/experiments (the repository's experiments/). */
const dirOf = (p: string) =>
  p === 'experiments' ? join(ROOT, 'experiments') : join(ROOT, 'packages', p);
const work = mkdtempSync(join(tmpdir(), 'gibbs-pack-'));
const packs = join(work, 'packs');
const app = join(work, 'app');

/** Run a command; a failure throws with the end of what it printed on both streams. */
async function sh(cmd: string, args: string[], cwd: string, timeout = 240_000): Promise<string> {
  try {
    const { stdout } = await run(cmd, args, { cwd, env: cleanEnv(), timeout, maxBuffer: 64 << 20 });
    return stdout;
  } catch (err) {
    const e = err as Error & { stdout?: string; stderr?: string };
    const printed = `${e.stdout ?? ''}${e.stderr ?? ''}`.slice(-3000);
    throw Object.assign(
      new Error(`${cmd} ${args.join(' ')} (in ${cwd}) failed: ${e.message}\n${printed}`),
      {
        stderr: printed,
      },
    );
  }
}

// The ten-line script of the README's "Use as a library", and the same steps from source.
const SCRIPT = `import { allocActions, Rng } from '@gibbs/core';
import { environments } from '@gibbs/env';

const entry = environments.battle;
const env = entry.create(entry.config.parse({ map: 30 }));
const rng = new Rng(7);
const actions = allocActions(env.spec);
let out = env.reset(7);
for (let t = 0; t < 30; t++) {
  env.spec.groups.forEach((g, i) => actions[i].forEach((_, j) => (actions[i][j] = rng.int(g.actions))));
  out = env.step(actions);
}
console.log(JSON.stringify({ step: out.step, alive: out.groups.map((g) => g.alive.reduce((a, b) => a + b, 0)), reward: out.groups.map((g) => g.reward.reduce((a, b) => a + b, 0)) }));
`;

function fromSource(): unknown {
  const entry = environments.battle;
  const env = entry.create(entry.config.parse({ map: 30 }));
  const rng = new Rng(7);
  const actions = allocActions(env.spec);
  let out = env.reset(7);
  for (let t = 0; t < 30; t++) {
    env.spec.groups.forEach((g, i) => {
      actions[i].forEach((_, j) => {
        actions[i][j] = rng.int(g.actions);
      });
    });
    out = env.step(actions);
  }
  return JSON.parse(
    JSON.stringify({
      step: out.step,
      alive: out.groups.map((g) => g.alive.reduce((a, b) => a + b, 0)),
      reward: out.groups.map((g) => g.reward.reduce((a, b) => a + b, 0)),
    }),
  );
}

// A simulation in a worker thread (core's worker-entry.mjs), whose Battle builds its views in two
// more threads (env's battle-worker.mjs): both entries must find the compiled .js without tsx.
const EXPERIMENT = `import { allocActions, defineExperiment, Rng } from '@gibbs/core';
import { environments } from '@gibbs/env';
import { z } from 'zod';

export default defineExperiment({
  name: 'random-battle',
  description: 'random actions in Battle',
  params: z.object({ threads: z.number().int().default(2) }),
  defaultSteps: 10,
  create: ({ params, seed }) => {
    const entry = environments.battle;
    const env = entry.create(entry.config.parse({ map: 30, threads: params.threads }));
    const rng = new Rng(seed);
    const actions = allocActions(env.spec);
    let out = env.reset(seed);
    return {
      advance() {
        env.spec.groups.forEach((g, i) => actions[i].forEach((_, j) => (actions[i][j] = rng.int(g.actions))));
        out = env.step(actions);
      },
      metrics: () => ({ step: out.step, episode: 0, values: {}, groups: {} }),
      frame: () => null,
    };
  },
});
`;
const IN_WORKER = `import { startSimulation } from '@gibbs/core/runtime';
const sim = await startSimulation({ experiment: './experiment.mjs', seed: 3, steps: 10, worker: true, autoStart: true });
const status = await sim.done;
await sim.dispose();
console.log(JSON.stringify({ state: status.state, step: status.step, error: status.error }));
`;

// A sweep under plain node: @gibbs/sweep forks the CLI's compiled run entry (sweep-child.js), which
// runs the user's experiment module with executeRun; the version is the installed CLI's.
const SWEEP = `import { gibbsVersion, loadExperiment, SWEEP_CHILD } from '@gibbs/cli';
import { parseGridOption, prepareSweep, runLocal } from '@gibbs/sweep';

const experiment = await loadExperiment('./experiment.mjs');
const sweep = prepareSweep({
  experiment,
  experimentRef: './experiment.mjs',
  grid: [parseGridOption('threads=1,2')],
  seeds: [0],
  fixed: {},
  steps: 10,
  logEvery: 5,
  version: gibbsVersion(),
  out: 'sweep',
});
const summary = await runLocal(sweep, { entry: SWEEP_CHILD, concurrency: 2 });
console.log(JSON.stringify({ version: sweep.spec.gibbsVersion, entry: SWEEP_CHILD.pathname.split('/').slice(-3).join('/'), summary }));
`;

const CONSUMER = `import { allocActions, type Environment, Rng } from '@gibbs/core';
import { environments } from '@gibbs/env';
import { battle } from '@gibbs/env/battle';

const env: Environment = (environments.battle ?? battle).create(battle.config.parse({}));
const actions: Int32Array[] = allocActions(env.spec);
env.reset(1);
const stepped: number = env.step(actions).step;
console.log(stepped, new Rng(1).int(3));
`;

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('entry points', () => {
  // The checkout resolves `exports` (sources, run by tsx and vitest); a packed package gets
  // `publishConfig.exports` (dist/). Both name the same entry points, except the viewer's vite dev
  // server and static-site build, which work on the checkout's sources and so are not packed.
  const CHECKOUT_ONLY = ['@gibbs/viewer ./server', '@gibbs/viewer ./build-static'];
  for (const p of PACKAGES) {
    it(`@gibbs/${p}: the published entry points are the checkout's, compiled`, () => {
      const manifest = JSON.parse(readFileSync(join(dirOf(p), 'package.json'), 'utf8'));
      const src = manifest.exports as Record<string, string>;
      const dist = manifest.publishConfig.exports as Record<
        string,
        { types: string; default: string }
      >;
      const out = p === 'viewer' ? './dist/lib/' : './dist/';
      const expected = Object.keys(src).filter(
        (k) => !CHECKOUT_ONLY.includes(`${manifest.name} ${k}`),
      );
      expect(Object.keys(dist)).toEqual(expected);
      for (const k of expected) {
        const rel = src[k].replace(/^\.\/(src\/)?/, '').replace(/\.ts$/, '');
        expect(dist[k], k).toEqual({ types: `${out}${rel}.d.ts`, default: `${out}${rel}.js` });
      }
      expect(Object.keys(src).some((k) => k.includes('*'))).toBe(false);
      expect(manifest.files).toEqual([out.slice(2, -1)]);
    });
  }
});

describe('the packed packages in a fresh npm project, under plain node', () => {
  let tarballs: string[] = [];

  it('pnpm pack:all builds every package and packs dist/ only, with every export present', async () => {
    const t0 = Date.now();
    tarballs = (await sh('node', [join(ROOT, 'scripts/pack-all.mjs'), packs], ROOT))
      .trim()
      .split('\n');
    console.log(`build and pack: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    expect(tarballs.map((t) => t.slice(packs.length + 1)).sort()).toEqual(
      PACKAGES.map((p) => `gibbs-${p}-0.1.0.tgz`),
    );
    for (const tarball of tarballs) {
      const files = new Set((await sh('tar', ['tzf', tarball], work)).trim().split('\n'));
      const manifest = JSON.parse(await sh('tar', ['xzfO', tarball, 'package/package.json'], work));
      const stray = [...files].filter(
        (f) => !f.startsWith('package/dist/') && f !== 'package/package.json',
      );
      expect(stray, tarball).toEqual([]);
      expect([...files].filter((f) => /\.ts$/.test(f) && !f.endsWith('.d.ts'))).toEqual([]);
      const exports = Object.entries(manifest.exports) as [string, Record<string, string>][];
      expect(exports.length).toBeGreaterThan(0);
      for (const [name, target] of exports) {
        expect(Object.keys(target), `${manifest.name} ${name}`).toEqual(['types', 'default']);
        for (const file of Object.values(target)) {
          expect(files.has(`package/${file.slice(2)}`), `${manifest.name} ${name}: ${file}`).toBe(
            true,
          );
        }
      }
      expect(JSON.stringify(manifest.dependencies)).not.toContain('workspace:');
    }
  }, 300_000);

  it('installs with npm outside the repository; plain node builds Battle from the registry and steps it', async () => {
    const tgz = (p: string) => `file:${join(packs, `gibbs-${p}-0.1.0.tgz`)}`;
    rmSync(app, { recursive: true, force: true });
    mkdirSync(app, { recursive: true });
    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify({
        name: 'gibbs-user',
        private: true,
        type: 'module',
        dependencies: {
          ...Object.fromEntries(PACKAGES.map((p) => [`@gibbs/${p}`, tgz(p)])),
          zod: '4.6.7',
        },
      }),
    );
    // One quick request first: without the registry, fail at once with one line.
    try {
      await sh('npm', ['ping', '--fetch-retries=0', '--fetch-timeout=20000'], app, 60_000);
    } catch (err) {
      const text = `${(err as { stderr?: string }).stderr ?? ''}`;
      const code = text.match(/\b(E[A-Z_]{3,})\b/)?.[1] ?? 'no answer';
      throw new Error(
        `npm cannot reach its registry (${code}): this test installs the packed packages' third-party dependencies from it`,
      );
    }
    const t0 = Date.now();
    await sh('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], app, 280_000);
    console.log(`npm install: ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    writeFileSync(join(app, 'main.mjs'), SCRIPT);
    const out = await sh(process.execPath, ['main.mjs'], app, 60_000);
    expect(JSON.parse(out)).toEqual(fromSource());

    writeFileSync(join(app, 'experiment.mjs'), EXPERIMENT);
    writeFileSync(join(app, 'in-worker.mjs'), IN_WORKER);
    const status = JSON.parse(await sh(process.execPath, ['in-worker.mjs'], app, 60_000));
    expect(status).toEqual({ state: 'finished', step: 10, error: null });

    // Every published entry point of every package imports under plain node.
    const entries = PACKAGES.flatMap((p) => {
      const manifest = JSON.parse(readFileSync(join(dirOf(p), 'package.json'), 'utf8'));
      return Object.keys(manifest.publishConfig.exports).map((k) => manifest.name + k.slice(1));
    });
    writeFileSync(
      join(app, 'entries.mjs'),
      `for (const m of ${JSON.stringify(entries)}) await import(m);\nconsole.log('imported');\n`,
    );
    expect((await sh(process.execPath, ['entries.mjs'], app, 60_000)).trim()).toBe('imported');

    // The CLI carries no Redis client: @gibbs/sweep is an optional peer, installed here.
    const cli = JSON.parse(readFileSync(join(app, 'node_modules/@gibbs/cli/package.json'), 'utf8'));
    expect(Object.keys(cli.dependencies)).not.toContain('bullmq');
    expect(Object.keys(cli.dependencies)).not.toContain('ioredis');
    expect(cli.peerDependencies).toEqual({ '@gibbs/sweep': '0.1.0' });
    expect(cli.peerDependenciesMeta).toEqual({ '@gibbs/sweep': { optional: true } });
    writeFileSync(join(app, 'sweep.mjs'), SWEEP);
    const swept = JSON.parse(await sh(process.execPath, ['sweep.mjs'], app, 120_000));
    expect(swept).toEqual({
      version: '0.1.0',
      entry: 'cli/dist/sweep-child.js',
      summary: { ran: 2, skipped: 0, failed: [] },
    });
    const rows = readFileSync(join(app, 'sweep/threads=2_s0/metrics.jsonl'), 'utf8').trim();
    expect(rows.split('\n').map((l) => JSON.parse(l).step)).toEqual([5, 10]);

    writeFileSync(join(app, 'consumer.ts'), CONSUMER);
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          types: [],
        },
        files: ['consumer.ts'],
      }),
    );
    await sh(join(ROOT, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.json'], app, 120_000);
  }, 300_000);
});
