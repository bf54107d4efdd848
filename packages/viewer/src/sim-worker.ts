/**
 * The page's simulation worker: core's engine, with the experiments this page offers bundled in
 * (the same list as the dropdown). The page names an experiment (`gibbs-experiment:<name>`)
 * instead of giving a module URL, so the experiment shares this worker's one copy of core and
 * zod, and a static build needs no server to resolve module paths.
 */

import { experiments } from 'virtual:gibbs-experiments';
import { experimentFromModule } from '@gibbs/core';
import { serveEngine } from '@gibbs/core/runtime/worker';
import { EXPERIMENT_SCHEME } from './experiments.ts';

serveEngine({
  resolveExperiment: async (ref) => {
    if (!ref.startsWith(EXPERIMENT_SCHEME)) return undefined;
    const name = ref.slice(EXPERIMENT_SCHEME.length);
    const load = experiments[name];
    if (!load) throw new Error(`experiment ${name}: not one of this page's experiments`);
    return experimentFromModule(await load(), name);
  },
});
