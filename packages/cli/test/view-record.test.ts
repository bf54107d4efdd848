/** `gibbs run --record` writes frames the viewer replays; `gibbs view` serves the viewer. */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import walkers from '@gibbs/test-support/walkers';
import { readRecording } from '@gibbs/viewer/recording';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../src/repo.ts';

const FIXTURE = './test-support/walkers.ts';
const gibbs = (args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'packages/cli/src/main.ts', ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });

describe('gibbs run --record', () => {
  it('records every K-th frame of the run, equal to the seeded simulation', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'gibbs-record-')), 'run');
    const r = gibbs([
      'run',
      FIXTURE,
      '--steps',
      '23',
      '--seed',
      '6',
      '--record-every',
      '5',
      '--out',
      dir,
      '--agents',
      '7',
    ]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/frames\.bin \(6 frames\)/);
    const bytes = readFileSync(join(dir, 'frames.bin'));
    const rec = readRecording(
      bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length),
    );
    expect(rec.meta).toEqual({
      experiment: 'walkers',
      seed: 6,
      params: { width: 48, height: 32, agents: 7, temperature: 1, failAt: 0 },
      every: 5,
    });
    expect(rec.truncated).toBeNull();
    // Steps 0, 5, 10, 15, 20 and the last, 23.
    const steps = rec.offsets.map((_, i) => rec.frame(i).step);
    expect(steps).toEqual([0, 5, 10, 15, 20, 23]);
    const sim = await walkers.create({ params: walkers.params.parse({ agents: 7 }), seed: 6 });
    for (let s = 0, i = 0; s <= 23; s++) {
      if (steps[i] === s) {
        const f = sim.frame()!;
        const got = rec.frame(i++);
        expect(Array.from(got.cells)).toEqual(Array.from(f.cells));
        expect(Array.from(got.agents.x)).toEqual(Array.from(f.agents.x));
        expect(Array.from(got.agents.hp)).toEqual(Array.from(f.agents.hp));
      }
      await sim.advance();
    }
  });

  it('leaves no frames file behind when the run fails', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'gibbs-record-')), 'run');
    const r = gibbs([
      'run',
      FIXTURE,
      '--steps',
      '5',
      '--record',
      '--out',
      dir,
      '--agents',
      '100000',
    ]);
    expect(r.status).not.toBe(0);
    expect(spawnSync('ls', ['-A', dir], { encoding: 'utf8' }).stdout).not.toMatch(/frames/);
  });
});

describe('gibbs view', { timeout: 120_000 }, () => {
  it('refuses a replay directory without frames, naming what it expected', () => {
    const r = gibbs(['view', '--replay', tmpdir()]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--replay: got ".*", expected a run directory holding frames\.bin/);
  });

  it('refuses --host beyond loopback without --serve-public (no authentication)', () => {
    const r = gibbs(['view', '--host', '0.0.0.0']);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(
      /--host: got "0\.0\.0\.0", expected a loopback address .*--serve-public/,
    );
  });

  it('serves the viewer, cross-origin isolated, with the runs it can replay', async () => {
    const runs = mkdtempSync(join(tmpdir(), 'gibbs-view-runs-'));
    const rec = gibbs(['run', FIXTURE, '--steps', '3', '--record', '--out', join(runs, 'r1')]);
    expect(rec.status, rec.stderr).toBe(0);
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'packages/cli/src/main.ts',
        'view',
        FIXTURE,
        '--runs',
        runs,
        '--seed',
        '4',
      ],
      {
        cwd: REPO_ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let text = '';
        const timer = setTimeout(() => reject(new Error(`no URL printed: ${text}`)), 60_000);
        child.stdout.on('data', (b: Buffer) => {
          text += b.toString();
          const m = /gibbs viewer: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(text);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]);
          }
        });
        child.on('exit', (code) => reject(new Error(`view exited ${code}: ${text}`)));
      });
      const page = await fetch(url);
      expect(page.status).toBe(200);
      expect(page.headers.get('cross-origin-opener-policy')).toBe('same-origin');
      expect(page.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
      expect(await page.text()).toMatch(/<title>Gibbs viewer<\/title>/);
      expect(await (await fetch(`${url}@gibbs/runs`)).json()).toEqual(['r1']);
      const frames = await fetch(`${url}@gibbs/runs/r1/frames.bin`);
      expect(frames.status).toBe(200);
      expect(readRecording(await frames.arrayBuffer()).offsets.length).toBe(4);
      // Nothing outside the runs directory, and nothing but frames files.
      expect((await fetch(`${url}@gibbs/runs/r1/metrics.jsonl`)).status).toBe(200);
      expect((await fetch(`${url}@gibbs/runs/r1/config.json`)).status).toBe(404);
      expect((await fetch(`${url}@gibbs/runs/..%2F..%2Fetc/frames.bin`)).status).toBe(404);
      const mod = await (await fetch(`${url}@id/__x00__virtual:gibbs-experiments`)).text();
      expect(mod).toMatch(/"walkers"/);
      expect(mod).toMatch(/"seed":4/);
    } finally {
      child.kill('SIGTERM');
    }
  });
});
