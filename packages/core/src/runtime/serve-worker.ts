/**
 * Serve a simulation engine from inside a Web Worker, through comlink. core's own worker entry
 * calls it; a page with its own entry (the viewer, which bundles its experiments) calls it with
 * `resolveExperiment` and hands the Worker to startSimulation's `spawnWorker`.
 */
import * as Comlink from 'comlink';
import { createEngineRpc, type EngineRpcOptions } from './rpc.ts';

export function serveEngine(options: EngineRpcOptions = {}): void {
  Comlink.expose(createEngineRpc(Comlink.transfer, null, options));
}
