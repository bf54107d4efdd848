/**
 * `pnpm gibbs run <exp> --serve 127.0.0.1:0`: a WebSocket client watches and controls a CLI run;
 * garbage from a client leaves the run unharmed; the run's files are complete at the end.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { decodeFrame, parseServerMessage, type ServerMessage } from '@gibbs/core';
import { afterAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { loadExperiment, REPO_ROOT } from '../src/repo.ts';
import { executeRun } from '../src/run.ts';

const WALKERS = resolve(REPO_ROOT, 'packages/core/test/fixtures/walkers.ts');
const dir = mkdtempSync(join(tmpdir(), 'gibbs-serve-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('gibbs run --serve', () => {
  it('serves a CLI run to a WebSocket watcher that controls it', async () => {
    const out = join(dir, 'run');
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'packages/cli/src/main.ts',
        'run',
        WALKERS,
        '--steps',
        '400',
        '--log-every',
        '1',
        '--seed',
        '3',
        '--out',
        out,
        '--serve',
        '127.0.0.1:0',
        '--paused',
      ],
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += String(d);
    });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      const url = await new Promise<string>((res, rej) => {
        const timer = setTimeout(() => rej(new Error(`no "serving" line: ${stderr}`)), 30_000);
        child.stderr.on('data', () => {
          const m = /serving (ws:\/\/127\.0\.0\.1:\d+)/.exec(stderr);
          if (m) {
            clearTimeout(timer);
            res(m[1]);
          }
        });
      });
      const ws = new WebSocket(url);
      const json: ServerMessage[] = [];
      let frames = 0;
      ws.on('message', (data, isBinary) => {
        if (isBinary) {
          decodeFrame(new Uint8Array(data as Buffer));
          frames++;
        } else json.push(parseServerMessage(String(data)));
      });
      const closed = new Promise<void>((r) => ws.once('close', () => r()));
      await new Promise<void>((r) => ws.once('open', () => r()));
      const next = async <T extends ServerMessage['type']>(
        type: T,
        pred: (m: Extract<ServerMessage, { type: T }>) => boolean = () => true,
      ) => {
        const t = performance.now();
        for (;;) {
          const m = json.find(
            (x): x is Extract<ServerMessage, { type: T }> =>
              x.type === type && pred(x as Extract<ServerMessage, { type: T }>),
          );
          if (m) return m;
          if (performance.now() - t > 20_000) throw new Error(`no ${type}; stderr: ${stderr}`);
          await new Promise((r) => setTimeout(r, 5));
        }
      };
      const send = (m: unknown) => ws.send(typeof m === 'string' ? m : JSON.stringify(m));

      const hello = await next('hello');
      expect(hello.info).toMatchObject({ experiment: 'walkers', seed: 3, steps: 400, logEvery: 1 });
      expect(hello.status.state).toBe('ready'); // --paused: waits for a watcher
      send({ type: 'step', n: 10, id: 1 });
      expect((await next('ack', (m) => m.id === 1)).result).toBe(10);
      send('{"type":"step","n":"ten"}');
      send({ type: 'launch', id: 'x' });
      await next('rejected', (m) => /malformed "step" message: n/.test(m.message));
      await next('rejected', (m) => m.id === 'x');
      send({ type: 'setParam', name: 'temperature', value: 0, id: 2 });
      await next('ack', (m) => m.id === 2);
      send({ type: 'speed', stepsPerSecond: null, id: 3 });
      await next('ack', (m) => m.id === 3);
      send({ type: 'resume', id: 4 });
      const end = await next('end');
      expect(end.status.state).toBe('finished');
      expect(end.status.step).toBe(400);
      await closed;
      expect(await exited).toBe(0);
      expect(frames).toBeGreaterThan(0);

      const streamed = json.flatMap((m) => (m.type === 'metrics' ? m.records : []));
      expect(streamed.map((r) => r.step)).toEqual(Array.from({ length: 400 }, (_, i) => i + 1));
      const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n');
      expect(lines).toHaveLength(400);
      const fromFile = lines.map(
        (l) => JSON.parse(l) as { step: number; values: { moved: number } },
      );
      expect(fromFile.map((r) => r.values.moved)).toEqual(streamed.map((r) => r.values.moved));
      expect(fromFile.slice(10).every((r) => r.values.moved === 0)).toBe(true);
      expect(fromFile[9].values.moved).toBeGreaterThan(0);
      const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as {
        backend: string | null;
      };
      expect(config.backend).toBeNull(); // walkers computes without tfjs unless --tf true
    } finally {
      child.kill();
    }
  });
});

describe('gibbs run --backend', () => {
  it('records the chosen tfjs backend in config.json; an unavailable one is a clear error', async () => {
    const experiment = await loadExperiment(WALKERS);
    const out = join(dir, 'backend');
    await executeRun({
      experiment,
      rawParams: { tf: 'true', agents: '4' },
      steps: 3,
      seed: 1,
      logEvery: 1,
      outDir: out,
      backend: 'cpu',
    });
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as {
      backend: string | null;
    };
    expect(config.backend).toBe('cpu');
    await expect(
      executeRun({
        experiment,
        rawParams: { tf: 'true' },
        steps: 1,
        seed: 1,
        logEvery: 1,
        outDir: null,
        backend: 'webgpu',
      }),
    ).rejects.toThrow(/backend: "webgpu" is not available here \(Node\); available: wasm, cpu/);
  });
});
