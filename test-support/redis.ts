/**
 * A real Redis for the sweep tests (@gibbs/sweep's, the CLI's sweep and worker commands', the
 * sweep bench): GIBBS_TEST_REDIS if set, else a redis-server of our own on a free loopback port
 * (stopped by `stop`). Without either the tests that need Redis fail with NO_REDIS (`pnpm test`
 * installs redis-server first where it can: scripts/test-setup.mjs). Nothing here mocks Redis.
 * It speaks the few bytes of RESP it needs itself, so that test-support depends on no Redis client.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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

/** One RESP command (an array of bulk strings). */
function resp(args: string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
}

/**
 * Send `command` to the Redis at `url` (after AUTH when the URL has a password) and resolve once
 * it has answered; an error reply, a refused connection or `timeoutMs` without an answer rejects.
 * For commands whose replies are simple strings (PING, FLUSHALL).
 */
export function redisCommand(url: string, command: string[], timeoutMs = 3000): Promise<void> {
  const u = new URL(url);
  const commands: string[][] = [];
  if (u.password) {
    const password = decodeURIComponent(u.password);
    const user = decodeURIComponent(u.username);
    commands.push(user ? ['AUTH', user, password] : ['AUTH', password]);
  }
  commands.push(command);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: u.hostname || '127.0.0.1', port: Number(u.port || 6379) });
    let answer = '';
    const fail = (why: string) => {
      socket.destroy();
      reject(new Error(`Redis at ${u.host}: ${command[0]}: ${why}`));
    };
    socket.setTimeout(timeoutMs, () => fail('timed out'));
    socket.on('error', (err) => fail(err.message));
    socket.on('connect', () => socket.write(commands.map(resp).join('')));
    socket.setEncoding('utf8').on('data', (chunk: string) => {
      answer += chunk;
      const replies = answer.split('\r\n').slice(0, -1);
      const error = replies.find((r) => r.startsWith('-'));
      if (error) fail(error.slice(1));
      else if (replies.length >= commands.length) {
        socket.end();
        resolve();
      }
    });
  });
}

/** Empty the Redis at `url` (all its databases), as a Redis restarted without its data is. */
export function flushRedis(url: string): Promise<void> {
  return redisCommand(url, ['FLUSHALL']);
}

/** `own`: always start a private server (benchmarks: no other client shares it). */
export async function startTestRedis(opts: { own?: boolean } = {}): Promise<TestRedis> {
  const given = opts.own ? undefined : process.env.GIBBS_TEST_REDIS;
  if (given) {
    await redisCommand(given, ['PING']);
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
      await redisCommand(url, ['PING'], 500);
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
