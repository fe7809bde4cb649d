import format from 'pg-format';

/**
 * Inlines values as SQL literals (pg-format's quoting: quotes doubled, backslashes in E'' strings), for statements
 * sent in a batch over the simple protocol: one round trip for a whole tenant-bound transaction. Only plain values
 * are accepted: strings, finite numbers, booleans, null, Dates, text arrays and JSON objects.
 */
export function sql(strings: TemplateStringsArray, ...values: unknown[]): string {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += literal(values[i]) + strings[i + 1]!;
  return out;
}

export function literal(v: unknown): string {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new TypeError('sql: non-finite number');
    return String(v);
  }
  if (Array.isArray(v)) {
    if (!v.every((x) => typeof x === 'string')) throw new TypeError('sql: only text arrays can be inlined');
    return `ARRAY[${v.map((x) => format.literal(x)).join(', ')}]::text[]`;
  }
  if (v === undefined || v === null || typeof v === 'string' || typeof v === 'boolean' || v instanceof Date) return format.literal(v);
  if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) return format.literal(v as object);
  throw new TypeError(`sql: cannot inline a ${typeof v}`);
}
