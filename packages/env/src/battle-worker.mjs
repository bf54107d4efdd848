// Entry of Battle's observation worker threads. Node 20 cannot start a Worker from a .ts file: from
// source, register tsx's loader, then import the TypeScript worker; built (dist/, no .ts beside
// this file), import the compiled battle-worker.js.
import { existsSync } from 'node:fs';

if (existsSync(new URL('./battle-worker.ts', import.meta.url))) {
  const { register } = await import('tsx/esm/api');
  register();
  await import('./battle-worker.ts');
} else {
  await import(new URL('./battle-worker.js', import.meta.url).href);
}
