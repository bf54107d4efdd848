/**
 * The argument parser (node:util parseArgs underneath) and its messages: each names the flag,
 * what was found and what was expected.
 */
import { GibbsError } from '@gibbs/core';
import { describe, expect, it } from 'vitest';
import { type ArgSpec, parseArgs, takeFlag, takeInt, takeList, takeString } from '../src/args.ts';
import { main as exportMain } from '../src/commands/export.ts';
import { main as runMain } from '../src/commands/run.ts';
import { main as workerMain } from '../src/commands/worker.ts';

const SPEC: ArgSpec = {
  command: 'gibbs thing',
  params: true,
  options: {
    steps: { type: 'string' },
    json: { type: 'boolean' },
    grid: { type: 'string', multiple: true },
  },
};

/** The GibbsError `f` throws (it must throw one). */
function error(f: () => unknown): GibbsError {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(GibbsError);
    return err as GibbsError;
  }
  throw new Error('expected a GibbsError');
}

describe('parseArgs', () => {
  it('splits positionals, declared options and free-form parameters', () => {
    const a = parseArgs(
      [
        'battle',
        '--steps',
        '10',
        '--json',
        'x',
        '--temperature=0.5',
        '--delta',
        '-0.5',
        '--',
        '--y',
      ],
      SPEC,
    );
    expect(a.positionals).toEqual(['battle', 'x', '--y']);
    expect(Object.fromEntries(a.options)).toEqual({
      steps: '10',
      json: true,
      temperature: '0.5',
      delta: '-0.5',
    });
  });

  it('a boolean takes no value unless it is true or false; a repeated multiple option is a list', () => {
    const a = parseArgs(['--json', 'false', '--grid', 'a=1,2', '--grid=b=3'], SPEC);
    expect(takeFlag(a, 'json')).toBe(false);
    expect(takeList(a, 'grid')).toEqual(['a=1,2', 'b=3']);
    expect(takeFlag(parseArgs(['--json=true'], SPEC), 'json')).toBe(true);
    expect(takeList(parseArgs([], SPEC), 'grid')).toEqual([]);
  });

  it('-h is --help', () => {
    expect(parseArgs(['-h'], SPEC).options.get('help')).toBe(true);
    expect(parseArgs(['run', '--help'], { options: {} }).options.get('help')).toBe(true);
  });

  it('an unknown option of a command without parameters names it and the options there are', () => {
    const e = error(() =>
      parseArgs(['--steps', '3', '--frobnicate', '1'], { ...SPEC, params: false }),
    );
    expect(e.message).toBe(
      'option: got "--frobnicate", expected one of --steps, --json, --grid (gibbs thing --help)',
    );
  });

  it('a missing value names the flag', () => {
    expect(error(() => takeString(parseArgs(['--steps'], SPEC), 'steps')).message).toBe(
      '--steps: got "no value", expected a value after the flag',
    );
    // A flag after a string option is not its value.
    const a = parseArgs(['--steps', '--json'], SPEC);
    expect(a.options.get('json')).toBe(true);
    expect(error(() => takeInt(a, 'steps', 1, 1)).message).toMatch(/^--steps: got "no value"/);
    expect(error(() => takeList(parseArgs(['--grid'], SPEC), 'grid')).message).toBe(
      '--grid: got "no value", expected a value after the flag',
    );
  });

  it('a bad integer names the flag, the value and the range', () => {
    const take = (v: string) => takeInt(parseArgs(['--steps', v], SPEC), 'steps', 1, 1);
    expect(error(() => take('2xabc')).message).toBe(
      '--steps: got "2xabc", expected an integer >= 1',
    );
    expect(error(() => take('0x10')).message).toBe('--steps: got "0x10", expected an integer >= 1');
    expect(error(() => take('0')).message).toBe('--steps: got "0", expected an integer >= 1');
    expect(take('1e3')).toBe(1000);
  });

  it('an option given twice, and a flag given a value, are refused', () => {
    expect(error(() => parseArgs(['--steps', '1', '--steps', '2'], SPEC)).message).toBe(
      'option --steps is given twice',
    );
    expect(error(() => takeFlag(parseArgs(['--x', 'yes']), 'x')).message).toBe(
      '--x: got "yes", expected no value, true or false',
    );
  });
});

describe('commands', () => {
  it('gibbs export and gibbs worker refuse an option they do not have', async () => {
    await expect(exportMain(['a', 'b', '--frobnicate'])).rejects.toThrow(
      /^option: got "--frobnicate", expected one of --actor-only, --overwrite, --json, --backend \(gibbs export --help\)$/,
    );
    await expect(workerMain(['--queue', 'redis://127.0.0.1:1', '--seeds', '3'])).rejects.toThrow(
      /^option: got "--seeds", expected one of --queue, --concurrency, .*\(gibbs worker --help\)$/,
    );
  });

  it('gibbs run: a bad --steps, a missing value and an unknown parameter each name the flag', async () => {
    await expect(runMain(['ising', '--steps', '2xabc'])).rejects.toThrow(
      /^--steps: got "2xabc", expected an integer >= 1$/,
    );
    await expect(runMain(['ising', '--out'])).rejects.toThrow(
      /^--out: got "no value", expected a value after the flag$/,
    );
    await expect(runMain(['ising', '--size'])).rejects.toThrow(
      /^--size: got "no value", expected a value after the parameter$/,
    );
    await expect(runMain(['ising', '--frobnicate', '3'])).rejects.toThrow(
      /^experiment "ising": unknown parameter --frobnicate \(got "3"\); valid parameters: /,
    );
  });
});
