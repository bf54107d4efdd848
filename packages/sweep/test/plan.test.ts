import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GibbsError } from '@gibbs/core';
import tinyIsing from '@gibbs/test-support/tiny-ising';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseGridOption, parseSeeds, planRuns, runName } from '../src/grid.ts';
import { niceTicks, plotAscii, plotSvg, seriesOf } from '../src/plot.ts';
import { parseRedisUrl } from '../src/redis.ts';
import { reportMarkdown, runsCsv, type SweepReport } from '../src/report.ts';
import { removeStaleTemps } from '../src/rundir.ts';
import { studentTCdf, studentTQuantile, summarize } from '../src/stats.ts';

describe('grid and seeds', () => {
  it('expands a range by its step without float noise', () => {
    const axis = parseGridOption('temperature=0.5..2.5:0.1');
    expect(axis.param).toBe('temperature');
    expect(axis.values).toHaveLength(21);
    expect(axis.values.slice(0, 3)).toEqual(['0.5', '0.6', '0.7']);
    expect(axis.values[20]).toBe('2.5');
    expect(parseGridOption('size=4..6').values).toEqual(['4', '5', '6']);
    expect(parseGridOption('size=2,4..5,9').values).toEqual(['2', '4', '5', '9']);
  });

  it('parses seeds as lists and inclusive ranges', () => {
    expect(parseSeeds('0..4')).toEqual([0, 1, 2, 3, 4]);
    expect(parseSeeds('3,0..1,7')).toEqual([3, 0, 1, 7]);
    expect(() => parseSeeds('1,1')).toThrow(GibbsError);
    expect(() => parseSeeds('a')).toThrow(/--seeds/);
    expect(() => parseSeeds('-1')).toThrow(GibbsError);
    expect(() => parseSeeds('4..0')).toThrow(
      '--seeds: got "4..0", expected a range a..b with a <= b',
    );
  });

  it('rejects malformed grid options', () => {
    expect(() => parseGridOption('temperature')).toThrow(/--grid/);
    expect(() => parseGridOption('temperature=')).toThrow(/--grid/);
    expect(() => parseGridOption('temperature=1,,2')).toThrow(/empty/);
    expect(() => parseGridOption('temperature=3..1')).toThrow(/a <= b/);
  });
});

describe('planRuns', () => {
  it('lists grid points (first axis slowest) times seeds, with parsed values', () => {
    const runs = planRuns(
      tinyIsing,
      [parseGridOption('temperature=1.5,2.50'), parseGridOption('size=4,8')],
      { sweepsPerStep: '2' },
      [0, 1],
    );
    expect(runs.map((r) => r.name)).toEqual([
      'temperature=1.5_size=4_s0',
      'temperature=1.5_size=4_s1',
      'temperature=1.5_size=8_s0',
      'temperature=1.5_size=8_s1',
      'temperature=2.5_size=4_s0',
      'temperature=2.5_size=4_s1',
      'temperature=2.5_size=8_s0',
      'temperature=2.5_size=8_s1',
    ]);
    expect(runs[4].point).toEqual({ temperature: 2.5, size: 4 });
  });

  it('finds bad input before anything runs', () => {
    const t = parseGridOption('temperature=1,2');
    expect(() => planRuns(tinyIsing, [], {}, [0])).toThrow(/at least one --grid/);
    expect(() => planRuns(tinyIsing, [parseGridOption('temp=1,2')], {}, [0])).toThrow(
      /no parameter "temp".*valid parameters: temperature, size/,
    );
    expect(() => planRuns(tinyIsing, [parseGridOption('temperature=1,-2')], {}, [0])).toThrow(
      /--temperature: got -2/,
    );
    expect(() => planRuns(tinyIsing, [parseGridOption('temperature=1,1.0')], {}, [0])).toThrow(
      /listed twice/,
    );
    expect(() => planRuns(tinyIsing, [t], { temperature: '3' }, [0])).toThrow(/swept or fixed/);
    expect(() => planRuns(tinyIsing, [t], { size: '1' }, [0])).toThrow(/--size/);
    expect(() => planRuns(tinyIsing, [t], {}, [])).toThrow(/at least one seed/);
  });

  it('run names are distinct, path-safe and a pure function of point and seed', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.nat(), (a, b, seed) => {
        const na = runName({ p: a }, seed);
        expect(na).toMatch(/^[A-Za-z0-9.+%=_~-]+$/);
        expect(na.length).toBeLessThanOrEqual(140);
        expect(runName({ p: a }, seed)).toBe(na);
        if (a !== b) expect(runName({ p: b }, seed)).not.toBe(na);
      }),
    );
    expect(runName({ algo: 'mf q/2' }, 3)).toBe('algo=mf%20q%2F2_s3');
  });
});

describe('confidence intervals', () => {
  it('t quantiles match tables', () => {
    // Two-sided 95 % critical values (Student 1908; any statistics table).
    expect(studentTQuantile(0.975, 1)).toBeCloseTo(12.7062, 3);
    expect(studentTQuantile(0.975, 4)).toBeCloseTo(2.7764, 4);
    expect(studentTQuantile(0.975, 9)).toBeCloseTo(2.2622, 4);
    expect(studentTQuantile(0.995, 30)).toBeCloseTo(2.75, 3);
    expect(studentTQuantile(0.975, 1e7)).toBeCloseTo(1.96, 3);
    expect(studentTQuantile(0.025, 4)).toBeCloseTo(-2.7764, 4);
    fc.assert(
      fc.property(
        fc.double({ min: 0.01, max: 0.99, noNaN: true }),
        fc.integer({ min: 1, max: 200 }),
        (p, df) => {
          expect(studentTCdf(studentTQuantile(p, df), df)).toBeCloseTo(p, 9);
        },
      ),
    );
  });

  it('summarize: mean ± t s / sqrt(n) on a hand-built case', () => {
    // xs = 1..5: mean 3, s = sqrt(2.5), half-width 2.7764 * sqrt(2.5) / sqrt(5).
    const s = summarize([1, 2, 3, 4, 5]);
    const half = 2.7764451 * Math.sqrt(2.5 / 5);
    expect(s.mean).toBe(3);
    expect(s.sd).toBeCloseTo(Math.sqrt(2.5), 12);
    expect(s.lo).toBeCloseTo(3 - half, 5);
    expect(s.hi).toBeCloseTo(3 + half, 5);
    const one = summarize([7]);
    expect(one.mean).toBe(7);
    expect(Number.isNaN(one.lo)).toBe(true);
  });
});

describe('plots', () => {
  const stat = (mean: number, half: number) => ({
    n: 3,
    mean,
    sd: 1,
    lo: mean - half,
    hi: mean + half,
  });
  const report: SweepReport = {
    experiment: 'x',
    grid: ['temperature', 'size'],
    confidence: 0.95,
    metrics: ['order'],
    points: [
      { point: { temperature: 2, size: 8 }, seeds: [0, 1, 2], stats: { order: stat(0.1, 0.05) } },
      { point: { temperature: 1, size: 8 }, seeds: [0, 1, 2], stats: { order: stat(0.9, 0.05) } },
      { point: { temperature: 1, size: 16 }, seeds: [0, 1, 2], stats: { order: stat(0.95, 0.01) } },
    ],
    runs: [],
    failed: [],
    pending: [],
  };

  it('nice ticks', () => {
    expect(niceTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0.5, 2.5, 8)).toEqual([0.5, 1, 1.5, 2, 2.5]);
    expect(niceTicks(-0.03, 1)).toEqual([0, 0.5, 1]);
  });

  it('one series per value of the other parameters, sorted by x', () => {
    const series = seriesOf(report, 'temperature', 'order');
    expect(series.map((s) => [s.label, s.points.map((p) => [p.x, p.mean])])).toEqual([
      [
        'size=8',
        [
          [1, 0.9],
          [2, 0.1],
        ],
      ],
      ['size=16', [[1, 0.95]]],
    ]);
    expect(() => seriesOf(report, 'seed', 'order')).toThrow(
      /--x: got "seed", expected a swept parameter/,
    );
    expect(() => seriesOf(report, 'temperature', 'energy')).toThrow(/--y: got "energy"/);
    const svg = plotSvg(series, { x: 'temperature', y: 'order', title: 't', confidence: 0.95 });
    expect(svg.match(/<polyline /g)).toHaveLength(2);
    // A band needs two points with an interval: only size=8 has one.
    expect(svg.match(/<polygon /g)).toHaveLength(1);
    const ascii = plotAscii(series, { x: 'temperature', y: 'order', rows: 5 });
    expect(ascii.split('\n')[0]).toMatch(/^\s+0\.950 \|\*/);
  });
});

describe('run directories', () => {
  it('removes temp files of dead attempts only', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gibbs-rundir-'));
    try {
      // A pid far above Linux's pid_max default (4194304) is never alive.
      for (const f of [
        '.metrics.jsonl.99999999.0.tmp',
        `.metrics.jsonl.${process.pid}.3.tmp`,
        'metrics.jsonl',
      ]) {
        writeFileSync(join(dir, f), 'x');
      }
      removeStaleTemps(dir);
      expect(readdirSync(dir).sort()).toEqual([
        `.metrics.jsonl.${process.pid}.3.tmp`,
        'metrics.jsonl',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Redis URLs', () => {
  it('parses host, port, password, user, db and TLS; never shows the password', () => {
    expect(parseRedisUrl('redis://127.0.0.1:6390')).toEqual({
      redacted: 'redis://127.0.0.1:6390',
      options: { host: '127.0.0.1', port: 6390, db: 0 },
    });
    expect(parseRedisUrl('redis://:p%40ss@h:1/2')).toEqual({
      redacted: 'redis://:***@h:1/2',
      options: { host: 'h', port: 1, db: 2, password: 'p@ss' },
    });
    expect(parseRedisUrl('rediss://me:pw@h').options).toEqual({
      host: 'h',
      port: 6379,
      db: 0,
      password: 'pw',
      username: 'me',
      tls: {},
    });
    expect(() => parseRedisUrl('http://h:1')).toThrow(
      /--queue: got "http:\/\/h:1", expected redis:\/\//,
    );
    expect(() => parseRedisUrl('redis://:secret@h:1/x')).toThrow(/redis:\/\/:\*\*\*@h:1\/x/);
    expect(() => parseRedisUrl('redis://:secret@h:1/x')).not.toThrow(/secret/);
  });
});

describe('report headers', () => {
  it('marks a logged metric named like a swept parameter, in Markdown and runs.csv', () => {
    const run = { name: 'temperature=0.5_s0', point: { temperature: 0.5 }, seed: 0 };
    const report: SweepReport = {
      experiment: 'ising',
      grid: ['temperature'],
      confidence: 0.95,
      metrics: ['order', 'temperature'],
      points: [
        {
          point: { temperature: 0.5 },
          seeds: [0],
          stats: {
            order: summarize([0.9], 0.95),
            temperature: summarize([0.5], 0.95),
          },
        },
      ],
      runs: [{ run, metrics: { order: 0.9, temperature: 0.5 } } as SweepReport['runs'][number]],
      failed: [],
      pending: [],
    };
    const md = reportMarkdown(report);
    expect(md).toContain('| temperature | seeds | order | temperature (logged) |');
    expect(runsCsv(report).split('\n')[0]).toBe('temperature,seed,order,temperature_logged');
  });
});
