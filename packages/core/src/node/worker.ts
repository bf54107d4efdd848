/** A worker_threads Worker running the engine (Node), reached through comlink. */
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import type { EngineRpc } from '../runtime/rpc.ts';
import type { EngineTransport } from '../runtime/transport.ts';

export function spawnNodeEngine(): EngineTransport {
  // Loader flags of the parent (tsx's own --import) are not needed: the entry registers tsx.
  const worker = new Worker(new URL('./worker-entry.mjs', import.meta.url), { execArgv: [] });
  let terminated = false;
  let fail: (err: unknown) => void = () => {};
  const dead = new Promise<never>((_, reject) => {
    fail = reject;
  });
  dead.catch(() => {});
  worker.on('error', (err) => {
    if (!terminated) fail(err);
  });
  worker.on('exit', (code) => {
    if (!terminated) fail(new Error(`the simulation worker exited (code ${code})`));
  });
  return {
    rpc: Comlink.wrap<EngineRpc>(nodeEndpoint(worker)) as unknown as EngineRpc,
    dead,
    terminate: () => {
      terminated = true;
      void worker.terminate();
    },
  };
}

/** A module reference as an importable URL: a path (relative to the cwd) or a URL already. */
export function moduleUrl(ref: string | URL): string {
  if (ref instanceof URL) return ref.href;
  if (/^[a-z][a-z0-9+.-]*:/i.test(ref) && !isAbsolute(ref)) return ref;
  return pathToFileURL(resolve(process.cwd(), ref)).href;
}
