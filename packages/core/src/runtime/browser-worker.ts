/** Entry of the Web Worker that runs a simulation engine (see web.ts). */
import * as Comlink from 'comlink';
import { createEngineRpc } from './rpc.ts';

Comlink.expose(createEngineRpc(Comlink.transfer));
