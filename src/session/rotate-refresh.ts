import type { AuditContext } from '../audit/audit.ts';
import type { Database } from '../db/database.ts';
import { sql } from '../db/sql.ts';
import { tenantBatch } from '../db/tenant-tx.ts';
import type { UserRow } from '../identity/user.model.ts';
import { USER_COLUMN_NAMES } from '../identity/user.queries.ts';
import { sha256 } from '../shared/crypto.ts';
import type { TenantSettings } from '../tenancy/tenant.model.ts';
import { newRefreshToken, REFRESH_PREFIX } from './session.queries.ts';

/** The session a rotation kept alive, with the grant fields an OAuth answer needs (null for a first-party session). */
export interface RotatedSession {
  id: string;
  user_id: string;
  amr: string[];
  aal: number;
  scopes: string[] | null;
  parent_session_id: string | null;
  auth_time: Date | null;
}

export type QuickRotation =
  | { kind: 'rotated'; session: RotatedSession; user: UserRow; refreshToken: string }
  | { kind: 'invalid' }
  /** Not the common case (already rotated, or the user is disabled): run rotateRefreshToken in a transaction. */
  | { kind: 'slow' };

/**
 * The common rotation in one statement (gatehouse_rotate_refresh, migrations 013 and 020): the token, its session and
 * the user checked, the rotation written with its audit event, and the user returned for the new access token.
 * Changes nothing unless it answers 'rotated'.
 */
export async function rotateRefreshTokenQuick(
  db: Database,
  tenantId: string,
  presented: string,
  settings: TenantSettings,
  clientId: string | null,
  ctx: AuditContext,
): Promise<QuickRotation> {
  if (!presented.startsWith(REFRESH_PREFIX) || presented.length > 100) return { kind: 'invalid' };
  const refreshToken = newRefreshToken();
  const newHash = sha256(refreshToken);
  const [r] = await tenantBatch(
    db,
    tenantId,
    sql`SELECT * FROM gatehouse_rotate_refresh(
      ${sha256(presented)}::text, ${clientId}::text, ${newHash}::text, ${settings.session_idle_ttl}::int,
      ${settings.refresh_token_ttl}::int, ${ctx.ip ?? null}::text, ${ctx.userAgent?.slice(0, 512) ?? null}::text,
      ${ctx.requestId ?? null}::text)`,
  );
  const row = r!.rows[0] as ({ kind: 'rotated' | 'invalid' | 'slow'; session_id: string } & Omit<RotatedSession, 'id'> & Record<`u_${string}`, unknown>) | undefined;
  if (!row || row.kind === 'slow') return { kind: 'slow' };
  if (row.kind === 'invalid') return { kind: 'invalid' };
  // The user comes back as u_-prefixed columns (USER_COLUMNS' names, migration 020), read under the same check.
  const user = Object.fromEntries(USER_COLUMN_NAMES.map((c) => [c, row[`u_${c}`]])) as unknown as UserRow;
  const { session_id, user_id, amr, aal, scopes, parent_session_id, auth_time } = row;
  return { kind: 'rotated', session: { id: session_id, user_id, amr, aal, scopes, parent_session_id, auth_time }, user, refreshToken };
}
