/**
 * A Web Worker (module worker) running the engine, reached through comlink. Bundlers (vite,
 * esbuild) recognise `new Worker(new URL('./browser-worker.ts', import.meta.url))` and build the
 * worker with its own imports.
 */
import * as Comlink from 'comlink';
import type { EngineRpc } from './rpc.ts';
import type { EngineTransport } from './transport.ts';

/**
 * The engine in a Web Worker: core's own entry, or `worker`, made by the page from its own entry
 * (one that calls serveEngine, e.g. with its bundled experiments).
 */
export function spawnWebWorkerEngine(worker?: Worker): EngineTransport {
  worker ??= new Worker(new URL('./browser-worker.ts', import.meta.url), {
    type: 'module',
    name: 'gibbs-simulation',
  });
  let terminated = false;
  let fail: (err: unknown) => void = () => {};
  const dead = new Promise<never>((_, reject) => {
    fail = reject;
  });
  dead.catch(() => {});
  worker.addEventListener('error', (ev: ErrorEvent) => {
    ev.preventDefault();
    if (terminated) return;
    const err = new Error(ev.message || 'the simulation worker failed');
    if (ev.error instanceof Error && ev.error.stack) err.stack = ev.error.stack;
    fail(err);
  });
  worker.addEventListener('messageerror', () => {
    if (!terminated) fail(new Error('the simulation worker sent a message that could not be read'));
  });
  return {
    rpc: Comlink.wrap<EngineRpc>(worker) as unknown as EngineRpc,
    dead,
    terminate: () => {
      terminated = true;
      worker.terminate();
    },
  };
}
