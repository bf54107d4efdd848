/**
 * The live web viewer (pixi.js v8), served by `pnpm gibbs view` (docs/viewer.md). Platform-neutral
 * parts are exported here; the Node server is `@gibbs/viewer/server`, the page's modules are
 * loaded by vite from index.html.
 */
export * from './camera.ts';
export * from './palette.ts';
export * from './recording.ts';
export type * from './source.ts';
export * from './webm.ts';
