// `pnpm pack:all [DIR]`: build every package (packages/* and experiments/), then pack each into DIR (default
// dist/packs) as an npm tarball. pnpm pack swaps in each package's publishConfig (exports that
// point to dist/ with a types condition) and turns `workspace:*` into the version.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dest = resolve(process.argv[2] ?? join(ROOT, 'dist/packs'));
const pnpm = (args) =>
  execFileSync('pnpm', args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });

pnpm(['-r', '--filter', './packages/*', '--filter', './experiments', 'run', 'build']);
rmSync(dest, { recursive: true, force: true });
mkdirSync(dest, { recursive: true });
pnpm([
  '-r',
  '--filter',
  './packages/*',
  '--filter',
  './experiments',
  'pack',
  '--pack-destination',
  dest,
]);
for (const file of readdirSync(dest).sort()) console.log(join(dest, file));
