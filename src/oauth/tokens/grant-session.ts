import type { TenantDb } from '../../db/tenant-tx.ts';
import { queueBackchannelLogouts } from '../backchannel/backchannel.queries.ts';
import { createSession, SESSION_COLUMNS, type SessionRow } from '../../session/session.queries.ts';
import { effectiveSettings, type TenantSettings } from '../../tenancy/tenant.model.ts';
import type { ResolvedTenant } from '../../tenancy/tenant-directory.ts';
import type { ClientRow } from '../clients/client.model.ts';

/** A grant: a row of the one sessions table that names its client, scopes, browser session and authentication time. */
export interface GrantSession extends SessionRow {
  client_id: string;
  scopes: string[];
  parent_session_id: string | null;
  auth_time: Date;
}

/** The tenant's settings with the client's own refresh-token lifetime, when it has one. */
export function settingsForClient(tenant: ResolvedTenant, client: Pick<ClientRow, 'refresh_token_ttl'>): TenantSettings {
  const s = effectiveSettings(tenant);
  return client.refresh_token_ttl ? { ...s, refresh_token_ttl: client.refresh_token_ttl } : s;
}

export const accessTtl = (tenant: ResolvedTenant, client: Pick<ClientRow, 'access_token_ttl'>) => client.access_token_ttl ?? effectiveSettings(tenant).access_token_ttl;
export const idTokenTtl = (client: Pick<ClientRow, 'id_token_ttl'>) => client.id_token_ttl ?? 3600;

/** Whether this grant hands out a refresh token: only with offline_access, and only to clients allowed the grant. */
export const wantsRefresh = (client: Pick<ClientRow, 'grant_types'>, scopes: readonly string[]) =>
  scopes.includes('offline_access') && client.grant_types.includes('refresh_token');

/**
 * Opens the grant session a code exchange yields, through createSession (the cap counts this client's grants of the
 * user only; first refresh token of the family). Without offline_access its refresh token is revoked at once: the grant then lives as long as its access
 * token, and revoking the session still stops that.
 */
export async function openGrantSession(
  tx: TenantDb,
  g: { userId: string; client: ClientRow; scopes: string[]; parentSessionId: string; authTime: Date; amr: string[]; aal: number; ip: string | null; userAgent: string | null },
  settings: TenantSettings,
): Promise<{ session: GrantSession; refreshToken: string | undefined; evicted: string[] }> {
  const s = await createSession(tx, { userId: g.userId, ip: g.ip, userAgent: g.userAgent, amr: g.amr, aal: g.aal, clientId: g.client.client_id }, settings);
  const session = (
    await tx.query<GrantSession>(
      `UPDATE sessions SET scopes = $3, parent_session_id = $4, auth_time = $5 WHERE id = $1 AND client_id = $2
       RETURNING ${SESSION_COLUMNS}, client_id, scopes, parent_session_id, auth_time`,
      [s.session.id, g.client.client_id, g.scopes, g.parentSessionId, g.authTime],
    )
  ).rows[0]!;
  // Grants of this client the cap evicted: their logouts, once the new grant names its browser session (a grant
  // evicted by a sign-in the client repeated in the same browser owes none).
  await queueBackchannelLogouts(tx, s.evicted, 'evicted');
  const offline = wantsRefresh(g.client, g.scopes);
  if (!offline) await tx.query(`UPDATE refresh_tokens SET status = 'revoked' WHERE session_id = $1`, [session.id]);
  return { session, refreshToken: offline ? s.refreshToken : undefined, evicted: s.evicted };
}

export async function findGrantSession(tx: TenantDb, id: string): Promise<GrantSession | undefined> {
  return (
    await tx.query<GrantSession>(`SELECT ${SESSION_COLUMNS}, client_id, scopes, parent_session_id, auth_time FROM sessions WHERE id = $1 AND client_id IS NOT NULL`, [id])
  ).rows[0];
}
