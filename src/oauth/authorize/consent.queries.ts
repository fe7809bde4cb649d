import type { TenantDb } from '../../db/tenant-tx.ts';

/** The scopes the user already agreed to for this client. */
export async function grantedScopes(tx: TenantDb, userId: string, clientId: string): Promise<string[]> {
  const r = await tx.query<{ scopes: string[] }>(`SELECT scopes FROM oauth_grants WHERE user_id = $1 AND client_id = $2`, [userId, clientId]);
  return r.rows[0]?.scopes ?? [];
}

/** Remembers consent: the union of what was agreed before and now. */
export async function rememberConsent(tx: TenantDb, userId: string, clientId: string, scopes: string[]): Promise<void> {
  await tx.query(
    `INSERT INTO oauth_grants (user_id, client_id, scopes) VALUES ($1, $2, $3)
     ON CONFLICT (tenant_id, user_id, client_id) DO UPDATE
       SET scopes = ARRAY(SELECT DISTINCT unnest(oauth_grants.scopes || EXCLUDED.scopes)), updated_at = now()`,
    [userId, clientId, scopes],
  );
}
