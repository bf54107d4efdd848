import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AtomicLineWriter, writeJsonAtomic } from '../src/node/files.ts';

describe('atomic files', () => {
  it('an aborted line writer leaves the earlier file intact and no temp file behind', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gibbs-'));
    const path = join(dir, 'metrics.jsonl');
    writeFileSync(path, 'old\n');
    const w = new AtomicLineWriter(path);
    w.write('new 1');
    w.flush();
    expect(readFileSync(path, 'utf8')).toBe('old\n');
    w.abort();
    expect(readFileSync(path, 'utf8')).toBe('old\n');
    expect(readdirSync(dir)).toEqual(['metrics.jsonl']);
  });

  it('a committed writer replaces the file with every line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gibbs-'));
    const path = join(dir, 'm.jsonl');
    const w = new AtomicLineWriter(path);
    for (let i = 0; i < 5000; i++) w.write(`{"i":${i}}`);
    w.commit();
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    expect(lines.length).toBe(5000);
    expect(JSON.parse(lines[4999])).toEqual({ i: 4999 });
  });

  it('writeJsonAtomic creates folders and writes parseable JSON', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gibbs-'));
    const path = join(dir, 'a', 'b', 'config.json');
    writeJsonAtomic(path, { seed: 3 });
    expect(existsSync(path)).toBe(true);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ seed: 3 });
  });
});
