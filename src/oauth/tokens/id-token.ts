import { createHash, randomUUID } from 'node:crypto';
import { signJwt } from '../../keys/jws-sign.ts';
import type { Gatehouse } from '../../context.ts';
import type { UserRow } from '../../identity/user.model.ts';
import type { ResolvedTenant } from '../../tenancy/tenant-directory.ts';

/** OIDC Core §3.1.3.6: the left half of the SHA-256 of the access token (both ES256 and RS256 use SHA-256). */
export function atHash(accessToken: string): string {
  const digest = createHash('sha256').update(accessToken, 'ascii').digest();
  return digest.subarray(0, digest.length / 2).toString('base64url');
}

/** The user's claims a scope set allows (OIDC Core §5.4): sub always, email with `email`, names with `profile`. */
export function scopedClaims(user: UserRow, scopes: readonly string[]): Record<string, unknown> {
  const claims: Record<string, unknown> = { sub: user.id };
  if (scopes.includes('email')) {
    claims.email = user.email;
    claims.email_verified = user.email_verified;
  }
  if (scopes.includes('profile')) {
    for (const [claim, value] of [
      ['name', user.name],
      ['given_name', user.given_name],
      ['family_name', user.family_name],
      ['locale', user.locale],
      ['zoneinfo', user.timezone],
    ] as const) {
      if (value !== null) claims[claim] = value;
    }
    claims.updated_at = Math.floor(new Date(user.updated_at).getTime() / 1000);
  }
  return claims;
}

export const acrOf = (aal: number) => `urn:gatehouse:aal${aal}`;

export async function signIdToken(
  gh: Gatehouse,
  tenant: ResolvedTenant,
  input: {
    clientId: string;
    user: UserRow;
    scopes: string[];
    ttl: number;
    sid: string;
    authTime: number;
    amr: string[];
    aal: number;
    nonce?: string | null;
    accessToken: string;
  },
): Promise<string> {
  const ring = await gh.keys.get(tenant.id);
  const now = Math.floor(Date.now() / 1000);
  return signJwt(ring.active, 'JWT', {
    ...scopedClaims(input.user, input.scopes),
    iss: tenant.issuer,
    aud: input.clientId,
    iat: now,
    exp: now + input.ttl,
    jti: randomUUID(),
    auth_time: input.authTime,
    amr: input.amr,
    acr: acrOf(input.aal),
    sid: input.sid,
    at_hash: atHash(input.accessToken),
    ...(input.nonce ? { nonce: input.nonce } : {}),
  });
}
