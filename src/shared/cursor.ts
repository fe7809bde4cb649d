import { isUuid, type TenantDb } from '../db/tenant-tx.ts';
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

/**
 * A row's created_at as exact UTC text, as the cursors carry it (decodeTimeIdCursor checks that form): a JS Date keeps
 * milliseconds only, and a cursor rounded down would repeat rows.
 */
export const CURSOR_AT = `to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_at`;

/** The tenant tables the admin lists page through, newest first (a closed list: the name is inlined into SQL). */
type PagedTable = 'security_alerts' | 'webhook_deliveries' | 'backchannel_logouts' | 'mail_outbox';

/**
 * One page of an admin list, newest first, keyset on (created_at, id): rows matching every defined filter
 * (`column = value`), after the cursor's row, and the cursor of the next page (null on the last).
 */
export async function newestFirstPage<T extends { id: string }>(
  tx: TenantDb,
  table: PagedTable,
  columns: string,
  filters: Record<string, string | undefined>,
  cursor: string | undefined,
  limit: number,
): Promise<{ rows: T[]; next_cursor: string | null }> {
  const where: string[] = [];
  const params: unknown[] = [];
  for (const [column, value] of Object.entries(filters)) {
    if (value === undefined) continue;
    params.push(value);
    where.push(`${column} = $${params.length}`);
  }
  if (cursor) {
    const after = decodeTimeIdCursor(cursor);
    params.push(after.at, after.id);
    where.push(`(created_at, id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
  }
  params.push(limit + 1);
  const r = await tx.query<T & { cursor_at: string }>(
    `SELECT ${columns}, ${CURSOR_AT} FROM ${table} ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
     ORDER BY created_at DESC, id DESC LIMIT $${params.length}`,
    params,
  );
  const rows = r.rows.slice(0, limit);
  const last = rows[rows.length - 1];
  return {
    rows: rows.map(({ cursor_at: _c, ...row }) => row as unknown as T),
    next_cursor: r.rows.length > limit && last ? encodeCursor([last.cursor_at, last.id]) : null,
  };
}
