// A worker_threads Worker cannot start from a .ts file on Node 20: register tsx, then import it.
import { register } from 'tsx/esm/api';

register();
await import('./worker-main.ts');
