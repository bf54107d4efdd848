/**
 * A ThreadPool worker: replicas of the pool's agents, each with its own tfjs backend. It answers
 * forward passes (policies of a range of rows) and gradients (of a range of an update batch);
 * the main thread keeps the master weights, takes every decision and draws every random number.
 */
import { GibbsError, Rng } from '@gibbs/core';
import { configureBackends, initBackend } from '@gibbs/core/backend';
import { createPlayer } from '../learners.ts';
import type { GroupAgent, Learner } from '../policy.ts';
import type { GradientReply, Reply, Request } from './protocol.ts';

const agents = new Map<string, GroupAgent>();

function agent(key: string): GroupAgent {
  const a = agents.get(key);
  if (!a) throw new Error(`pool worker: no agent "${key}"`);
  return a;
}

async function handle(req: Request): Promise<{ value: unknown; transfer: ArrayBuffer[] }> {
  switch (req.op) {
    case 'init':
      if (req.wasmPaths !== undefined) configureBackends({ wasmPaths: req.wasmPaths });
      return { value: await initBackend(req.backend), transfer: [] };
    case 'create':
      // The weights are the main thread's: they arrive before the first forward pass.
      agents.set(req.key, createPlayer(req.algo, req.shape, req.config, new Rng(0)));
      return { value: null, transfer: [] };
    case 'weights': {
      const a = agent(req.key);
      a.policyParams.setFlat(req.sets.policy);
      for (const [name, p] of Object.entries(a.extraParams)) {
        const data = req.sets[name];
        if (data) p.setFlat(data);
      }
      return { value: null, transfer: [] };
    }
    case 'policy':
      agent(req.key).policyRows(req.obs, req.lo, req.hi, req.temperature, req.probs);
      return { value: null, transfer: [] };
    case 'gradient': {
      const g = (agent(req.key) as Learner).gradient(req.u, req.lo, req.hi, req.temperature);
      const value: GradientReply = { grad: g.grad, loss: g.loss, qSum: g.qSum, td: g.td };
      return { value, transfer: [g.grad.buffer as ArrayBuffer] };
    }
    case 'dispose':
      agents.get(req.key)?.dispose();
      agents.delete(req.key);
      return { value: null, transfer: [] };
  }
}

/** Serve requests from `port` (a worker_threads parentPort, or a Web Worker's scope adapted) one at a time, in order. */
export function serve(port: {
  on(event: 'message', cb: (m: { id: number; req: Request }) => void): void;
  postMessage(m: Reply, transfer?: ArrayBuffer[]): void;
}): void {
  let chain = Promise.resolve();
  port.on('message', ({ id, req }) => {
    chain = chain.then(async () => {
      try {
        const { value, transfer } = await handle(req);
        port.postMessage({ id, ok: true, value }, transfer);
      } catch (err) {
        const e = err as Error & Partial<GibbsError>;
        port.postMessage({
          id,
          ok: false,
          error: {
            name: e.name,
            message: e.message,
            field: e.field,
            value: e instanceof GibbsError ? e.value : undefined,
            expected: e.expected,
          },
        });
      }
    });
  });
}
