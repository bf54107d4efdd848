/**
 * The one place that chooses the tfjs backend.
 *   browser: webgpu if an adapter is available, else webgl, else wasm, else cpu;
 *   Node:    wasm (SIMD, one thread), else cpu.
 * Forcing a backend that is not available is a GibbsError naming what was found.
 * `faulty:N` is a diagnostic backend: cpu, whose kernels fail after N calls as a lost device does,
 * to watch a run fall back to the next backend (the runtime's engine does) in tests and demos.
 */
import * as tf from '@tensorflow/tfjs';
import { GibbsError } from './errors.ts';

export const BACKENDS = ['webgpu', 'webgl', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

/** The diagnostic backend's name (see `faulty:N` above). */
export const FAULTY_BACKEND = 'faulty';

/** Register `faulty` anew: cpu's kernels, each call counted, failing from call N + 1 on. */
function registerFaulty(failAfter: number): void {
  if (tf.engine().registryFactory[FAULTY_BACKEND]) tf.removeBackend(FAULTY_BACKEND);
  const cpu = tf.findBackendFactory('cpu');
  if (!cpu) throw GibbsError.invalid('backend', 'faulty', 'the cpu backend to build on');
  tf.registerBackend(FAULTY_BACKEND, cpu, -1);
  let calls = 0;
  for (const k of tf.getKernelsForBackend('cpu')) {
    if (tf.getKernel(k.kernelName, FAULTY_BACKEND))
      tf.unregisterKernel(k.kernelName, FAULTY_BACKEND);
    tf.registerKernel({
      ...k,
      backendName: FAULTY_BACKEND,
      kernelFunc: (args) => {
        calls += 1;
        if (calls > failAfter) {
          throw new Error(
            `faulty backend: kernel ${k.kernelName} failed after ${failAfter} kernel calls (a simulated device loss)`,
          );
        }
        return k.kernelFunc(args);
      },
    });
  }
}

const isNode =
  typeof process !== 'undefined' && typeof process.versions === 'object' && !!process.versions.node;

let wasmRegistered: Promise<boolean> | null = null;

/** The three binaries of tfjs-backend-wasm; the browser fetches the one it can use. */
export type WasmFile =
  | 'tfjs-backend-wasm.wasm'
  | 'tfjs-backend-wasm-simd.wasm'
  | 'tfjs-backend-wasm-threaded-simd.wasm';

export interface BackendOptions {
  /**
   * Where a browser fetches the wasm binaries: a folder URL ending in "/", or one URL per file
   * (for a bundler's asset URLs, e.g. vite's `...simd.wasm?url`). Without it tfjs looks next to
   * its own script, which bundlers usually do not serve. Node finds them in node_modules.
   */
  wasmPaths?: string | Partial<Record<WasmFile, string>>;
}

let options: BackendOptions = {};

/** Set how backends load (call before initBackend). */
export function configureBackends(opts: BackendOptions): void {
  options = { ...options, ...opts };
}

async function registerWasm(): Promise<boolean> {
  wasmRegistered ??= (async () => {
    try {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      if (options.wasmPaths !== undefined) wasm.setWasmPaths(options.wasmPaths);
      else if (isNode) {
        const { createRequire } = await import('node:module');
        const { dirname, join } = await import('node:path');
        const require = createRequire(import.meta.url);
        const dir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
        wasm.setWasmPaths(`${join(dir, 'dist')}/`);
      }
      return true;
    } catch {
      return false;
    }
  })();
  return wasmRegistered;
}

async function tryBackend(name: BackendName): Promise<boolean> {
  if (name === 'wasm' && !(await registerWasm())) return false;
  if (name === 'webgpu') {
    const nav = (globalThis as { navigator?: { gpu?: { requestAdapter(): Promise<unknown> } } })
      .navigator;
    if (!nav?.gpu) return false;
    try {
      // No adapter (a browser without a usable GPU): webgpu is not available; ask before tfjs
      // does, so that the fallback is quiet.
      if (!(await nav.gpu.requestAdapter())) return false;
      await import('@tensorflow/tfjs-backend-webgpu');
    } catch {
      return false;
    }
  }
  if (!tf.engine().registryFactory[name]) return false;
  try {
    return await tf.setBackend(name);
  } catch {
    return false;
  }
}

/** Order tried when nothing is forced. */
export function backendOrder(): BackendName[] {
  return isNode ? ['wasm', 'cpu'] : ['webgpu', 'webgl', 'wasm', 'cpu'];
}

/**
 * Select and initialise the tfjs backend. With `forced`, that one or an error; otherwise the first
 * that works in `backendOrder()`.
 */
export async function initBackend(forced?: string): Promise<BackendName | typeof FAULTY_BACKEND> {
  const faulty = forced === undefined ? null : /^faulty(?::(\d+))?$/.exec(forced);
  if (faulty) {
    registerFaulty(Number(faulty[1] ?? 1000));
    if (!(await tf.setBackend(FAULTY_BACKEND)))
      throw GibbsError.invalid('backend', forced, 'a faulty backend that initialises');
    return FAULTY_BACKEND;
  }
  if (forced !== undefined) {
    if (!(BACKENDS as readonly string[]).includes(forced)) {
      throw GibbsError.invalid(
        'backend',
        forced,
        `one of ${BACKENDS.join(', ')}, or faulty:N (diagnostic: fails after N kernel calls)`,
      );
    }
    const current = tf.getBackend();
    if (current === forced) return forced as BackendName;
    if (await tryBackend(forced as BackendName)) return forced as BackendName;
    const found: string[] = [];
    for (const b of backendOrder()) if (b !== forced && (await tryBackend(b))) found.push(b);
    throw new GibbsError(
      `backend: "${forced}" is not available here (${isNode ? 'Node' : 'browser'}); available: ${found.join(', ') || 'none'}`,
      'backend',
      forced,
      found.join(', '),
    );
  }
  const current = tf.getBackend();
  const order = backendOrder();
  if (current && order[0] === current) return current as BackendName;
  for (const b of order) if (await tryBackend(b)) return b;
  throw new GibbsError('backend: no tfjs backend could be initialised', 'backend', undefined);
}
