import type { AuditContext } from '../audit/audit.ts';
import type { Database } from '../db/database.ts';
import { sql } from '../db/sql.ts';
import { tenantBatch } from '../db/tenant-tx.ts';
import type { UserRow } from '../identity/user.model.ts';
import { USER_COLUMNS } from '../identity/user.queries.ts';
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
 * The common rotation in one round trip (gatehouse_rotate_refresh, migration 013): the token, its session and the
 * user checked, the rotation written with its audit event, and the user read back for the new access token. Changes
 * nothing unless it answers 'rotated'.
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
  const [r, u] = await tenantBatch(
    db,
    tenantId,
    sql`SELECT kind, session_id, user_id, amr, aal, scopes, parent_session_id, auth_time FROM gatehouse_rotate_refresh(
      ${sha256(presented)}::text, ${clientId}::text, ${newHash}::text, ${settings.session_idle_ttl}::int,
      ${settings.refresh_token_ttl}::int, ${ctx.ip ?? null}::text, ${ctx.userAgent?.slice(0, 512) ?? null}::text,
      ${ctx.requestId ?? null}::text)`,
    // Empty unless the rotation happened: the new token is what finds the user.
    `SELECT ${USER_COLUMNS} FROM users WHERE id = (SELECT s.user_id FROM sessions s
      WHERE s.id = (SELECT t.session_id FROM refresh_tokens t WHERE t.token_hash = ${sql`${newHash}::text`}))`,
  );
  const row = r!.rows[0] as ({ kind: 'rotated' | 'invalid' | 'slow'; session_id: string } & Omit<RotatedSession, 'id'>) | undefined;
  if (!row || row.kind === 'slow') return { kind: 'slow' };
  if (row.kind === 'invalid') return { kind: 'invalid' };
  const user = u!.rows[0] as UserRow | undefined;
  // The function checked the user under lock in this very transaction; absent here would be a bug, not a case.
  if (!user) throw new Error('refresh rotation committed without its user');
  const { session_id, kind: _kind, ...rest } = row;
  return { kind: 'rotated', session: { id: session_id, ...rest }, user, refreshToken };
}
