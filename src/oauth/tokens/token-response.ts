import type { Gatehouse } from '../../context.ts';
import type { UserRow } from '../../identity/user.model.ts';
import type { ResolvedTenant } from '../../tenancy/tenant-directory.ts';
import type { ClientRow } from '../clients/client.model.ts';
import { accessTtl, idTokenTtl } from './grant-session.ts';
import { acrOf, signIdToken } from './id-token.ts';
import { signOAuthAccessToken } from './oauth-access-token.ts';

export interface OAuthTokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
  refresh_token?: string;
  id_token?: string;
}

export const tokenResponseSchema = {
  type: 'object',
  properties: {
    access_token: { type: 'string' },
    token_type: { type: 'string', enum: ['Bearer'] },
    expires_in: { type: 'integer' },
    scope: { type: 'string' },
    refresh_token: { type: 'string' },
    id_token: { type: 'string' },
  },
} as const;

/** The tokens of a user grant: an access token, an ID token with `openid`, the refresh token when there is one. */
export async function userTokenResponse(
  gh: Gatehouse,
  tenant: ResolvedTenant,
  client: ClientRow,
  user: UserRow,
  g: { sid: string; browserSid: string | null; scopes: string[]; authTime: Date; amr: string[]; aal: number; nonce?: string | null; refreshToken?: string | undefined },
): Promise<OAuthTokenResponse> {
  const ttl = accessTtl(tenant, client);
  const authTime = Math.floor(g.authTime.getTime() / 1000);
  const { token } = await signOAuthAccessToken(gh, tenant, {
    clientId: client.client_id,
    subject: user.id,
    scopes: g.scopes,
    ttl,
    sid: g.sid,
    authTime,
    acr: acrOf(g.aal),
    amr: g.amr,
  });
  const body: OAuthTokenResponse = { access_token: token, token_type: 'Bearer', expires_in: ttl, scope: g.scopes.join(' ') };
  if (g.refreshToken) body.refresh_token = g.refreshToken;
  if (g.scopes.includes('openid')) {
    body.id_token = await signIdToken(gh, tenant, {
      clientId: client.client_id,
      user,
      scopes: g.scopes,
      ttl: idTokenTtl(client),
      sid: g.browserSid ?? g.sid,
      authTime,
      amr: g.amr,
      aal: g.aal,
      nonce: g.nonce,
      accessToken: token,
    });
  }
  return body;
}
