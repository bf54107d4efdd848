/**
 * The key of GibbsError's brand, the URL its copy of @gibbs/core was loaded from. A module that
 * loads a second copy of @gibbs/core throws GibbsErrors that fail `instanceof` against the first
 * copy's class; the brand (a Symbol.for key: the same in every copy) lets the checker say so.
 */
const GIBBS_CORE = Symbol.for('@gibbs/core GibbsError');

/**
 * One error type for bad input: it names where (the field or parameter), what was found and what
 * was expected, so a user can fix the call without reading the source.
 */
export class GibbsError extends Error {
  constructor(
    message: string,
    readonly field?: string,
    readonly value?: unknown,
    readonly expected?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'GibbsError';
  }

  /** `where: got <value>, expected <expected>` in one line. */
  static invalid(field: string, value: unknown, expected: string): GibbsError {
    return new GibbsError(
      `${field}: got ${describeValue(value)}, expected ${expected}`,
      field,
      value,
      expected,
    );
  }
}

// The brand lives on the prototype: one string per copy of @gibbs/core, nothing per error.
Object.defineProperty(GibbsError.prototype, GIBBS_CORE, { value: import.meta.url });

/**
 * When `err` is a GibbsError of another copy of @gibbs/core than this one (so `err instanceof
 * GibbsError` is false here): where that copy was loaded from (the URL of its errors module; null
 * for a copy too old to say), and whether those are this copy's own files loaded a second time
 * (CommonJS beside ES modules). Null for anything else, this copy's GibbsErrors included.
 */
export function otherCoreCopy(err: unknown): { url: string | null; sameFiles: boolean } | null {
  if (err instanceof GibbsError || typeof err !== 'object' || err === null) return null;
  const url = (err as { [GIBBS_CORE]?: unknown })[GIBBS_CORE];
  if (typeof url === 'string') return { url, sameFiles: url === import.meta.url };
  return (err as Error).name === 'GibbsError' ? { url: null, sameFiles: false } : null;
}

/** A short, safe rendering of a value for an error message. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string')
    return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null)
    return String(value);
  if (ArrayBuffer.isView(value)) {
    const n = (value as unknown as ArrayLike<unknown>).length;
    return `${value.constructor.name}(${n})`;
  }
  if (Array.isArray(value)) return `array(${value.length})`;
  try {
    const s = JSON.stringify(value);
    return s.length > 80 ? `${s.slice(0, 77)}...` : s;
  } catch {
    return Object.prototype.toString.call(value);
  }
}
