export * from './check.ts';
export * from './env.ts';
export * from './episodes.ts';
export * from './errors.ts';
export * from './experiment.ts';
export * from './files.ts';
export * from './frame.ts';
export * from './meanfield.ts';
export * from './rng.ts';
export * from './runner.ts';
// The runtime's plain parts (the engine, its protocol and types). Handles, workers and streams
// (rxjs, comlink) are `@gibbs/core/runtime`: a world's author loads neither.
export * from './runtime/control.ts';
export * from './runtime/engine.ts';
export * from './runtime/external.ts';
export * from './runtime/protocol.ts';
export * from './runtime/rpc.ts';
export * from './runtime/transport.ts';
export * from './runtime/types.ts';
