/** Entry of the Web Worker that runs a simulation engine (see web.ts). */
import { serveEngine } from './serve-worker.ts';

serveEngine();
