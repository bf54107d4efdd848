// comlink ships its Node adapter without a type entry for this path. It takes a worker_threads
// Worker or MessagePort (postMessage, on, off).
declare module 'comlink/dist/esm/node-adapter.mjs' {
  import type { Endpoint } from 'comlink';
  export default function nodeEndpoint(nep: object): Endpoint;
}
