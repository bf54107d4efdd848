// A worker_threads Worker cannot start from a .ts file on Node 20: register tsx, then import it.
import { parentPort } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const { serve } = await import('./worker.ts');
serve(parentPort);
