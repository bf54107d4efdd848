/** `window.gibbs` in the page the browser tests drive (packages/viewer/src/main.ts's hooks). */
import type { GibbsPageHooks } from '../src/main.ts';

declare global {
  interface Window {
    gibbs: GibbsPageHooks;
  }
}
