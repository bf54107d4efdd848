/** Provided by the viewer's vite plugin (server.ts): the experiments this server offers. */
declare module 'virtual:gibbs-experiments' {
  /** Experiment name to a loader of its module. */
  export const experiments: Record<string, () => Promise<Record<string, unknown>>>;
  /**
   * What serves the page: 'dev' (`gibbs view`: vite, the runs directory, COOP/COEP headers) or
   * 'static' (a built site on any file server: no runs list, maybe no cross-origin isolation).
   */
  export const site: 'dev' | 'static';
  /** Options the server was started with (what `pnpm gibbs view` was told). */
  export const defaults: {
    experiment?: string;
    seed?: number;
    params?: Record<string, string>;
    attach?: string;
    replay?: string;
    thread?: 'worker' | 'main';
  };
}

/** vite's `?url` imports: the URL of the file as served (dev) or emitted (build). */
declare module '*.wasm?url' {
  const url: string;
  export default url;
}
