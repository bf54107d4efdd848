export * from './control.ts';
export * from './engine.ts';
export * from './handle.ts';
export * from './protocol.ts';
export * from './rpc.ts';
export * from './start.ts';
export * from './transport.ts';
export * from './types.ts';
