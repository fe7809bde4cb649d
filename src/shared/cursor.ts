import { isUuid } from '../db/tenant-tx.ts';
import { AppError } from '../errors/app-error.ts';

const invalidCursor = () => new AppError('VALIDATION_ERROR', { message: 'The cursor is invalid.', details: [{ field: 'cursor', message: 'is invalid' }] });

/** Opaque keyset cursors: base64url JSON of the last row's sort key. */
export function encodeCursor(values: unknown[]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

export function decodeCursor(cursor: string, arity: number): unknown[] {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === arity) return v;
  } catch {
    /* fall through */
  }
  throw invalidCursor();
}

/** The microsecond UTC time the admin lists page by (to_char(... 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')). */
const CURSOR_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/** The admin lists' keyset cursor, (created_at, id) newest first: both checked before they reach SQL, else 400 VALIDATION_ERROR. */
export function decodeTimeIdCursor(cursor: string): { at: string; id: string } {
  const [at, id] = decodeCursor(cursor, 2);
  if (!isUuid(id) || typeof at !== 'string' || !CURSOR_TIME.test(at) || !parseStorableDate(at)) throw invalidCursor();
  return { at, id };
}

/** A date PostgreSQL stores and both drivers send intact: an ISO string in years 1 to 9999 (no year 0, no expanded years). */
export function parseStorableDate(value: unknown): Date | undefined {
  if (typeof value !== 'string') return undefined;
  const d = new Date(value);
  const year = d.getUTCFullYear();
  return Number.isNaN(d.getTime()) || year < 1 || year > 9999 ? undefined : d;
}
