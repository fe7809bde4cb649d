import type { Gatehouse } from '../context.ts';
import { withTenantTx } from '../db/tenant-tx.ts';
import { AppError } from '../errors/app-error.ts';
import { findSession } from '../session/session.queries.ts';
import type { ResolvedTenant } from '../tenancy/tenant-directory.ts';
import type { AccessClaims } from '../tokens/access-token.ts';

/** How recent a sign-in must be for passkey changes (seconds). */
export const RECENT_AUTH_MAX_AGE = 900;

/**
 * Sensitive passkey operations (adding or removing one) need a recent authentication: the session behind the access
 * token must have been opened by a sign-in at most `maxAge` seconds ago. A session is opened only by a sign-in and
 * a refresh keeps its creation time, so `sessions.created_at` is the session's auth_time (the access token's `iat`
 * is not: every refresh renews it). Else 403 REAUTHENTICATION_REQUIRED.
 *
 * The one place this rule lives: the general step-up guard (aal2 within a max age) replaces it at merge.
 */
export async function requireRecentAuthentication(
  gh: Gatehouse,
  tenant: ResolvedTenant,
  claims: AccessClaims,
  maxAge = RECENT_AUTH_MAX_AGE,
): Promise<void> {
  const session = await withTenantTx(gh.db, tenant.id, (tx) => findSession(tx, claims.sid));
  if (!session || session.revoked_at) throw new AppError('TOKEN_REVOKED');
  if (Date.now() - new Date(session.created_at).getTime() > maxAge * 1000) {
    throw new AppError('REAUTHENTICATION_REQUIRED');
  }
}
