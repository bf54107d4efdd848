// A worker_threads Worker cannot start from a .ts file on Node 20. From source, register tsx, then
// import the .ts; built (dist/, no .ts beside this file), import the compiled worker.js.
import { existsSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';

let worker;
if (existsSync(new URL('./worker.ts', import.meta.url))) {
  const { register } = await import('tsx/esm/api');
  register();
  worker = await import('./worker.ts');
} else {
  worker = await import(new URL('./worker.js', import.meta.url).href);
}
worker.serve(parentPort);
