/**
 * Command-line words to positionals and options, on `node:util`'s parseArgs (its tokens: `--name`,
 * `--name=value`, `--`, `-h`), with Gibbs's rules on top:
 * - a command declares its options (`ArgSpec.options`): a string option takes the next word as its
 *   value unless that word is itself a flag (`--x`), so `--steps --seed 1` is "--steps: no value"
 *   rather than a steps of "--seed"; a boolean takes no value (`--json`), but `--name=false` and a
 *   following `true` or `false` word set it; `multiple` options may be repeated (`--grid`);
 * - undeclared `--name value` pairs are free-form parameters (an experiment's or an environment's,
 *   checked later against its zod schema) when the command takes them (`params: true`), and an
 *   error naming the command's options when it does not;
 * - `-5` and `-0.5` are values, not short flags; `--help` and `-h` are always the `help` option.
 * Option names keep their spelling (`--log-every` stays "log-every"). Every problem is a one-line
 * GibbsError naming the flag, what was found and what was expected.
 */
import { parseArgs as nodeParseArgs } from 'node:util';
import { GibbsError } from '@gibbs/core';

export interface OptionSpec {
  type: 'string' | 'boolean';
  /** May be given more than once: every value, in order, is in `ParsedArgs.lists`. */
  multiple?: boolean;
}

export interface ArgSpec {
  /** The command's own options. */
  options?: Readonly<Record<string, OptionSpec>>;
  /**
   * Whether undeclared `--name value` pairs are accepted as parameters (validated later against a
   * schema). When false, an undeclared option is an error that lists the declared ones.
   */
  params?: boolean;
  /** The command as messages name it (`gibbs worker`). */
  command?: string;
}

export interface ParsedArgs {
  positionals: string[];
  /** Each option given once: its value, or `true` for a flag without one. */
  options: Map<string, string | true>;
  /** The values of `multiple` options, in order. */
  lists: Map<string, (string | true)[]>;
}

/** "--x" (or "--x=1") is a flag; "--" ends the options; "-5" or "-0.5" is a (negative) value. */
function isFlag(word: string): boolean {
  return word.startsWith('--') && word.length > 2;
}

/**
 * Parse `argv` by `spec`. Without a spec every `--name value` is kept (the parameters of an
 * experiment): `parseArgs(['battle', '--steps', '10'])`.
 */
export function parseArgs(argv: readonly string[], spec: ArgSpec = { params: true }): ParsedArgs {
  const declared = spec.options ?? {};
  const booleans = Object.fromEntries(
    Object.entries(declared)
      .filter(([, o]) => o.type === 'boolean')
      .map(([name]) => [name, { type: 'boolean' as const }]),
  );
  let tokens: ReturnType<typeof nodeParseArgs>['tokens'];
  try {
    tokens = nodeParseArgs({
      args: [...argv],
      options: { ...booleans, help: { type: 'boolean', short: 'h' } },
      strict: false,
      allowPositionals: true,
      tokens: true,
    }).tokens;
  } catch (err) {
    throw GibbsError.invalid('arguments', argv.join(' '), `options and values (${String(err)})`);
  }
  const positionals: string[] = [];
  const options = new Map<string, string | true>();
  const lists = new Map<string, (string | true)[]>();
  // Words taken as values (a short-flag-looking "-5" yields several tokens of one index).
  const used = new Set<number>();
  for (const token of tokens ?? []) {
    if (token.kind === 'option-terminator' || used.has(token.index)) continue;
    if (token.kind === 'positional') {
      positionals.push(token.value);
      continue;
    }
    // A single-dash word other than -h is a word as written: "-5" is a value, "-" a positional.
    if (!token.rawName.startsWith('--') && token.rawName !== '-h') {
      used.add(token.index);
      positionals.push(argv[token.index]);
      continue;
    }
    const name = token.name;
    const option = name === 'help' ? { type: 'boolean' as const } : declared[name];
    let value: string | true = true;
    if (token.inlineValue) value = token.value ?? '';
    else {
      const next = argv[token.index + 1];
      const takesNext =
        next !== undefined &&
        next !== '--' &&
        !isFlag(next) &&
        (option?.type !== 'boolean' || next === 'true' || next === 'false');
      if (takesNext) {
        value = next;
        used.add(token.index + 1);
      }
    }
    if (!option && !spec.params) throw unknownOption(spec, name);
    if (option?.multiple) {
      lists.set(name, [...(lists.get(name) ?? []), value]);
      continue;
    }
    if (options.has(name)) {
      throw new GibbsError(`option --${name} is given twice`, name, value, 'one value');
    }
    options.set(name, value);
  }
  return { positionals, options, lists };
}

/** `option: got "--frobnicate", expected one of --json, --seed (gibbs export --help)`. */
function unknownOption(spec: ArgSpec, name: string): GibbsError {
  const names = Object.keys(spec.options ?? {}).map((n) => `--${n}`);
  const known = names.length > 0 ? `one of ${names.join(', ')}` : 'no option';
  const help = spec.command ? ` (${spec.command} --help)` : '';
  return GibbsError.invalid('option', `--${name}`, `${known}${help}`);
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

/** Every value of a `multiple` option, in order (none: an empty list). */
export function takeList(args: ParsedArgs, name: string): string[] {
  const values = args.lists.get(name) ?? [];
  args.lists.delete(name);
  return values.map((v) => {
    if (v === true) throw GibbsError.invalid(`--${name}`, 'no value', 'a value after the flag');
    return v;
  });
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

function bounds(min: number, max: number, lowest: number, highest: number): string {
  if (max === highest) return `>= ${min}`;
  if (min === lowest) return `<= ${max}`;
  return `in [${min}, ${max}]`;
}

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

/** A finite decimal number option with bounds (inclusive). */
export function takeNumber(
  args: ParsedArgs,
  name: string,
  fallback: number,
  min = -Number.MAX_VALUE,
  max = Number.MAX_VALUE,
): number {
  const raw = takeString(args, name);
  if (raw === undefined) return fallback;
  const n = DECIMAL.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isFinite(n) || n < min || n > max) {
    throw GibbsError.invalid(
      `--${name}`,
      raw,
      `a number ${bounds(min, max, -Number.MAX_VALUE, Number.MAX_VALUE)}`,
    );
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

/**
 * A script's arguments (scripts/*.ts), read by `read` (the take* functions): `--help`/`-h` prints
 * `usage` and exits 0; a bad argument prints `<name>: <message>` and the usage and exits 2.
 */
export function scriptArgs<T>(
  name: string,
  usage: string,
  spec: ArgSpec,
  read: (args: ParsedArgs) => T,
  argv: readonly string[] = process.argv.slice(2),
): T {
  try {
    const args = parseArgs(argv, { command: name, ...spec });
    if (args.options.has('help')) {
      console.log(usage);
      process.exit(0);
    }
    return read(args);
  } catch (err) {
    if (!(err instanceof GibbsError)) throw err;
    console.error(`${name}: ${err.message}\n${usage}`);
    process.exit(2);
  }
}
