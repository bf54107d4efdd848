/** How a handle reaches an engine in a worker: the calls, the worker's death, and its end. */
import type { EngineRpc } from './rpc.ts';

export interface EngineTransport {
  rpc: EngineRpc;
  /** Rejects with the worker's error when it dies (uncaught error, exit) before terminate(). */
  dead: Promise<never>;
  terminate(): void;
}
