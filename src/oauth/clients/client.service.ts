import { recordAudit, type AuditContext } from '../../audit/audit.ts';
import { denyRevokedSessions } from '../../auth/auth.service.ts';
import type { Gatehouse } from '../../context.ts';
import { withTenantTx } from '../../db/tenant-tx.ts';
import { AppError, type FieldIssue } from '../../errors/app-error.ts';
import { sha256 } from '../../shared/crypto.ts';
import { revokeSessions } from '../../session/session.queries.ts';
import type { ResolvedTenant } from '../../tenancy/tenant-directory.ts';
import { DEFAULT_SCOPES, parseScope, SCOPE_TOKEN, toPublicClient, type AuthMethod, type ClientRow, type ClientType, type GrantType } from './client.model.ts';
import { deleteClient, findClient, insertClient, rotateClientSecret, updateClient, type ClientPatch } from './client.queries.ts';
import { newClientId, newClientSecret } from './client-secret.ts';
import { jwksUriProblem } from './client-jwks.ts';
import { backchannelLogoutUriProblem, redirectUriProblem } from './redirect-uri.ts';

/** The wire shape of a client registration (admin API, platform API, CLI). */
export interface ClientInput {
  name: string;
  type: ClientType;
  redirect_uris?: string[];
  post_logout_redirect_uris?: string[];
  grant_types?: GrantType[];
  scope?: string;
  first_party?: boolean;
  token_endpoint_auth_method?: AuthMethod;
  access_token_ttl?: number;
  refresh_token_ttl?: number;
  id_token_ttl?: number;
  jwks?: { keys: Record<string, unknown>[] };
  jwks_uri?: string | null;
  backchannel_logout_uri?: string | null;
  backchannel_logout_session_required?: boolean;
}

export type PublicClient = ReturnType<typeof presentClient>;

/** The client as the admin API shows it: `scope` as one space-separated string, as OAuth writes it. */
export function presentClient(c: ClientRow) {
  const { scopes, ...rest } = toPublicClient(c);
  return { ...rest, scope: scopes.join(' ') };
}

function invalid(details: FieldIssue[]): never {
  throw new AppError('VALIDATION_ERROR', { message: `The client is invalid: ${details.map((d) => `${d.field} ${d.message}`).join('; ')}`, details });
}

/** Checks the combination of type, grants, redirects and authentication method, and fills the defaults. */
export function normalizeClient(input: ClientInput, opts: { allowPrivateJwksUri?: boolean } = {}) {
  const issues: FieldIssue[] = [];
  const type = input.type;
  const service = type === 'service';
  const grantTypes: GrantType[] = service ? ['client_credentials'] : (input.grant_types ?? ['authorization_code', 'refresh_token']);
  if (service && input.grant_types && input.grant_types.some((g) => g !== 'client_credentials')) {
    issues.push({ field: 'grant_types', message: 'a service client has client_credentials only' });
  }
  if (type === 'public' && grantTypes.includes('client_credentials')) issues.push({ field: 'grant_types', message: 'a public client cannot use client_credentials' });
  if (!grantTypes.includes('authorization_code') && grantTypes.includes('refresh_token')) {
    issues.push({ field: 'grant_types', message: 'refresh_token needs authorization_code' });
  }
  const authMethod: AuthMethod = input.token_endpoint_auth_method ?? (type === 'public' ? 'none' : 'client_secret_basic');
  if (type === 'public' && authMethod !== 'none') issues.push({ field: 'token_endpoint_auth_method', message: 'a public client authenticates with none (and PKCE)' });
  if (type !== 'public' && authMethod === 'none') issues.push({ field: 'token_endpoint_auth_method', message: 'only a public client may use none' });
  if (authMethod === 'private_key_jwt' && !input.jwks?.keys?.length && !input.jwks_uri) issues.push({ field: 'jwks', message: 'private_key_jwt needs the client’s public keys (jwks or jwks_uri)' });
  if (input.jwks && input.jwks_uri) issues.push({ field: 'jwks_uri', message: 'give jwks or jwks_uri, not both' });
  if (input.jwks_uri) {
    if (authMethod !== 'private_key_jwt') issues.push({ field: 'jwks_uri', message: 'is for private_key_jwt clients only' });
    const problem = jwksUriProblem(input.jwks_uri, opts.allowPrivateJwksUri ?? false);
    if (problem) issues.push({ field: 'jwks_uri', message: problem });
  }
  // Only public keys: a private or symmetric key sent by mistake must not be stored (or served back by the admin API).
  if (input.jwks?.keys?.some((k) => ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'].some((m) => m in k))) issues.push({ field: 'jwks', message: 'must hold public keys only' });
  const redirectUris = [...new Set(input.redirect_uris ?? [])];
  const postLogout = [...new Set(input.post_logout_redirect_uris ?? [])];
  if (grantTypes.includes('authorization_code') && redirectUris.length === 0) issues.push({ field: 'redirect_uris', message: 'at least one is needed for the authorization code flow' });
  if (service && (redirectUris.length || postLogout.length)) issues.push({ field: 'redirect_uris', message: 'a service client has no redirect URIs' });
  for (const [field, list] of [['redirect_uris', redirectUris], ['post_logout_redirect_uris', postLogout]] as const) {
    for (const uri of list) {
      const problem = redirectUriProblem(uri);
      if (problem) issues.push({ field, message: `${uri} ${problem}` });
    }
  }
  if (input.backchannel_logout_uri) {
    if (service) issues.push({ field: 'backchannel_logout_uri', message: 'a service client signs no user in' });
    const problem = backchannelLogoutUriProblem(input.backchannel_logout_uri);
    if (problem) issues.push({ field: 'backchannel_logout_uri', message: problem });
  }
  const scopes = input.scope !== undefined ? parseScope(input.scope) : service ? [] : DEFAULT_SCOPES;
  for (const s of scopes) if (!SCOPE_TOKEN.test(s)) issues.push({ field: 'scope', message: `"${s}" is not a valid scope` });
  if (issues.length) invalid(issues);
  return { type, grantTypes, authMethod, redirectUris, postLogout, scopes };
}

/** Registers a client; a confidential or service client authenticating with a secret gets it here, once. */
export async function createClient(gh: Gatehouse, tenant: ResolvedTenant, input: ClientInput, ctx: AuditContext) {
  const n = normalizeClient(input, { allowPrivateJwksUri: gh.config.jwksAllowPrivate });
  const secret = n.authMethod === 'client_secret_basic' || n.authMethod === 'client_secret_post' ? newClientSecret() : undefined;
  const client = await withTenantTx(gh.db, tenant.id, async (tx) => {
    const c = await insertClient(tx, {
      clientId: newClientId(),
      name: input.name,
      type: n.type,
      authMethod: n.authMethod,
      redirectUris: n.redirectUris,
      postLogoutRedirectUris: n.postLogout,
      grantTypes: n.grantTypes,
      scopes: n.scopes,
      firstParty: input.first_party ?? false,
      accessTokenTtl: input.access_token_ttl ?? null,
      refreshTokenTtl: input.refresh_token_ttl ?? null,
      idTokenTtl: input.id_token_ttl ?? null,
      jwks: input.jwks ?? null,
      jwksUri: input.jwks_uri ?? null,
      backchannelLogoutUri: input.backchannel_logout_uri ?? null,
      backchannelLogoutSessionRequired: input.backchannel_logout_session_required ?? true,
      secretHash: secret ? sha256(secret) : null,
    });
    await recordAudit(tx, ctx, { action: 'oauth.client.created', details: { client_id: c.client_id, type: c.type, name: c.name } });
    return c;
  });
  return { ...presentClient(client), ...(secret ? { client_secret: secret } : {}) };
}

export async function getClient(gh: Gatehouse, tenant: ResolvedTenant, clientId: string): Promise<ClientRow> {
  const c = await withTenantTx(gh.db, tenant.id, (tx) => findClient(tx, clientId));
  if (!c) throw new AppError('CLIENT_NOT_FOUND');
  return c;
}

export async function patchClient(gh: Gatehouse, tenant: ResolvedTenant, clientId: string, patch: Omit<ClientInput, 'type' | 'name'> & { name?: string }, ctx: AuditContext) {
  return withTenantTx(gh.db, tenant.id, async (tx) => {
    const current = await findClient(tx, clientId);
    if (!current) throw new AppError('CLIENT_NOT_FOUND');
    // Setting one key source clears the other. The merged client must still be coherent.
    const jwks = patch.jwks !== undefined ? patch.jwks : patch.jwks_uri ? null : current.jwks;
    const jwksUri = patch.jwks_uri !== undefined ? patch.jwks_uri : patch.jwks ? null : current.jwks_uri;
    const merged: ClientInput = {
      name: patch.name ?? current.name,
      type: current.type,
      grant_types: current.grant_types,
      token_endpoint_auth_method: current.token_endpoint_auth_method,
      redirect_uris: patch.redirect_uris ?? current.redirect_uris,
      post_logout_redirect_uris: patch.post_logout_redirect_uris ?? current.post_logout_redirect_uris,
      scope: patch.scope ?? current.scopes.join(' '),
      ...(jwks ? { jwks } : {}),
      ...(jwksUri ? { jwks_uri: jwksUri } : {}),
      backchannel_logout_uri: patch.backchannel_logout_uri !== undefined ? patch.backchannel_logout_uri : current.backchannel_logout_uri,
    };
    const n = normalizeClient(merged, { allowPrivateJwksUri: gh.config.jwksAllowPrivate });
    const dbPatch: ClientPatch = {};
    if (patch.name !== undefined) dbPatch.name = patch.name;
    if (patch.redirect_uris) dbPatch.redirect_uris = n.redirectUris;
    if (patch.post_logout_redirect_uris) dbPatch.post_logout_redirect_uris = n.postLogout;
    if (patch.scope !== undefined) dbPatch.scopes = n.scopes;
    if (patch.first_party !== undefined) dbPatch.first_party = patch.first_party;
    if (patch.jwks !== undefined || patch.jwks_uri !== undefined) {
      dbPatch.jwks = jwks;
      dbPatch.jwks_uri = jwksUri;
    }
    for (const k of ['access_token_ttl', 'refresh_token_ttl', 'id_token_ttl', 'backchannel_logout_uri', 'backchannel_logout_session_required'] as const) {
      if (patch[k] !== undefined) dbPatch[k] = patch[k];
    }
    const c = (await updateClient(tx, clientId, dbPatch))!;
    await recordAudit(tx, ctx, { action: 'oauth.client.updated', details: { client_id: clientId, fields: Object.keys(dbPatch) } });
    return presentClient(c);
  }).finally(() => gh.clients.invalidate(tenant.id, clientId));
}

/** A new secret, shown once; the old one keeps working for `overlapSeconds` so deployments can roll over. */
export async function rotateSecret(gh: Gatehouse, tenant: ResolvedTenant, clientId: string, overlapSeconds: number, ctx: AuditContext) {
  const secret = newClientSecret();
  const c = await withTenantTx(gh.db, tenant.id, async (tx) => {
    const c = await rotateClientSecret(tx, clientId, sha256(secret), overlapSeconds);
    if (!c) throw new AppError('CLIENT_NOT_FOUND');
    await recordAudit(tx, ctx, { action: 'oauth.client.secret_rotated', risk: 'medium', details: { client_id: clientId, overlap_seconds: overlapSeconds } });
    return c;
  });
  gh.clients.invalidate(tenant.id, clientId);
  return { ...presentClient(c), client_secret: secret };
}

/** Deletes a client and ends every grant (session) issued to it. */
export async function removeClient(gh: Gatehouse, tenant: ResolvedTenant, clientId: string, ctx: AuditContext): Promise<void> {
  const revoked = await withTenantTx(gh.db, tenant.id, async (tx) => {
    if (!(await deleteClient(tx, clientId))) throw new AppError('CLIENT_NOT_FOUND');
    const ids = (await tx.query<{ id: string }>(`SELECT id FROM sessions WHERE client_id = $1 AND revoked_at IS NULL`, [clientId])).rows.map((r) => r.id);
    const revoked = await revokeSessions(tx, ids, 'client_deleted');
    await tx.query(`DELETE FROM oauth_codes WHERE client_id = $1`, [clientId]);
    await tx.query(`DELETE FROM oauth_grants WHERE client_id = $1`, [clientId]);
    await recordAudit(tx, ctx, { action: 'oauth.client.deleted', risk: 'medium', details: { client_id: clientId, sessions_revoked: revoked.length } });
    return revoked;
  });
  gh.clients.invalidate(tenant.id, clientId);
  await denyRevokedSessions(gh, tenant, revoked);
}
