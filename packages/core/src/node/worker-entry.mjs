// A worker_threads Worker cannot start from a .ts file on Node 20. From source, register tsx, then
// import the .ts; built (dist/, no .ts beside this file), import the compiled worker-main.js.
import { existsSync } from 'node:fs';

if (existsSync(new URL('./worker-main.ts', import.meta.url))) {
  const { register } = await import('tsx/esm/api');
  register();
  await import('./worker-main.ts');
} else {
  await import(new URL('./worker-main.js', import.meta.url).href);
}
