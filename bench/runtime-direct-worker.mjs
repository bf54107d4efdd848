// A bare worker_threads Worker running runtime-direct.ts's loop (tsx registered first: Node 20
// cannot start a worker from a .ts file).
import { parentPort, workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const { directLoop } = await import('./runtime-direct.ts');
parentPort.postMessage(await directLoop(workerData));
