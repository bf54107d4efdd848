#!/usr/bin/env node
// `npm run quickstart` on a fresh machine with Node >= 20 and npm: installs pnpm 12.4.2 (the
// version the lock file is made with) if it is missing, installs the workspace from the lock file,
// then runs the default demo (a headless Battle run, metrics under runs/quickstart).
import { execSync, spawnSync } from 'node:child_process';

const PNPM = '12.4.2';
const major = Number(process.versions.node.split('.')[0]);
if (major < 20) {
  console.error(`Gibbs needs Node >= 20; this is ${process.version}.`);
  process.exit(1);
}

function pnpmVersion() {
  try {
    return execSync('pnpm --version', {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return null;
  }
}

let pnpm = ['pnpm'];
if (pnpmVersion() !== PNPM) {
  console.log(`Installing pnpm ${PNPM} (npm i -g -E pnpm@${PNPM}) ...`);
  const r = spawnSync('npm', ['i', '-g', '-E', `pnpm@${PNPM}`], { stdio: 'inherit' });
  // Without rights for a global install, run that pnpm through npx instead.
  if (r.status !== 0 || pnpmVersion() !== PNPM) pnpm = ['npx', '-y', `pnpm@${PNPM}`];
}

function run(args) {
  const [cmd, ...rest] = [...pnpm, ...args];
  console.log(`\n$ ${[cmd, ...rest].join(' ')}`);
  const r = spawnSync(cmd, rest, { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

run(['install', '--frozen-lockfile']);
// runs/quickstart is the demo's own folder: a second quickstart replaces the first one's run.
run([
  'gibbs',
  'run',
  'battle',
  '--out',
  'runs/quickstart',
  '--overwrite',
  ...process.argv.slice(2),
]);
console.log(
  '\nNext: `pnpm gibbs view` to watch a simulation live in the browser, `pnpm test` to run every test.',
);
