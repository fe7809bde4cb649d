/** An OAuth client as stored (oauth_clients); secrets appear only as digests. */
export interface ClientRow {
  id: string;
  client_id: string;
  name: string;
  type: ClientType;
  token_endpoint_auth_method: AuthMethod;
  redirect_uris: string[];
  post_logout_redirect_uris: string[];
  grant_types: GrantType[];
  scopes: string[];
  first_party: boolean;
  access_token_ttl: number | null;
  refresh_token_ttl: number | null;
  id_token_ttl: number | null;
  jwks: { keys: Record<string, unknown>[] } | null;
  /** Where a private_key_jwt client publishes its public keys, instead of `jwks` (migration 017). */
  jwks_uri: string | null;
  /** OIDC Back-Channel Logout: where Logout Tokens are POSTed when a session the client signed in through ends (migration 018). */
  backchannel_logout_uri: string | null;
  /** Whether the client needs `sid` in its Logout Tokens (Gatehouse always sends it). */
  backchannel_logout_session_required: boolean;
  secret_hash: string | null;
  previous_secret_hash: string | null;
  previous_secret_expires_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export const CLIENT_TYPES = ['public', 'confidential', 'service'] as const;
export type ClientType = (typeof CLIENT_TYPES)[number];
export const AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'] as const;
export type AuthMethod = (typeof AUTH_METHODS)[number];
export const GRANT_TYPES = ['authorization_code', 'refresh_token', 'client_credentials'] as const;
export type GrantType = (typeof GRANT_TYPES)[number];

/** The standard OIDC scopes; a tenant's clients may also carry custom ones. */
export const STANDARD_SCOPES = ['openid', 'profile', 'email', 'offline_access'] as const;
export const DEFAULT_SCOPES = ['openid', 'profile', 'email', 'offline_access'];
/** Custom scope tokens: RFC 6749 §3.3 scope-token characters, kept to a sane subset. */
export const SCOPE_TOKEN = /^[A-Za-z0-9_.:/-]{1,100}$/;

export const CLIENT_COLUMNS = `id, client_id, name, type, token_endpoint_auth_method, redirect_uris, post_logout_redirect_uris,
  grant_types, scopes, first_party, access_token_ttl, refresh_token_ttl, id_token_ttl, jwks, jwks_uri, secret_hash,
  previous_secret_hash, previous_secret_expires_at, created_at, updated_at, backchannel_logout_uri, backchannel_logout_session_required`;

/** What the admin API and CLI show: never a secret digest. */
export function toPublicClient(c: ClientRow) {
  const { secret_hash: _s, previous_secret_hash: _p, ...rest } = c;
  return { ...rest, has_secret: c.secret_hash !== null };
}

export const parseScope = (scope: string | undefined): string[] => [...new Set((scope ?? '').split(' ').filter(Boolean))];
