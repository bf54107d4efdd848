#!/usr/bin/env node
// First step of `pnpm test`: what the tests need beyond Node and the workspace (docs/toolchain.md).
// - chromium (Debian's; /usr/bin/chromium or CHROMIUM_PATH) for the browser tests;
// - redis-server for the sweep-queue tests (they start their own on loopback), unless
//   GIBBS_TEST_REDIS names a running Redis.
// Missing ones are installed with apt-get when this runs as root on a machine with apt-get;
// otherwise it exits 1 with one line naming what to install. Nothing is skipped for want of them.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const hasRedisServer = () => spawnSync('redis-server', ['--version']).status === 0;

function missing() {
  const need = [];
  if (!existsSync(chromiumPath)) need.push('chromium');
  if (!process.env.GIBBS_TEST_REDIS && !hasRedisServer()) need.push('redis-server');
  return need;
}

function fail(need, why) {
  const orRedis = need.includes('redis-server')
    ? ' (or set GIBBS_TEST_REDIS=redis://HOST:PORT)'
    : '';
  console.error(
    `pnpm test needs ${need.join(' and ')} (${why}): install with \`sudo apt-get install -y ${need.join(' ')}\`${orRedis}`,
  );
  process.exit(1);
}

let need = missing();
if (need.length === 0) process.exit(0);

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const hasApt = spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status === 0;
// CHROMIUM_PATH names a browser of the user's own: apt-get would not put one there.
if (process.env.CHROMIUM_PATH && need.includes('chromium')) {
  console.error(
    `pnpm test needs chromium: CHROMIUM_PATH=${chromiumPath} does not exist (unset it to use Debian's, \`apt-get install -y chromium\`)`,
  );
  process.exit(1);
}
if (!isRoot || !hasApt)
  fail(need, isRoot ? 'no apt-get here to install it' : 'not root, so not installed here');

console.log(`test setup: installing ${need.join(' ')} with apt-get ...`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
const apt = (args) => spawnSync('apt-get', args, { env, stdio: ['ignore', 'ignore', 'inherit'] });
if (apt(['update', '-qq']).status !== 0 || apt(['install', '-y', '-qq', ...need]).status !== 0) {
  fail(need, 'apt-get install failed, see above');
}
need = missing();
if (need.length > 0) fail(need, 'still missing after apt-get install');
console.log('test setup: done');
