/**
 * `@gibbs/sweep` is an optional peer of the CLI (it brings bullmq and ioredis): `gibbs sweep` and
 * `gibbs worker` import it when they run, and nothing else imports it (a test walks the static
 * imports), so `gibbs --help` and the other commands load no Redis client.
 */
import type * as SweepApi from '@gibbs/sweep';

export type Sweep = typeof SweepApi;

/** How a command gets `@gibbs/sweep` (tests pass one that fails as a missing package does). */
export type SweepLoader = () => Promise<Sweep>;

export const importSweep: SweepLoader = () => import('@gibbs/sweep');

/**
 * The run processes' entry (sweep-child.ts): compiled, this module and it are .js files side by
 * side, and the URL is not an import that the build would rewrite.
 */
export const SWEEP_CHILD = new URL(
  import.meta.url.endsWith('.ts') ? './sweep-child.ts' : './sweep-child.js',
  import.meta.url,
);

/** What `gibbs <command>` says, in one line, when `@gibbs/sweep` is not installed. */
export function sweepMissing(command: string): string {
  return `gibbs ${command} needs the package @gibbs/sweep (it brings bullmq and ioredis): npm install @gibbs/sweep`;
}

/** Is `err` the failure to find `@gibbs/sweep` itself (not a module it imports)? */
function isMissing(err: unknown): boolean {
  const e = err as NodeJS.ErrnoException | null;
  return (
    (e?.code === 'ERR_MODULE_NOT_FOUND' || e?.code === 'MODULE_NOT_FOUND') &&
    /['"]@gibbs\/sweep['"]/.test(e.message)
  );
}

/**
 * `@gibbs/sweep`, or null after printing `sweepMissing(command)` when it is not installed. Any
 * other failure to load it (bullmq missing under it, say) is thrown as it is.
 */
export async function loadSweepPackage(command: string, load: SweepLoader): Promise<Sweep | null> {
  try {
    return await load();
  } catch (err) {
    if (!isMissing(err)) throw err;
    console.error(sweepMissing(command));
    return null;
  }
}
