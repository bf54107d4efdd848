/**
 * Checks `gibbs run` makes before a run starts, so that bad input fails in one line and before
 * anything is written: the run directory rule (`--out` new or empty unless `--overwrite`) and
 * whether `--serve` can listen where it is asked to.
 */
import { rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { GibbsError } from '@gibbs/core';
import { checkDirPath, dirEntries } from '@gibbs/core/node';

/** Files of a run that a new run in the same directory replaces (with --overwrite). */
const RUN_FILES = [
  'config.json',
  'metrics.jsonl',
  'frames.bin',
  'rounds.jsonl',
  'done.json',
  'error.json',
];

/**
 * The run directory rule: `--out DIR` must be new or empty, unless `--overwrite` is given; then
 * the earlier run's files are removed first (its checkpoints too, unless this run resumes from
 * inside DIR), so that DIR never holds a mix of two runs. Creates nothing: the run makes DIR
 * once its parameters are valid.
 */
export function prepareOutDir(out: string, overwrite: boolean, resume: unknown): void {
  const abs = checkDirPath(out, '--out');
  const entries = dirEntries(abs).filter((f) => !/^\..+\.\d+\.\d+\.tmp$/.test(f));
  if (entries.length === 0) return;
  if (!overwrite) {
    throw GibbsError.invalid(
      '--out',
      out,
      `a new or empty directory (it holds ${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', ...' : ''}); give --overwrite to replace that run, or another --out`,
    );
  }
  const resumesHere =
    typeof resume === 'string' && resume !== '' && `${resolve(resume)}/`.startsWith(`${abs}/`);
  for (const f of RUN_FILES) rmSync(join(abs, f), { force: true });
  if (!resumesHere) rmSync(join(abs, 'checkpoints'), { recursive: true, force: true });
}

/**
 * Can we listen there? Checked before the run starts (port 0 too: the address may not be this
 * machine's), so a busy port or a foreign address writes nothing.
 */
export async function probePort(address: { host: string; port: number }): Promise<void> {
  await new Promise<void>((ok, fail) => {
    const server = createServer();
    server.once('error', (err) => fail(serveError(err, `${address.host}:${address.port}`)));
    server.listen(address.port, address.host, () => server.close(() => ok()));
  });
}

export function serveError(err: unknown, at: string): unknown {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'EADDRINUSE')
    return GibbsError.invalid('--serve', at, 'a port that is free (this one is in use)');
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN')
    return GibbsError.invalid('--serve', at, 'an address of this machine (127.0.0.1 for loopback)');
  if (code === 'EACCES')
    return GibbsError.invalid('--serve', at, 'a port this user may open (>= 1024)');
  return err;
}
