import { randomUUID } from 'node:crypto';
import { signJwt, signJwtOffThread } from '../../keys/jws-sign.ts';
import type { JWTPayload } from 'jose';
import { decodeJws, verifyJws } from '../../keys/jws-verify.ts';
import type { Gatehouse } from '../../context.ts';
import type { ResolvedTenant } from '../../tenancy/tenant-directory.ts';
import { isDenied } from '../../tokens/denylist.ts';

/**
 * Access tokens for OAuth clients: JWTs per RFC 9068 (`typ: at+jwt`), signed with the tenant's key. Their audience
 * is the client, never the tenant's own API (`aud` = issuer), so a token a third-party app holds cannot call the
 * first-party API with the user's role.
 */
export interface OAuthAccessClaims extends JWTPayload {
  iss: string;
  sub: string;
  jti: string;
  exp: number;
  iat: number;
  client_id: string;
  scope: string;
  /** The grant session (user tokens only): revoking it revokes the token. */
  sid?: string;
  auth_time?: number;
  acr?: string;
  amr?: string[];
}

export async function signOAuthAccessToken(
  gh: Gatehouse,
  tenant: ResolvedTenant,
  input: { clientId: string; subject: string; scopes: string[]; ttl: number; sid?: string; authTime?: number; acr?: string; amr?: string[] },
  /** Sign on the thread pool: for answers with no database work (client_credentials; see jws-sign.ts). */
  opts: { offThread?: boolean } = {},
): Promise<{ token: string; claims: OAuthAccessClaims }> {
  const ring = await gh.keys.get(tenant.id);
  const now = Math.floor(Date.now() / 1000);
  const claims: OAuthAccessClaims = {
    iss: tenant.issuer,
    sub: input.subject,
    aud: input.clientId,
    iat: now,
    nbf: now,
    exp: now + input.ttl,
    jti: randomUUID(),
    client_id: input.clientId,
    scope: input.scopes.join(' '),
    ...(input.sid ? { sid: input.sid } : {}),
    ...(input.authTime !== undefined ? { auth_time: input.authTime } : {}),
    ...(input.acr ? { acr: input.acr } : {}),
    ...(input.amr ? { amr: input.amr } : {}),
  };
  const token = opts.offThread ? await signJwtOffThread(ring.active, 'at+jwt', claims) : signJwt(ring.active, 'at+jwt', claims);
  return { token, claims };
}

/**
 * Verifies an OAuth access token of this tenant (signature with its keys only, issuer, type, lifetime) and that
 * neither it nor its grant has been revoked. Undefined for anything else: first-party tokens, other tenants' tokens,
 * expired or revoked ones.
 */
export async function verifyOAuthAccessToken(gh: Gatehouse, tenant: ResolvedTenant, token: string): Promise<OAuthAccessClaims | undefined> {
  const jws = token.length > 8192 ? undefined : decodeJws(token);
  const kid = jws?.header.kid;
  if (!jws || typeof kid !== 'string') return undefined;
  let payload: JWTPayload;
  try {
    payload = await verifyJws(jws, await gh.keys.verifyKey(tenant.id, kid), {
      issuer: tenant.issuer,
      typ: 'at+jwt',
      clockTolerance: 5,
      requiredClaims: ['sub', 'jti', 'exp', 'iat', 'client_id', 'scope'],
    });
  } catch {
    return undefined;
  }
  const claims = payload as OAuthAccessClaims;
  if (claims.aud !== claims.client_id) return undefined;
  if (await isDenied(gh.kv, claims.jti, claims.sid ?? '-')) return undefined;
  return claims;
}
