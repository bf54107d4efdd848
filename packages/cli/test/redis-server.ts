/**
 * A real Redis for the sweep tests: GIBBS_TEST_REDIS if set, else a redis-server of our own on a
 * free loopback port (stopped by `stop`). Without either the tests that need Redis fail with
 * NO_REDIS (`pnpm test` installs redis-server first where it can: scripts/test-setup.mjs). Nothing
 * here mocks Redis.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkRedis, parseRedisUrl } from '../src/sweep/redis.ts';

export interface TestRedis {
  url: string;
  stop(): Promise<void>;
}

export const NO_REDIS =
  'no Redis for the sweep queue tests: install redis-server (apt-get install -y redis-server) or set GIBBS_TEST_REDIS=redis://127.0.0.1:PORT';

export function hasRedisServer(): boolean {
  return !!process.env.GIBBS_TEST_REDIS || spawnSync('redis-server', ['--version']).status === 0;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** `own`: always start a private server (benchmarks: no other client shares it). */
export async function startTestRedis(opts: { own?: boolean } = {}): Promise<TestRedis> {
  const given = opts.own ? undefined : process.env.GIBBS_TEST_REDIS;
  if (given) {
    await checkRedis(parseRedisUrl(given));
    return { url: given, stop: async () => {} };
  }
  const dir = mkdtempSync(join(tmpdir(), 'gibbs-redis-'));
  const port = await freePort();
  const proc: ChildProcess = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
    ],
    { stdio: 'ignore' },
  );
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      await checkRedis(parseRedisUrl(url), 500);
      break;
    } catch (err) {
      if (i > 50 || proc.exitCode !== null) {
        proc.kill('SIGKILL');
        throw err;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    url,
    stop: async () => {
      if (proc.exitCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
