import { randomUUID } from 'node:crypto';
import type { Gatehouse } from '../../context.ts';
import { signJwt } from '../../keys/jws-sign.ts';
import type { ResolvedTenant } from '../../tenancy/tenant-directory.ts';

export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
/** Long enough for a slow receiver, short enough that a token that leaks later is useless. */
export const LOGOUT_TOKEN_TTL = 120;

/**
 * A Logout Token (OIDC Back-Channel Logout 1.0 §2.4), signed with the tenant's key like its ID tokens and explicitly
 * typed `logout+jwt` so it can never pass for an ID token. It names the user (sub) and the session (sid, the one the
 * client's ID tokens carried) and, as the spec demands, has no nonce. A fresh jti on every attempt: a receiver that
 * keeps seen jtis must not refuse a retry of a delivery whose answer was lost.
 */
export async function signLogoutToken(gh: Gatehouse, tenant: ResolvedTenant, l: { clientId: string; sub: string; sid: string }): Promise<string> {
  const ring = await gh.keys.get(tenant.id);
  const now = Math.floor(Date.now() / 1000);
  return signJwt(ring.active, 'logout+jwt', {
    iss: tenant.issuer,
    aud: l.clientId,
    iat: now,
    exp: now + LOGOUT_TOKEN_TTL,
    jti: randomUUID(),
    sub: l.sub,
    sid: l.sid,
    events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
  });
}
