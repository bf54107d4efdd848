/**
 * Files written so that a crash never leaves a half-written one: write a sibling temp file, fsync,
 * then rename over the target (atomic on POSIX file systems).
 *
 * Directories are made one level at a time (`ensureDir`), never with Node's recursive mkdir: on
 * Node 20 that loops forever under /proc. Paths under /proc, /sys and /dev are refused, and every
 * failure is a one-line GibbsError naming the path.
 */
import {
  closeSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join, parse, resolve, sep } from 'node:path';
import { GibbsError } from '../errors.ts';

let counter = 0;

/** Kernel file systems: never a place for run files (and recursive mkdir hangs under /proc). */
const SPECIAL_ROOTS = ['/proc', '/sys', '/dev'];

function underSpecial(abs: string): string | null {
  for (const root of SPECIAL_ROOTS) if (abs === root || abs.startsWith(`${root}/`)) return root;
  return null;
}

/** The nearest existing ancestor of `abs` (itself if it exists), resolved through symlinks. */
function realAncestor(abs: string): string {
  let p = abs;
  for (;;) {
    try {
      return realpathSync(p);
    } catch {
      const up = dirname(p);
      if (up === p) return p;
      p = up;
    }
  }
}

function codeOf(err: unknown): string {
  return (err as NodeJS.ErrnoException)?.code ?? String(err);
}

/**
 * Make sure `path` is a directory we can write into, creating missing levels one at a time.
 * `what` names the option in errors (`--out`). Returns the absolute path.
 */
export function ensureDir(path: string, what = 'directory'): string {
  return walkDir(path, what, true);
}

/**
 * Check `path` as ensureDir would, creating nothing: every level that exists is a directory and
 * it is not under /proc, /sys or /dev. Returns the absolute path.
 */
export function checkDirPath(path: string, what = 'directory'): string {
  return walkDir(path, what, false);
}

function walkDir(path: string, what: string, create: boolean): string {
  if (typeof path !== 'string' || path.trim() === '') {
    throw GibbsError.invalid(what, path, 'a directory path');
  }
  const abs = resolve(path);
  const special = underSpecial(abs) ?? underSpecial(realAncestor(abs));
  if (special) {
    throw GibbsError.invalid(what, path, `a directory outside ${special} (a kernel file system)`);
  }
  const { root } = parse(abs);
  const parts = abs.slice(root.length).split(sep).filter(Boolean);
  let p = root;
  for (const part of parts) {
    p = join(p, part);
    let st: ReturnType<typeof statSync> | undefined;
    try {
      st = statSync(p);
    } catch (err) {
      if (codeOf(err) !== 'ENOENT') {
        throw GibbsError.invalid(what, path, `a usable directory (${p}: ${codeOf(err)})`);
      }
    }
    if (st) {
      if (!st.isDirectory()) {
        throw GibbsError.invalid(what, path, `a directory (${p} is a file, not a directory)`);
      }
      continue;
    }
    if (!create) break;
    try {
      mkdirSync(p);
    } catch (err) {
      // Another process may have made it in between: fine if it is a directory now.
      if (codeOf(err) === 'EEXIST' && statSync(p, { throwIfNoEntry: false })?.isDirectory())
        continue;
      throw GibbsError.invalid(
        what,
        path,
        `a directory that can be created (mkdir ${p}: ${codeOf(err)})`,
      );
    }
  }
  return abs;
}

/** Entries of a directory, or [] when it does not exist. */
export function dirEntries(path: string): string[] {
  try {
    return readdirSync(path);
  } catch (err) {
    if (codeOf(err) === 'ENOENT') return [];
    throw err;
  }
}

function tempPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${counter++}.tmp`);
}

export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  ensureDir(dirname(path));
  const tmp = tempPath(path);
  try {
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

/**
 * A line-oriented file (JSON lines) built in a temp file and moved into place by `commit()`. Until
 * then, an existing file at `path` is untouched; `abort()` throws the temp file away.
 */
export class AtomicLineWriter {
  private readonly tmp: string;
  private fd: number | null;
  private pending: string[] = [];
  private pendingBytes = 0;

  constructor(readonly path: string) {
    ensureDir(dirname(path));
    this.tmp = tempPath(path);
    this.fd = openSync(this.tmp, 'w');
  }

  write(line: string): void {
    if (this.fd === null) throw new Error(`AtomicLineWriter(${this.path}): already closed`);
    this.pending.push(line);
    this.pendingBytes += line.length + 1;
    if (this.pendingBytes > 1 << 16) this.flush();
  }

  flush(): void {
    if (this.fd === null || this.pending.length === 0) return;
    writeSync(this.fd, `${this.pending.join('\n')}\n`);
    this.pending = [];
    this.pendingBytes = 0;
  }

  commit(): void {
    if (this.fd === null) return;
    this.flush();
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = null;
    renameSync(this.tmp, this.path);
  }

  abort(): void {
    if (this.fd === null) return;
    closeSync(this.fd);
    this.fd = null;
    rmSync(this.tmp, { force: true });
  }
}

/**
 * A JSON-lines file appended as a run goes: whole lines only, written out (to the kernel, so a
 * killed process keeps them) at least every `flushMs` and on `flush()`; `close()` also fsyncs.
 * Opened with truncation unless `append` (a resumed run continuing its file, see keepLinesWhile):
 * the caller decides whether the file may be replaced.
 */
export class StreamingLineWriter {
  private fd: number | null;
  private pending: string[] = [];
  private pendingBytes = 0;
  private lastFlush = Date.now();
  private readonly timer: ReturnType<typeof setInterval>;

  constructor(
    readonly path: string,
    private readonly flushMs = 2000,
    append = false,
  ) {
    ensureDir(dirname(path));
    this.fd = openSync(path, append ? 'a' : 'w');
    // Rows that wait while the loop is idle (a paused run) are written out too.
    this.timer = setInterval(() => this.flushIfDue(), Math.max(50, flushMs / 2));
    this.timer.unref?.();
  }

  write(line: string): void {
    if (this.fd === null) throw new Error(`StreamingLineWriter(${this.path}): already closed`);
    this.pending.push(line);
    this.pendingBytes += line.length + 1;
    if (this.pendingBytes > 1 << 16) this.flush();
    else this.flushIfDue();
  }

  private flushIfDue(): void {
    if (Date.now() - this.lastFlush >= this.flushMs) this.flush();
  }

  /** Write every pending line out now. */
  flush(): void {
    this.lastFlush = Date.now();
    if (this.fd === null || this.pending.length === 0) return;
    writeSync(this.fd, `${this.pending.join('\n')}\n`);
    this.pending = [];
    this.pendingBytes = 0;
  }

  close(): void {
    clearInterval(this.timer);
    if (this.fd === null) return;
    this.flush();
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = null;
  }
}

/**
 * Keep the leading lines of a JSON-lines file while `keep(parsed line)` holds and cut the file
 * after them: the first line that fails, is not JSON or is not whole (no newline: a process killed
 * mid-write) ends what is kept. A missing file stays missing. Returns the number of lines kept.
 * A resumed run uses it to drop the rows logged after the checkpoint it continues from.
 */
export function keepLinesWhile(path: string, keep: (row: unknown) => boolean): number {
  let fd: number;
  try {
    fd = openSync(path, 'r+');
  } catch (err) {
    if (codeOf(err) === 'ENOENT') return 0;
    throw err;
  }
  try {
    const size = statSync(path).size;
    const buf = Buffer.alloc(size);
    let got = 0;
    while (got < size) {
      const n = readSync(fd, buf, got, size - got, got);
      if (n === 0) break;
      got += n;
    }
    let offset = 0;
    let lines = 0;
    for (;;) {
      const nl = buf.indexOf(10, offset);
      if (nl < 0 || nl >= got) break;
      let row: unknown;
      try {
        row = JSON.parse(buf.subarray(offset, nl).toString('utf8'));
      } catch {
        break;
      }
      if (!keep(row)) break;
      offset = nl + 1;
      lines++;
    }
    if (offset < size) {
      ftruncateSync(fd, offset);
      fsyncSync(fd);
    }
    return lines;
  } finally {
    closeSync(fd);
  }
}

/** Is process `pid` alive on this machine? (EPERM: alive, someone else's.) */
export function isPidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return codeOf(err) === 'EPERM';
  }
}

/**
 * Names of files that a writer leaves only while it writes, with the writer's pid in them:
 * writeFileAtomic's and AtomicLineWriter's temp files (`.NAME.PID.N.tmp`) and checkpoints being
 * assembled (`.round-NNNNNN.partial-PID/`).
 */
const STALE_PATTERNS = [/^\..+\.(\d+)\.\d+\.tmp$/, /^\..+\.partial-(\d+)$/];

/** The pid in a temp or partial file's name, or null for any other name. */
export function writerPid(name: string): number | null {
  for (const re of STALE_PATTERNS) {
    const m = re.exec(name);
    if (m) return Number(m[1]);
  }
  return null;
}

/**
 * The startup sweep: remove the temp files and partial checkpoint folders in `dirs` that dead
 * processes left behind (their pid is in the name and no process of that pid is alive here).
 * Anything of a live process is kept, and so is anything modified in the last `minAgeMs` (a
 * writer on another machine sharing the disk, whose pid means nothing here). Returns the paths
 * removed; a path that cannot be read or removed is left alone.
 */
export function removeStaleFiles(dirs: readonly string[], minAgeMs = 10_000): string[] {
  const removed: string[] = [];
  const now = Date.now();
  for (const dir of dirs) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      const pid = writerPid(name);
      if (pid === null || isPidAlive(pid)) continue;
      const path = join(dir, name);
      try {
        if (now - statSync(path).mtimeMs < minAgeMs) continue;
        rmSync(path, { recursive: true, force: true });
        removed.push(path);
      } catch {
        // Gone already, or not ours to remove: leave it.
      }
    }
  }
  return removed;
}
