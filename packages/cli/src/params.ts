/**
 * An experiment's parameters on the command line: each one's type, default and description for
 * `--help` (from its zod schema, through z.toJSONSchema), and the algorithm hyperparameters that
 * an experiment declares (Experiment.hyperparameters: battle-train's `config`, by `algo`) offered
 * as flags of their own and folded into that JSON before the parameters are parsed.
 */
import { describeValue, type Experiment, GibbsError, parseParams } from '@gibbs/core';
import { z } from 'zod';

interface JsonSchema {
  type?: string;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  default?: unknown;
  description?: string;
}

function jsonSchema(field: z.ZodType): JsonSchema {
  try {
    return z.toJSONSchema(field, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  } catch {
    return {};
  }
}

const SAFE = Number.MAX_SAFE_INTEGER;

/** `integer >= 1`, `number in [0, 1]`, `mfq|mfac|il|ac`, `true|false`, `string`, `JSON`. */
function typeOf(s: JsonSchema): string {
  if (s.enum) return s.enum.map(String).join('|');
  if (s.const !== undefined) return String(s.const);
  const union = s.anyOf ?? s.oneOf;
  if (union) {
    const parts = [...new Set(union.map(typeOf))];
    return parts.includes('JSON') ? 'JSON' : parts.join('|');
  }
  if (s.type === 'boolean') return 'true|false';
  if (s.type === 'string') return 'string';
  if (s.type === 'number' || s.type === 'integer') {
    const lo =
      s.exclusiveMinimum !== undefined
        ? { v: s.exclusiveMinimum, open: true }
        : s.minimum !== undefined && s.minimum > -SAFE
          ? { v: s.minimum, open: false }
          : null;
    const hi =
      s.exclusiveMaximum !== undefined
        ? { v: s.exclusiveMaximum, open: true }
        : s.maximum !== undefined && s.maximum < SAFE
          ? { v: s.maximum, open: false }
          : null;
    const range =
      lo && hi
        ? ` in ${lo.open ? '(' : '['}${lo.v}, ${hi.v}${hi.open ? ')' : ']'}`
        : lo
          ? ` ${lo.open ? '>' : '>='} ${lo.v}`
          : hi
            ? ` ${hi.open ? '<' : '<='} ${hi.v}`
            : '';
    return `${s.type}${range}`;
  }
  return 'JSON';
}

export interface ParamHelp {
  name: string;
  type: string;
  default?: unknown;
  description: string;
}

/** Each key of an object schema: its type, default and description. */
export function describeSchema(schema: z.ZodObject, skip: readonly string[] = []): ParamHelp[] {
  return Object.entries(schema.shape as Record<string, z.ZodType>)
    .filter(([name]) => !skip.includes(name))
    .map(([name, field]) => {
      const s = jsonSchema(field);
      return { name, type: typeOf(s), default: s.default, description: s.description ?? '' };
    });
}

/**
 * Help lines: `  --name <type>  description (default D)`, the descriptions in one column (as wide
 * as the widest head of `align`'s rows too, when given).
 */
export function formatParams(
  rows: readonly ParamHelp[],
  align: readonly ParamHelp[] = rows,
): string[] {
  const head = (r: ParamHelp) => `  --${r.name} <${r.type}>`;
  const heads = rows.map(head);
  const width = Math.min(40, Math.max(0, ...[...rows, ...align].map((r) => head(r).length)) + 2);
  return rows.map((r, i) => {
    const dflt = r.default === undefined ? '' : `(default ${formatDefault(r.default)})`;
    const text = [r.description, dflt].filter(Boolean).join(' ');
    const h = heads[i];
    return h.length + 2 > width ? `${h}\n${' '.repeat(width)}${text}` : `${h.padEnd(width)}${text}`;
  });
}

function formatDefault(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' && Number.isInteger(v) && Math.abs(v) >= 1024) return String(v);
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/**
 * Which hyperparameter schema a run with these raw parameters follows: the one of `by`'s value
 * (or of its default). Null for an experiment without hyperparameters, or a value with none.
 */
export function hyperparameterSchema(
  experiment: Experiment,
  raw: Record<string, unknown>,
): { choice: string; schema: z.ZodObject } | null {
  const h = experiment.hyperparameters;
  if (!h) return null;
  let choice = raw[h.by];
  if (choice === undefined) {
    const field = (experiment.params.shape as Record<string, z.ZodType>)[h.by];
    const parsed = field?.safeParse(undefined);
    choice = parsed?.success ? parsed.data : undefined;
  }
  const key = String(choice);
  return Object.hasOwn(h.schemas, key) ? { choice: key, schema: h.schemas[key] } : null;
}

/** The hyperparameters offered as flags: the schema's keys that are not parameters already. */
export function hyperparameterKeys(experiment: Experiment, schema: z.ZodObject): string[] {
  return Object.keys(schema.shape).filter((k) => !Object.hasOwn(experiment.params.shape, k));
}

/**
 * `raw` with its `--<hyperparameter> value` pairs moved into the JSON of the experiment's
 * hyperparameter parameter (a flag wins over the same key there). Each flag is checked against
 * its schema here, so a bad value names the flag; a key of another algorithm's schema says whose
 * it is. Experiments without hyperparameters get `raw` back as it is.
 */
export function foldHyperparameters<V>(
  experiment: Experiment,
  raw: Record<string, V>,
): Record<string, V | string> {
  const h = experiment.hyperparameters;
  if (!h) return raw;
  const extra = Object.keys(raw).filter((k) => !Object.hasOwn(experiment.params.shape, k));
  const chosen = hyperparameterSchema(experiment, raw);
  // An unknown --algo: parsing the parameters says so.
  if (extra.length === 0 || !chosen) return raw;
  const keys = hyperparameterKeys(experiment, chosen.schema);
  const flags: Record<string, unknown> = {};
  for (const k of extra) {
    if (keys.includes(k)) flags[k] = jsonValue(k, raw[k]);
    else {
      const owners = Object.keys(h.schemas).filter((n) => Object.hasOwn(h.schemas[n].shape, k));
      if (owners.length > 0)
        throw GibbsError.invalid(
          `--${k}`,
          raw[k],
          `a hyperparameter of --${h.by} ${chosen.choice} (--${k} is one of --${h.by} ${owners.join(', ')})`,
        );
      const known = Object.keys(experiment.params.shape).join(', ');
      throw new GibbsError(
        `experiment "${experiment.name}": unknown parameter --${k} (got ${describeValue(raw[k])}); valid parameters: ${known}; hyperparameters of --${h.by} ${chosen.choice}: ${keys.join(', ')}`,
        k,
        raw[k],
        `${known}, ${keys.join(', ')}`,
      );
    }
  }
  if (Object.keys(flags).length === 0) return raw;
  const picked = Object.fromEntries(Object.keys(flags).map((k) => [k, chosen.schema.shape[k]]));
  const values = parseParams(
    z.object(picked),
    flags,
    `experiment "${experiment.name}" (--${h.by} ${chosen.choice})`,
  ) as Record<string, unknown>;
  const field = (experiment.params.shape as Record<string, z.ZodType>)[h.param];
  const text = raw[h.param] ?? field?.safeParse(undefined).data ?? '{}';
  let base: unknown;
  try {
    base = JSON.parse(String(text));
  } catch {
    base = null;
  }
  if (typeof base !== 'object' || base === null || Array.isArray(base))
    throw GibbsError.invalid(`--${h.param}`, text, 'a JSON object of hyperparameters');
  const out: Record<string, V | string> = {};
  for (const [k, v] of Object.entries(raw)) if (!(k in flags)) out[k] = v;
  out[h.param] = JSON.stringify({ ...base, ...values });
  return out;
}

/** A flag's text as JSON when it is an object or array (`--temperature '{"kind":...}'`). */
function jsonValue(key: string, v: unknown): unknown {
  if (typeof v !== 'string' || !/^\s*[[{]/.test(v)) return v;
  try {
    return JSON.parse(v);
  } catch {
    throw GibbsError.invalid(`--${key}`, v, 'JSON that parses');
  }
}
