/**
 * The page's simulation worker: core's engine, with the experiments this page offers bundled in
 * (the same list as the dropdown). The page names an experiment (`gibbs-experiment:<name>`)
 * instead of giving a module URL, so the experiment shares this worker's one copy of core and
 * zod, and a static build needs no server to resolve module paths.
 */

import { experiments } from 'virtual:gibbs-experiments';
import { experimentFromModule } from '@gibbs/core';
import { serveEngine } from '@gibbs/core/runtime/worker';
import wasm from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { EXPERIMENT_SCHEME } from './experiments.ts';

serveEngine({
  resolveExperiment: async (ref) => {
    if (!ref.startsWith(EXPERIMENT_SCHEME)) return undefined;
    const name = ref.slice(EXPERIMENT_SCHEME.length);
    const load = experiments[name];
    if (!load) throw new Error(`experiment ${name}: not one of this page's experiments`);
    const mod = await load();
    // tfjs's wasm backend (the fallback after webgpu and webgl) fetches its binaries from where
    // the build put them. Loaded after the experiment: the same module instance as its own.
    const { configureBackends } = await import('@gibbs/core/backend');
    const at = (u: string) => new URL(u, import.meta.url).href;
    configureBackends({
      wasmPaths: {
        'tfjs-backend-wasm.wasm': at(wasm),
        'tfjs-backend-wasm-simd.wasm': at(wasmSimd),
        'tfjs-backend-wasm-threaded-simd.wasm': at(wasmThreaded),
      },
    });
    return experimentFromModule(mod, name);
  },
});
