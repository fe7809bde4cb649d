import type { Gatehouse } from '../../context.ts';
import { withTenantTx } from '../../db/tenant-tx.ts';
import { REFRESH_PREFIX } from '../../session/session.queries.ts';
import { sha256 } from '../../shared/crypto.ts';
import type { ResolvedTenant } from '../../tenancy/tenant-directory.ts';
import { verifyOAuthAccessToken, type OAuthAccessClaims } from './oauth-access-token.ts';

export interface LiveRefreshToken {
  session_id: string;
  user_id: string;
  client_id: string;
  scopes: string[];
  iat: number;
  exp: number;
}

/** A refresh token of one of this tenant's OAuth grants that still works (active, unexpired, its session live). */
export async function findLiveRefreshToken(gh: Gatehouse, tenant: ResolvedTenant, token: string): Promise<LiveRefreshToken | undefined> {
  if (!token.startsWith(REFRESH_PREFIX) || token.length > 100) return undefined;
  return withTenantTx(gh.db, tenant.id, async (tx) =>
    (
      await tx.query<LiveRefreshToken>(
        `SELECT s.id AS session_id, s.user_id, s.client_id, s.scopes,
           extract(epoch FROM rt.created_at)::bigint::int AS iat, extract(epoch FROM rt.expires_at)::bigint::int AS exp
         FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id
         WHERE rt.token_hash = $1 AND rt.status = 'active' AND rt.expires_at > now() AND s.client_id IS NOT NULL
           AND s.revoked_at IS NULL AND s.idle_expires_at > now() AND s.absolute_expires_at > now()`,
        [sha256(token)],
      )
    ).rows[0],
  );
}

/** A valid OAuth access token whose grant (if it has one) is still live in the database. */
export async function findLiveAccessToken(gh: Gatehouse, tenant: ResolvedTenant, token: string): Promise<OAuthAccessClaims | undefined> {
  const claims = await verifyOAuthAccessToken(gh, tenant, token);
  if (!claims?.sid) return claims;
  const live = await withTenantTx(gh.db, tenant.id, async (tx) =>
    (
      await tx.query(`SELECT 1 FROM sessions WHERE id = $1 AND revoked_at IS NULL AND absolute_expires_at > now()`, [claims.sid])
    ).rows.length > 0,
  );
  return live ? claims : undefined;
}
