/**
 * Checks `gibbs run` makes before a run starts, so that bad input fails in one line and before
 * anything is written: the run directory rule (`--out` new or empty unless `--overwrite`, or the
 * directory of the run being resumed), whether `--serve` may listen where it is asked to
 * (loopback, unless `--serve-public`) and whether it can.
 */
import { rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { GibbsError } from '@gibbs/core';
import { checkDirPath, dirEntries, writerPid } from '@gibbs/core/node';

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
 * The run directory a `--resume` path belongs to: `DIR` for `DIR`, `DIR/checkpoints` and
 * `DIR/checkpoints/round-NNNNNN`; null when there is no resume.
 */
export function resumeRunDir(resume: unknown): string | null {
  if (typeof resume !== 'string' || resume.trim() === '') return null;
  const abs = resolve(resume);
  const m = /^(.*)\/checkpoints(\/[^/]+)?$/.exec(abs);
  return m && m[1] !== '' ? m[1] : abs;
}

/**
 * The run directory rule: `--out DIR` must be new or empty, unless `--overwrite` is given; then
 * the earlier run's files are removed first, so that DIR never holds a mix of two runs. A run that
 * resumes from DIR's own checkpoint continues DIR instead: nothing is removed (the run keeps the
 * metrics rows up to the checkpoint and drops the later ones), with or without `--overwrite`.
 * Creates nothing: the run makes DIR once its parameters are valid. Says which case it was.
 */
export function prepareOutDir(
  out: string,
  overwrite: boolean,
  resume: unknown,
): 'new' | 'continued' | 'replaced' {
  const abs = checkDirPath(out, '--out');
  const entries = dirEntries(abs).filter((f) => writerPid(f) === null);
  if (entries.length === 0) return 'new';
  if (resumeRunDir(resume) === abs) return 'continued';
  if (!overwrite) {
    throw GibbsError.invalid(
      '--out',
      out,
      `a new or empty directory (it holds ${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', ...' : ''}); give --overwrite to replace that run, or another --out`,
    );
  }
  const resumesInside =
    typeof resume === 'string' && resume !== '' && `${resolve(resume)}/`.startsWith(`${abs}/`);
  for (const f of RUN_FILES) rmSync(join(abs, f), { force: true });
  if (!resumesInside) rmSync(join(abs, 'checkpoints'), { recursive: true, force: true });
  return 'replaced';
}

/** Is `host` a loopback address (127.0.0.0/8, ::1, localhost)? */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return (
    h === 'localhost' ||
    h === '::1' ||
    h === '0:0:0:0:0:0:0:1' ||
    /^(::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)
  );
}

/**
 * `--serve` on an address other than loopback serves the run to the network with no
 * authentication: refused unless `--serve-public` says so; then the returned warning is printed.
 */
export function checkServePublic(
  address: { host: string; port: number },
  text: string,
  allowed: boolean,
): string | null {
  if (isLoopbackHost(address.host)) return null;
  if (!allowed) {
    throw GibbsError.invalid(
      '--serve',
      text,
      'a loopback address (PORT, 127.0.0.1:PORT, [::1]:PORT); to serve on another interface add --serve-public (watchers are not authenticated)',
    );
  }
  return `gibbs: warning: serving on ${text} beyond this machine: there is no authentication, anyone who can reach ${address.host}:${address.port} can watch and steer the run`;
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
