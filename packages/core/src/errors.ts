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
