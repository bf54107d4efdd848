export * from './files.ts';
export * from './serve.ts';
export * from './worker.ts';
