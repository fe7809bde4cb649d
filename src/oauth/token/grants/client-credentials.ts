import { InvalidScope } from '../../oauth-error.ts';
import { parseScope } from '../../clients/client.model.ts';
import { accessTtl } from '../../tokens/grant-session.ts';
import { signOAuthAccessToken } from '../../tokens/oauth-access-token.ts';
import type { Grant } from '../grant.ts';

/** Scopes that only mean something for a user; a client acting for itself cannot have them. */
const USER_SCOPES = new Set(['openid', 'offline_access', 'profile', 'email']);

/** RFC 6749 §4.4: the client's own access token, its scopes a subset of the client's (all of them by default). */
export const clientCredentials: Grant = {
  grantType: 'client_credentials',
  async handler({ gh, tenant, client, params }) {
    const allowed = client.scopes.filter((s) => !USER_SCOPES.has(s));
    const requested = params.scope !== undefined ? parseScope(params.scope) : allowed;
    const refused = requested.filter((s) => !allowed.includes(s));
    if (refused.length) throw InvalidScope(`The client may not request: ${refused.join(' ')}.`);
    const ttl = accessTtl(tenant, client);
    // Signing is most of this grant's main-thread work: off the main thread (jws-sign.ts).
    const { token } = await signOAuthAccessToken(gh, tenant, { clientId: client.client_id, subject: client.client_id, scopes: requested, ttl }, { offThread: true });
    return { access_token: token, token_type: 'Bearer', expires_in: ttl, scope: requested.join(' ') };
  },
};
