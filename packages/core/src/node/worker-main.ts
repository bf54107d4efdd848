/** The worker_threads side: the same engine calls as in a Web Worker, over comlink's Node adapter. */
import { parentPort } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { createEngineRpc } from '../runtime/rpc.ts';

if (!parentPort) throw new Error('worker-main.ts must run inside a worker_threads Worker');
Comlink.expose(createEngineRpc(Comlink.transfer), nodeEndpoint(parentPort));
