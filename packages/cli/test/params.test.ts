/**
 * An experiment's parameters on the command line: `run <experiment> --help` shows each one's type,
 * default and description, and battle-train's algorithm hyperparameters are flags of their own
 * (from @gibbs/agents' zod schemas), folded into its `config` JSON with the flag winning.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ALGO_CONFIGS } from '@gibbs/agents';
import { type Experiment, parseParams } from '@gibbs/core';
import { EXPERIMENT_NAMES } from '@gibbs/experiments';
import { TINY_ISING } from '@gibbs/test-support/tiny-ising';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseArgs } from '../src/args.ts';
import { experimentHelp, RUN_ARGS, main as runMain } from '../src/commands/run.ts';
import { describeSchema, foldHyperparameters } from '../src/params.ts';
import { loadExperiment } from '../src/repo.ts';

const tmp = mkdtempSync(join(tmpdir(), 'gibbs-params-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
afterEach(() => {
  vi.restoreAllMocks();
});

let train: Experiment;
beforeAll(async () => {
  train = await loadExperiment('battle-train');
}, 60_000);

const help = (argv: string[], exp = train) => experimentHelp(exp, parseArgs(argv, RUN_ARGS));

describe('run <experiment> --help', () => {
  it("shows each parameter's type, default and description", () => {
    const text = help(['battle-train', '--help']);
    expect(text).toMatch(
      /^ {2}--algo <mfq\|mfac\|il\|ac> +mfq \| mfac \| il \| ac \(default "mfq"\)$/m,
    );
    expect(text).toMatch(
      /^ {2}--rounds <integer > 0> +rounds \(episodes\) to train in total \(default 20\)$/m,
    );
    expect(text).toMatch(
      /^ {2}--opponentTau <number in \[0, 1\]> +opponent soft update on a win \(default 0\.01\)$/m,
    );
    expect(text).toContain('--steps defaults to 8000.');
  });

  it('lists the hyperparameters of the --algo given (default: mfq), not those that are parameters', () => {
    const mfq = help(['battle-train', '--help']);
    expect(mfq).toContain('Hyperparameters of --algo mfq');
    expect(mfq).toMatch(/^ {2}--lr <number > 0> +Adam step size \(default 0\.0003\)$/m);
    expect(mfq).toMatch(/^ {2}--batchSize <integer > 0> +rows per gradient step \(default 128\)$/m);
    expect(mfq).toMatch(/^ {2}--temperature <JSON> +Boltzmann temperature/m);
    expect(mfq).not.toContain('--valueCoef');
    // `net` is battle-train's own parameter: listed once, among the parameters.
    expect(mfq.match(/^ {2}--net /gm)).toHaveLength(1);
    const mfac = help(['battle-train', '--algo', 'mfac', '--help']);
    expect(mfac).toContain('Hyperparameters of --algo mfac');
    expect(mfac).toMatch(/^ {2}--valueCoef <number >= 0> +weight of the critic loss/m);
    expect(mfac).toMatch(/--lr <number > 0> +Adam step size \(default 0\.0001\)$/m);
    expect(mfac).not.toContain('--priorityAlpha');
  });

  it('every hyperparameter of every algorithm has a description', () => {
    for (const [algo, schema] of Object.entries(ALGO_CONFIGS))
      for (const row of describeSchema(schema)) {
        expect(row.description, `${algo}.${row.name}`).not.toBe('');
        expect(row.default, `${algo}.${row.name}`).toBeDefined();
      }
  });

  it('a module given by path, and every built-in experiment, show a type for each parameter', async () => {
    const tiny = await loadExperiment(TINY_ISING);
    expect(help(['x', '--help'], tiny)).toMatch(
      /^ {2}--size <integer in \[2, 256\]> +lattice side L \(default 8\)$/m,
    );
    for (const name of EXPERIMENT_NAMES) {
      const exp = await loadExperiment(name);
      for (const row of describeSchema(exp.params))
        expect(row.type, `${name}.${row.name}`).not.toBe('');
    }
  }, 60_000);

  it('prints the usage and the parameters, and runs nothing', async () => {
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((s: unknown) => {
      lines.push(String(s));
    });
    expect(await runMain(['battle-train', '-h'])).toBe(0);
    expect(lines.join('\n')).toMatch(/Usage: pnpm gibbs run[\s\S]*--lr <number > 0>/);
  });
});

describe('hyperparameters as flags', () => {
  const fold = (raw: Record<string, string>) => foldHyperparameters(train, raw);

  it('fold into the config JSON, checked and typed; a flag wins over --config', () => {
    const out = fold({
      rounds: '3',
      lr: '1e-3',
      target: 'mean-field',
      config: '{"lr":5,"gamma":0.9}',
    });
    expect(out.rounds).toBe('3');
    expect(out.lr).toBeUndefined();
    expect(JSON.parse(out.config)).toEqual({ lr: 0.001, gamma: 0.9, target: 'mean-field' });
    // What the experiment then parses: a valid set of parameters.
    expect(parseParams(train.params, out, 'battle-train')).toMatchObject({ rounds: 3 });
    const temperature = { kind: 'constant', value: 0.5 };
    expect(JSON.parse(fold({ temperature: JSON.stringify(temperature) }).config)).toEqual({
      temperature,
    });
    // Nothing to fold: the parameters as they were.
    const plain = { rounds: '3' };
    expect(fold(plain)).toBe(plain);
  });

  it("a bad value, another algorithm's key and an unknown name each name the flag", () => {
    expect(() => fold({ lr: 'abc' })).toThrow(
      /^experiment "battle-train" \(--algo mfq\): parameter --lr: got "abc", expected a number > 0/,
    );
    expect(() => fold({ algo: 'mfac', lr: '-1' })).toThrow(
      /\(--algo mfac\): parameter --lr: got -1/,
    );
    expect(() => fold({ valueCoef: '0.2' })).toThrow(
      /^--valueCoef: got "0\.2", expected a hyperparameter of --algo mfq \(--valueCoef is one of --algo mfac, ac\)$/,
    );
    expect(() => fold({ frobnicate: '1' })).toThrow(
      /^experiment "battle-train": unknown parameter --frobnicate \(got "1"\); valid parameters: algo, .*; hyperparameters of --algo mfq: lr, gamma, /,
    );
    expect(() => fold({ lr: '1e-3', config: '[1]' })).toThrow(
      /^--config: got "\[1\]", expected a JSON object of hyperparameters$/,
    );
    expect(() => fold({ temperature: '{"kind"' })).toThrow(
      /^--temperature: got "\{\\"kind\\"", expected JSON/,
    );
  });

  it('an experiment without hyperparameters gets its parameters back as they are', async () => {
    const ising = await loadExperiment('ising');
    const raw = { frobnicate: '1' };
    expect(foldHyperparameters(ising, raw)).toBe(raw);
  });

  it('gibbs run battle-train --lr ... writes the folded config into config.json', async () => {
    vi.spyOn(console, 'log').mockImplementation(() => {});
    vi.spyOn(console, 'error').mockImplementation(() => {});
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const out = join(tmp, 'train');
    const argv = [
      'battle-train',
      '--lr',
      '1e-3',
      '--batchSize',
      '64',
      '--config',
      '{"lr":5,"gamma":0.9}',
    ];
    const small = [
      '--rounds',
      '1',
      '--map',
      '12',
      '--agents',
      '2',
      '--threads',
      '1',
      '--steps',
      '3',
    ];
    expect(await runMain([...argv, ...small, '--out', out])).toBe(0);
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(JSON.parse(config.params.config)).toEqual({ lr: 0.001, gamma: 0.9, batchSize: 64 });
  }, 120_000);
});
