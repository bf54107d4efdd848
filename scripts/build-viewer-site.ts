// `pnpm build` in packages/viewer: the viewer as a static site in packages/viewer/dist/ (index.html
// and assets/), with every built-in experiment that runs in a browser bundled in. Serve the folder
// with any static file server; see docs/viewer.md. `--out DIR` builds elsewhere (the tests).
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { scriptArgs, takeString } from '@gibbs/cli/args';
import { browserExperiments, builtinExperimentPath } from '@gibbs/cli/repo';
import { buildStaticViewer } from '@gibbs/viewer/build-static';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = scriptArgs(
  'build-viewer-site',
  'Usage: pnpm tsx scripts/build-viewer-site.ts [--out DIR]   (default packages/viewer/dist)',
  { options: { out: { type: 'string' } } },
  (args) => resolve(takeString(args, 'out') ?? resolve(ROOT, 'packages/viewer/dist')),
);
const names = browserExperiments();
const t0 = performance.now();
const out = await buildStaticViewer({
  experiments: Object.fromEntries(names.map((n) => [n, builtinExperimentPath(n)])),
  outDir,
  experiment: 'battle',
});
console.log(
  `viewer site: ${out.outDir} (${out.files} files, ${(out.bytes / 2 ** 20).toFixed(1)} MiB, ${out.experiments.length} experiments, ${((performance.now() - t0) / 1000).toFixed(1)} s)`,
);
