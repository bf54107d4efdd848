/** Provided by the viewer's vite plugin (server.ts): the experiments this server offers. */
declare module 'virtual:gibbs-experiments' {
  /** Experiment name to a loader of its module. */
  export const experiments: Record<string, () => Promise<Record<string, unknown>>>;
  /** Experiment name to the URL of its module (what a worker imports). */
  export const moduleUrls: Record<string, string>;
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
