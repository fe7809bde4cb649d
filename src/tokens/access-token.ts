import { randomUUID } from 'node:crypto';
import { signJwt } from '../keys/jws-sign.ts';
import type { JWTPayload } from 'jose';
import { decodeJws, JwtRejected, verifyJws, type DecodedJws } from '../keys/jws-verify.ts';
import { AppError } from '../errors/app-error.ts';
import type { KeyRingCache } from '../keys/signing-keys.ts';
import type { Permission, Role } from '../rbac/roles.ts';

export interface AccessClaims extends JWTPayload {
  sub: string;
  sid: string;
  jti: string;
  exp: number;
  tenant_id: string;
  tenant: string;
  role: Role;
  permissions: readonly Permission[];
  plan: string;
  email: string;
  email_verified: boolean;
  amr: string[];
  aal: number;
}

export interface IssueInput {
  issuer: string;
  tenantId: string;
  tenantSlug: string;
  plan: string;
  ttlSeconds: number;
  user: { id: string; email: string; email_verified: boolean; role: Role };
  permissions: readonly Permission[];
  session: { id: string; amr: string[]; aal: number };
}

/** The audience of first-party access tokens: the tenant's own Gatehouse API. */
export const apiAudience = (issuer: string) => issuer;

export async function issueAccessToken(keys: KeyRingCache, input: IssueInput): Promise<{ token: string; claims: AccessClaims }> {
  const ring = await keys.get(input.tenantId);
  const now = Math.floor(Date.now() / 1000);
  const claims: AccessClaims = {
    iss: input.issuer,
    sub: input.user.id,
    aud: apiAudience(input.issuer),
    iat: now,
    nbf: now,
    exp: now + input.ttlSeconds,
    jti: randomUUID(),
    sid: input.session.id,
    tenant_id: input.tenantId,
    tenant: input.tenantSlug,
    role: input.user.role,
    permissions: input.permissions,
    plan: input.plan,
    email: input.user.email,
    email_verified: input.user.email_verified,
    amr: input.session.amr,
    aal: input.session.aal,
  };
  const token = signJwt(ring.active, 'at+jwt', claims);
  return { token, claims };
}

/** Reads the tenant a token claims without trusting it: used only to pick the keys that must then verify it. */
export function claimedTenantId(token: string | DecodedJws | undefined): string | undefined {
  const t = (typeof token === 'string' ? decodeJws(token) : token)?.payload.tenant_id;
  return typeof t === 'string' ? t : undefined;
}

const ACCESS_CHECKS = { typ: 'at+jwt', clockTolerance: 5, requiredClaims: ['sub', 'sid', 'jti', 'exp', 'iat', 'tenant_id'] } as const;

/**
 * Verifies signature (only with the tenant's own keys, only with the key's own algorithm), issuer, audience and
 * time claims. Every failure is a 401 with TOKEN_EXPIRED or TOKEN_INVALID.
 */
export async function verifyAccessToken(
  keys: KeyRingCache,
  token: string | DecodedJws | undefined,
  tenant: { id: string; issuer: string },
): Promise<AccessClaims> {
  const jws = typeof token === 'string' ? decodeJws(token) : token;
  const kid = jws?.header.kid;
  if (!jws || typeof kid !== 'string') throw new AppError('TOKEN_INVALID');
  try {
    const payload = await verifyJws(jws, await keys.verifyKey(tenant.id, kid), { ...ACCESS_CHECKS, issuer: tenant.issuer, audience: apiAudience(tenant.issuer) });
    if (payload.tenant_id !== tenant.id) throw new AppError('TOKEN_INVALID');
    return payload as AccessClaims;
  } catch (err) {
    if (err instanceof AppError) throw err;
    if (err instanceof JwtRejected && err.reason === 'expired') throw new AppError('TOKEN_EXPIRED');
    throw new AppError('TOKEN_INVALID');
  }
}
