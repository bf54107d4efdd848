/** A ThreadPool worker in a browser: a module Web Worker serving the pool's requests. */
import type { Reply, Request } from './protocol.ts';
import { serve } from './worker.ts';

const scope = globalThis as unknown as {
  onmessage: ((e: MessageEvent<{ id: number; req: Request }>) => void) | null;
  postMessage(m: Reply, transfer?: Transferable[]): void;
};
serve({
  on: (_event, cb) => {
    scope.onmessage = (e) => cb(e.data);
  },
  postMessage: (m, transfer) => scope.postMessage(m, transfer ?? []),
});
