import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  basenamePath,
  dirnamePath,
  GibbsError,
  joinPath,
  MemoryFiles,
  nodeFiles,
  tar,
  untar,
} from '../src/index.ts';

const segment = fc.stringMatching(/^[a-z0-9_.-]{1,12}$/).filter((s) => s !== '.' && s !== '..');
const relPath = fc.array(segment, { minLength: 1, maxLength: 4 }).map((s) => s.join('/'));
const fileSet = fc.uniqueArray(fc.tuple(relPath, fc.uint8Array({ maxLength: 1500 })), {
  selector: ([p]) => p,
  maxLength: 8,
});
/** No path is both a file and a directory of another. */
const consistent = (files: [string, Uint8Array][]) =>
  files.every(([a]) => files.every(([b]) => !b.startsWith(`${a}/`)));

describe('paths', () => {
  it('join, dirname and basename agree with node:path on POSIX paths', () => {
    fc.assert(
      fc.property(relPath, relPath, (a, b) => {
        const j = joinPath(`/${a}`, b);
        expect(j).toBe(join(`/${a}`, b));
        expect(dirnamePath(j)).toBe(join(j, '..'));
        expect(basenamePath(j)).toBe(b.split('/').at(-1));
      }),
    );
  });
});

describe('tar', () => {
  it('untar(tar(files)) gives the files back, byte for byte', () => {
    fc.assert(
      fc.property(fileSet, (files) => {
        expect(untar(tar(files))).toEqual(files.map(([p, d]) => [p, new Uint8Array(d)]));
      }),
    );
  });

  it("is a ustar archive the system's tar unpacks, and reads the system's archives", () => {
    const dir = mkdtempSync(join(tmpdir(), 'gibbs-tar-'));
    const files: [string, Uint8Array][] = [
      ['state.json', new TextEncoder().encode('{"round":3}\n')],
      ['learner/weights.bin', Uint8Array.from({ length: 1300 }, (_, i) => (i * 7) & 255)],
      ['learner/model.json', new TextEncoder().encode('{}')],
    ];
    writeFileSync(join(dir, 'a.tar'), tar(files));
    mkdirSync(join(dir, 'out'));
    execFileSync('tar', ['-xf', join(dir, 'a.tar'), '-C', join(dir, 'out')]);
    for (const [p, d] of files)
      expect(new Uint8Array(readFileSync(join(dir, 'out', p)))).toEqual(d);
    expect(readdirSync(join(dir, 'out')).sort()).toEqual(['learner', 'state.json']);
    // And the other way: GNU tar's own archive of that directory.
    execFileSync('tar', ['--format=ustar', '-cf', join(dir, 'b.tar'), '-C', join(dir, 'out'), '.']);
    const back = new Map(untar(new Uint8Array(readFileSync(join(dir, 'b.tar')))));
    for (const [p, d] of files) expect(back.get(p)).toEqual(d);
  });

  it('refuses a corrupt header or a cut archive with a GibbsError', () => {
    const a = tar([['x.bin', new Uint8Array(600)]]);
    const bad = a.slice();
    bad[0] ^= 1;
    expect(() => untar(bad)).toThrow(GibbsError);
    expect(() => untar(a.slice(0, 700))).toThrow(/cut short/);
    expect(() => tar([['../x', new Uint8Array(1)]])).toThrow(GibbsError);
  });
});

describe('MemoryFiles and nodeFiles', () => {
  it('the same writes, renames and removals leave the same files in memory and on disk', () => {
    fc.assert(
      fc.property(
        fileSet.filter((f) => f.length > 0 && consistent(f)),
        fc.nat(),
        (files, pick) => {
          const root = mkdtempSync(join(tmpdir(), 'gibbs-files-'));
          const disk = nodeFiles();
          const mem = new MemoryFiles();
          for (const fs of [
            { f: disk, at: root },
            { f: mem, at: '/r' },
          ]) {
            for (const [p, d] of files) fs.f.write(joinPath(fs.at, 'a', p), d);
            fs.f.rename(joinPath(fs.at, 'a'), joinPath(fs.at, 'b'));
            fs.f.remove(joinPath(fs.at, 'b', files[pick % files.length][0]));
          }
          const list = (f: typeof disk, dir: string): string[] =>
            f.list(dir).flatMap((n) => {
              const p = joinPath(dir, n);
              return f.isDirectory(p) ? list(f, p).map((q) => `${n}/${q}`) : [n];
            });
          const onDisk = list(disk, join(root, 'b')).sort();
          expect(list(mem, '/r/b').sort()).toEqual(onDisk);
          for (const p of onDisk)
            expect(mem.read(`/r/b/${p}`)).toEqual(disk.read(join(root, 'b', p)));
          expect(mem.exists('/r/a')).toBe(false);
        },
      ),
      { numRuns: 30 },
    );
  });

  it('reading a missing file is a GibbsError naming it', () => {
    expect(() => new MemoryFiles().read('/nope/x.json')).toThrow(/nope\/x\.json/);
    expect(() => nodeFiles().read(join(tmpdir(), 'gibbs-no-such-file'))).toThrow(GibbsError);
  });
});
