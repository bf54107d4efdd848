/**
 * Command-line words to positionals and `--name value` options. A flag followed by another flag
 * (or by nothing) is `true`. `--name=value` works too. Option names keep their spelling
 * (`--log-every` stays "log-every").
 */
import { GibbsError } from '@gibbs/core';

export interface ParsedArgs {
  positionals: string[];
  options: Map<string, string | true>;
}

export function parseArgs(argv: readonly string[]): ParsedArgs {
  const positionals: string[] = [];
  const options = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i];
    if (word === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (word.startsWith('--') && word.length > 2) {
      const eq = word.indexOf('=');
      const name = eq > 0 ? word.slice(2, eq) : word.slice(2);
      let value: string | true;
      if (eq > 0) value = word.slice(eq + 1);
      else if (i + 1 < argv.length && !isFlag(argv[i + 1])) value = argv[++i];
      else value = true;
      if (options.has(name)) {
        throw new GibbsError(`option --${name} is given twice`, name, value, 'one value');
      }
      options.set(name, value);
    } else positionals.push(word);
  }
  return { positionals, options };
}

function isFlag(word: string): boolean {
  // "--x" is a flag; "-5" or "-0.5" is a (negative) value.
  return word.startsWith('--') && word.length > 2;
}

/** Take an option out of the map (so that what is left are experiment parameters). */
export function takeOption(args: ParsedArgs, name: string): string | true | undefined {
  const v = args.options.get(name);
  args.options.delete(name);
  return v;
}

export function takeString(args: ParsedArgs, name: string): string | undefined {
  const v = takeOption(args, name);
  if (v === true) throw GibbsError.invalid(`--${name}`, 'no value', 'a value after the flag');
  return v;
}

export function takeFlag(args: ParsedArgs, name: string): boolean {
  const v = takeOption(args, name);
  if (v === undefined) return false;
  if (v === true || v === 'true') return true;
  if (v === 'false') return false;
  throw GibbsError.invalid(`--${name}`, v, 'no value, true or false');
}

/** A plain decimal number: `12`, `-0.5`, `1e3`; not hex, octal, binary, `Infinity` or blanks. */
export const DECIMAL = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i;

/**
 * An integer option with bounds; `--steps 1e3` is accepted, `--steps 2xabc` and `--steps 0x10`
 * are not (decimal only).
 */
export function takeInt(
  args: ParsedArgs,
  name: string,
  fallback: number,
  min = Number.MIN_SAFE_INTEGER,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const raw = takeString(args, name);
  if (raw === undefined) return fallback;
  const n = DECIMAL.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in [${min}, ${max}]`;
    throw GibbsError.invalid(`--${name}`, raw, `an integer ${range}`);
  }
  return n;
}

/** The tfjs backends a run may force (core's BACKENDS, without importing tfjs to check a flag). */
export const BACKEND_NAMES = ['webgpu', 'webgl', 'wasm', 'cpu'] as const;

/** `--backend NAME`: one of BACKEND_NAMES, or undefined when not given. */
export function takeBackend(args: ParsedArgs): string | undefined {
  const v = takeString(args, 'backend');
  if (v !== undefined && !(BACKEND_NAMES as readonly string[]).includes(v)) {
    throw GibbsError.invalid('--backend', v, `one of ${BACKEND_NAMES.join(', ')}`);
  }
  return v;
}
