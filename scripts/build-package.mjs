// `pnpm build` in a workspace package (packages/*): compile its sources with tsconfig.build.json to
// JavaScript and .d.ts in a clean outDir, then copy the .mjs worker entries beside the compiled
// modules (tsc emits only what it compiles). Relative `.ts` imports become `.js` on the way
// (rewriteRelativeImportExtensions).
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const config = JSON.parse(readFileSync('tsconfig.build.json', 'utf8'));
const { outDir, rootDir } = config.compilerOptions;
if (!outDir || !rootDir)
  throw new Error('tsconfig.build.json: set compilerOptions.outDir and rootDir');

rmSync(outDir, { recursive: true, force: true });
const tsc = spawnSync(join(ROOT, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.build.json'], {
  stdio: 'inherit',
});
if (tsc.status !== 0) {
  console.error(`build: tsc -p ${join(process.cwd(), 'tsconfig.build.json')} failed`);
  process.exit(1);
}

function* files(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* files(path);
    else yield path;
  }
}
for (const file of files(rootDir)) {
  if (!file.endsWith('.mjs')) continue;
  const dest = join(outDir, relative(rootDir, file));
  mkdirSync(dirname(dest), { recursive: true });
  copyFileSync(file, dest);
}
