export * from './files.ts';
export * from './worker.ts';
