// Entry of Battle's observation worker threads. Node 20 cannot start a Worker from a .ts file:
// register tsx's loader, then import the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./battle-worker.ts');
