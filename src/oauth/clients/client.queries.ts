import type { Database } from '../../db/database.ts';
import { sql } from '../../db/sql.ts';
import { tenantBatch, type TenantDb } from '../../db/tenant-tx.ts';
import { CLIENT_COLUMNS, type ClientRow } from './client.model.ts';

export interface NewClient {
  clientId: string;
  name: string;
  type: ClientRow['type'];
  authMethod: ClientRow['token_endpoint_auth_method'];
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  grantTypes: string[];
  scopes: string[];
  firstParty: boolean;
  accessTokenTtl: number | null;
  refreshTokenTtl: number | null;
  idTokenTtl: number | null;
  jwks: object | null;
  jwksUri?: string | null;
  backchannelLogoutUri?: string | null;
  backchannelLogoutSessionRequired?: boolean;
  secretHash: string | null;
}

export async function insertClient(tx: TenantDb, c: NewClient): Promise<ClientRow> {
  const r = await tx.query<ClientRow>(
    `INSERT INTO oauth_clients (client_id, name, type, token_endpoint_auth_method, redirect_uris, post_logout_redirect_uris,
       grant_types, scopes, first_party, access_token_ttl, refresh_token_ttl, id_token_ttl, jwks, secret_hash, jwks_uri,
       backchannel_logout_uri, backchannel_logout_session_required)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) RETURNING ${CLIENT_COLUMNS}`,
    [
      c.clientId, c.name, c.type, c.authMethod, c.redirectUris, c.postLogoutRedirectUris, c.grantTypes, c.scopes, c.firstParty,
      c.accessTokenTtl, c.refreshTokenTtl, c.idTokenTtl, c.jwks === null ? null : JSON.stringify(c.jwks), c.secretHash, c.jwksUri ?? null,
      c.backchannelLogoutUri ?? null, c.backchannelLogoutSessionRequired ?? true,
    ],
  );
  return r.rows[0]!;
}

export async function findClient(tx: TenantDb, clientId: string): Promise<ClientRow | undefined> {
  if (clientId.length > 100) return undefined;
  return (await tx.query<ClientRow>(`SELECT ${CLIENT_COLUMNS} FROM oauth_clients WHERE client_id = $1`, [clientId])).rows[0];
}

/** One round trip, outside any larger transaction: the token, introspection and revocation endpoints' read. */
export async function readClient(db: Database, tenantId: string, clientId: string): Promise<ClientRow | undefined> {
  if (clientId.length > 100) return undefined;
  const [r] = await tenantBatch(db, tenantId, `SELECT ${CLIENT_COLUMNS} FROM oauth_clients WHERE client_id = ${sql`${clientId}::text`}`);
  return r!.rows[0] as ClientRow | undefined;
}

export async function listClients(tx: TenantDb): Promise<ClientRow[]> {
  return (await tx.query<ClientRow>(`SELECT ${CLIENT_COLUMNS} FROM oauth_clients ORDER BY created_at, id`)).rows;
}

const PATCHABLE = {
  name: 'name',
  redirect_uris: 'redirect_uris',
  post_logout_redirect_uris: 'post_logout_redirect_uris',
  scopes: 'scopes',
  first_party: 'first_party',
  access_token_ttl: 'access_token_ttl',
  refresh_token_ttl: 'refresh_token_ttl',
  id_token_ttl: 'id_token_ttl',
  jwks: 'jwks',
  jwks_uri: 'jwks_uri',
  backchannel_logout_uri: 'backchannel_logout_uri',
  backchannel_logout_session_required: 'backchannel_logout_session_required',
} as const;
export type ClientPatch = Partial<Record<keyof typeof PATCHABLE, unknown>>;

export async function updateClient(tx: TenantDb, clientId: string, patch: ClientPatch): Promise<ClientRow | undefined> {
  const sets: string[] = [];
  const params: unknown[] = [clientId];
  for (const [key, column] of Object.entries(PATCHABLE)) {
    if (!(key in patch)) continue;
    const v = patch[key as keyof ClientPatch];
    params.push(key === 'jwks' && v !== null ? JSON.stringify(v) : v);
    sets.push(`${column} = $${params.length}`);
  }
  if (!sets.length) return findClient(tx, clientId);
  const r = await tx.query<ClientRow>(
    `UPDATE oauth_clients SET ${sets.join(', ')}, updated_at = now() WHERE client_id = $1 RETURNING ${CLIENT_COLUMNS}`,
    params,
  );
  return r.rows[0];
}

/** The new secret replaces the current one; the current one stays valid for `overlapSeconds` (0 = not at all). */
export async function rotateClientSecret(tx: TenantDb, clientId: string, newHash: string, overlapSeconds: number): Promise<ClientRow | undefined> {
  const r = await tx.query<ClientRow>(
    `UPDATE oauth_clients SET previous_secret_hash = CASE WHEN $3::int > 0 THEN secret_hash END,
       previous_secret_expires_at = CASE WHEN $3::int > 0 THEN now() + make_interval(secs => $3::int) END,
       secret_hash = $2, updated_at = now()
     WHERE client_id = $1 AND secret_hash IS NOT NULL RETURNING ${CLIENT_COLUMNS}`,
    [clientId, newHash, overlapSeconds],
  );
  return r.rows[0];
}

export async function deleteClient(tx: TenantDb, clientId: string): Promise<boolean> {
  const r = await tx.query(`DELETE FROM oauth_clients WHERE client_id = $1`, [clientId]);
  return r.rowCount > 0;
}
