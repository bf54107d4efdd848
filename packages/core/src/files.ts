/**
 * Files as code that must run in Node and in a browser sees them: one small synchronous interface,
 * over the disk in Node (`nodeFiles`, reached through process.getBuiltinModule so that this module
 * bundles for a page) or over memory (`MemoryFiles`, a page's run directory). Checkpoints are
 * written through it, so a run in a browser tab keeps the same files a CLI run writes, and
 * `tar`/`untar` carry a directory of them across a download or an upload as one file.
 *
 * Paths are POSIX-style strings; a MemoryFiles path is absolute from "/".
 */
import { GibbsError } from './errors.ts';

export interface Files {
  /** A file or directory at `path`. */
  exists(path: string): boolean;
  isDirectory(path: string): boolean;
  /** The bytes of a file; a GibbsError naming the path when it is missing. */
  read(path: string): Uint8Array<ArrayBuffer>;
  /** Write a whole file atomically (a reader sees the old bytes or the new), parents made. */
  write(path: string, data: Uint8Array | string): void;
  /** Append to a file (made, with its parents, if missing): a log that grows line by line. */
  append(path: string, text: string): void;
  /** Names in a directory ([] when it does not exist). */
  list(dir: string): string[];
  /** Remove a file or a directory tree; nothing when absent. */
  remove(path: string): void;
  /** Rename a file or directory (replacing nothing: the target must not exist). */
  rename(from: string, to: string): void;
  /** An absolute path (relative paths from the working directory in Node, from "/" in memory). */
  resolve(path: string): string;
}

// ---- POSIX path helpers (node:path is not in a page) ----------------------------------------

export function joinPath(...parts: string[]): string {
  return normalise(parts.filter((p) => p !== '').join('/'));
}

function normalise(path: string): string {
  const abs = path.startsWith('/');
  const out: string[] = [];
  for (const seg of path.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  return (abs ? '/' : '') + out.join('/') || (abs ? '/' : '.');
}

export function dirnamePath(path: string): string {
  const p = normalise(path);
  const i = p.lastIndexOf('/');
  return i < 0 ? '.' : i === 0 ? '/' : p.slice(0, i);
}

export function basenamePath(path: string): string {
  const p = normalise(path);
  return p.slice(p.lastIndexOf('/') + 1);
}

const utf8 = new TextEncoder();
const bytesOf = (data: Uint8Array | string) =>
  typeof data === 'string' ? utf8.encode(data) : data;

// ---- memory ---------------------------------------------------------------------------------

/** Files in memory: a map from absolute path to bytes; directories are the paths' prefixes. */
export class MemoryFiles implements Files {
  private readonly files = new Map<string, Uint8Array<ArrayBuffer>>();

  resolve(path: string): string {
    return normalise(path.startsWith('/') ? path : `/${path}`);
  }

  exists(path: string): boolean {
    const p = this.resolve(path);
    return this.files.has(p) || this.isDirectory(p);
  }

  isDirectory(path: string): boolean {
    const prefix = `${this.resolve(path)}/`.replace('//', '/');
    for (const k of this.files.keys()) if (k.startsWith(prefix)) return true;
    return false;
  }

  read(path: string): Uint8Array<ArrayBuffer> {
    const data = this.files.get(this.resolve(path));
    if (!data) throw GibbsError.invalid('file', path, 'an existing file');
    return data;
  }

  /** Keeps `data` itself (no copy: checkpoints hold large buffers): do not change it after. */
  write(path: string, data: Uint8Array | string): void {
    const bytes = bytesOf(data);
    this.files.set(
      this.resolve(path),
      bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : bytes.slice(),
    );
  }

  append(path: string, text: string): void {
    const p = this.resolve(path);
    const old = this.files.get(p);
    const add = utf8.encode(text);
    const out = new Uint8Array((old?.length ?? 0) + add.length);
    if (old) out.set(old);
    out.set(add, old?.length ?? 0);
    this.files.set(p, out);
  }

  list(dir: string): string[] {
    const prefix = `${this.resolve(dir)}/`.replace('//', '/');
    const names = new Set<string>();
    for (const k of this.files.keys())
      if (k.startsWith(prefix)) names.add(k.slice(prefix.length).split('/')[0]);
    return [...names].sort();
  }

  remove(path: string): void {
    const p = this.resolve(path);
    this.files.delete(p);
    const prefix = `${p}/`.replace('//', '/');
    for (const k of [...this.files.keys()]) if (k.startsWith(prefix)) this.files.delete(k);
  }

  rename(from: string, to: string): void {
    const a = this.resolve(from);
    const b = this.resolve(to);
    if (!this.exists(a)) throw GibbsError.invalid('rename', from, 'an existing file or directory');
    if (this.exists(b)) throw GibbsError.invalid('rename', to, 'a path that does not exist yet');
    const file = this.files.get(a);
    if (file) {
      this.files.delete(a);
      this.files.set(b, file);
      return;
    }
    for (const [k, v] of [...this.files]) {
      if (!k.startsWith(`${a}/`)) continue;
      this.files.delete(k);
      this.files.set(b + k.slice(a.length), v);
    }
  }

  /** Every file under `dir` (all by default), as paths relative to it. */
  entries(dir = '/'): [string, Uint8Array][] {
    const prefix = `${this.resolve(dir)}/`.replace('//', '/');
    return [...this.files]
      .filter(([k]) => k.startsWith(prefix))
      .map(([k, v]): [string, Uint8Array] => [k.slice(prefix.length), v])
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }
}

/** Every file under `dir` of any Files, as paths relative to it, sorted. */
export function walkFiles(files: Files, dir: string): [string, Uint8Array][] {
  const out: [string, Uint8Array][] = [];
  const walk = (at: string, rel: string) => {
    for (const name of files.list(at)) {
      const p = joinPath(at, name);
      const r = rel ? `${rel}/${name}` : name;
      if (files.isDirectory(p)) walk(p, r);
      else out.push([r, files.read(p)]);
    }
  };
  walk(dir, '');
  return out;
}

/** A tar's files in memory under `at` (default "/"). */
export function filesFromTar(archive: Uint8Array, at = '/'): MemoryFiles {
  const files = new MemoryFiles();
  for (const [name, data] of untar(archive)) files.write(joinPath(at, name), data);
  return files;
}

// ---- disk (Node) ----------------------------------------------------------------------------

type NodeFs = typeof import('node:fs');
type NodePath = typeof import('node:path');

function builtin<T>(name: string): T {
  const proc = (globalThis as { process?: { getBuiltinModule?: (n: string) => unknown } }).process;
  const mod = proc?.getBuiltinModule?.(name) as T | undefined;
  if (!mod)
    throw GibbsError.invalid(
      'files',
      name,
      'Node >= 20.16 (files on disk); in a page use MemoryFiles',
    );
  return mod;
}

/** Files on disk (Node only): atomic writes by temp file, fsync and rename. */
export function nodeFiles(): Files {
  const fs = builtin<NodeFs>('node:fs');
  const path = builtin<NodePath>('node:path');
  const pid = (globalThis as { process?: { pid?: number } }).process?.pid ?? 0;
  let seq = 0;
  return {
    resolve: (p) => path.resolve(p),
    exists: (p) => fs.existsSync(p),
    isDirectory: (p) => fs.statSync(p, { throwIfNoEntry: false })?.isDirectory() ?? false,
    read: (p) => {
      try {
        return new Uint8Array(fs.readFileSync(p));
      } catch (err) {
        if ((err as { code?: string }).code === 'ENOENT')
          throw GibbsError.invalid('file', p, 'an existing file');
        throw err;
      }
    },
    write: (p, data) => {
      fs.mkdirSync(path.dirname(p), { recursive: true });
      // Named as core/node's writeFileAtomic names its temp files: a dead process's are swept.
      const tmp = path.join(path.dirname(p), `.${path.basename(p)}.${pid}.${seq++}.tmp`);
      try {
        const fd = fs.openSync(tmp, 'w');
        try {
          fs.writeSync(fd, bytesOf(data));
          fs.fsyncSync(fd);
        } finally {
          fs.closeSync(fd);
        }
        fs.renameSync(tmp, p);
      } catch (err) {
        fs.rmSync(tmp, { force: true });
        throw err;
      }
    },
    append: (p, text) => {
      fs.mkdirSync(path.dirname(p), { recursive: true });
      fs.appendFileSync(p, text);
    },
    list: (dir) => (fs.existsSync(dir) ? fs.readdirSync(dir).sort() : []),
    remove: (p) => fs.rmSync(p, { recursive: true, force: true }),
    rename: (a, b) => fs.renameSync(a, b),
  };
}

// ---- tar (POSIX ustar): a directory as one file -----------------------------------------------

const BLOCK = 512;

function octal(n: number, width: number): string {
  return `${n.toString(8).padStart(width - 1, '0')}\0`;
}

/**
 * The files given (paths relative to the archive's root, "/"-separated) as a POSIX ustar archive,
 * which `tar -xf` unpacks; names up to 100 bytes.
 */
export function tar(files: Iterable<[string, Uint8Array]>): Uint8Array {
  const parts: Uint8Array[] = [];
  let total = 0;
  for (const [name, data] of files) {
    const nameBytes = utf8.encode(name);
    if (nameBytes.length > 100 || name.startsWith('/') || name.split('/').includes('..'))
      throw GibbsError.invalid('tar', name, 'a relative path of at most 100 bytes, without ..');
    const h = new Uint8Array(BLOCK);
    h.set(nameBytes, 0);
    h.set(utf8.encode(octal(0o644, 8)), 100);
    h.set(utf8.encode(octal(0, 8)), 108);
    h.set(utf8.encode(octal(0, 8)), 116);
    h.set(utf8.encode(octal(data.length, 12)), 124);
    h.set(utf8.encode(octal(0, 12)), 136);
    h.set(utf8.encode('        '), 148); // the checksum counts its own field as spaces
    h[156] = 0x30; // '0': a regular file
    h.set(utf8.encode('ustar\0'), 257);
    h.set(utf8.encode('00'), 263);
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += h[i];
    h.set(utf8.encode(`${sum.toString(8).padStart(6, '0')}\0 `), 148);
    const body = new Uint8Array(Math.ceil(data.length / BLOCK) * BLOCK);
    body.set(data);
    parts.push(h, body);
    total += BLOCK + body.length;
  }
  const out = new Uint8Array(total + 2 * BLOCK);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The regular files of a ustar archive (tar()'s or `tar -cf`'s), in archive order. */
export function untar(archive: Uint8Array): [string, Uint8Array][] {
  const text = new TextDecoder();
  const field = (h: Uint8Array, at: number, len: number) =>
    text.decode(h.subarray(at, at + len)).replace(/\0.*$/s, '');
  const out: [string, Uint8Array][] = [];
  let at = 0;
  while (at + BLOCK <= archive.length) {
    const h = archive.subarray(at, at + BLOCK);
    if (h.every((b) => b === 0)) break;
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : h[i];
    const stored = Number.parseInt(field(h, 148, 8).trim(), 8);
    if (stored !== sum)
      throw GibbsError.invalid('tar', `header at byte ${at}`, `a ustar header (checksum ${sum})`);
    const size = Number.parseInt(field(h, 124, 12).trim() || '0', 8);
    const prefix = field(h, 345, 155);
    const name = (prefix ? `${prefix}/` : '') + field(h, 0, 100);
    const type = String.fromCharCode(h[156] || 0x30);
    const start = at + BLOCK;
    if (start + size > archive.length)
      throw GibbsError.invalid('tar', name, `${size} bytes of data (the archive is cut short)`);
    if (type === '0' && !name.endsWith('/')) {
      if (name.startsWith('/') || name.split('/').includes('..'))
        throw GibbsError.invalid('tar', name, 'a relative path without ..');
      out.push([name.replace(/^\.\//, ''), archive.slice(start, start + size)]);
    }
    at = start + Math.ceil(size / BLOCK) * BLOCK;
  }
  return out;
}
