import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Gatehouse } from '../context.ts';
import { withTenantTx } from '../db/tenant-tx.ts';
import { requireTenant } from '../http/request-context.ts';
import { findUserById } from '../identity/user.queries.ts';
import { InvalidRequest, InvalidToken, OAuthError } from './oauth-error.ts';
import { oauthErrorSchema } from './token/token.routes.ts';
import { scopedClaims } from './tokens/id-token.ts';
import { findLiveAccessToken } from './tokens/token-lookup.ts';

const userinfoSchema = {
  type: 'object',
  properties: {
    sub: { type: 'string' },
    email: { type: 'string' },
    email_verified: { type: 'boolean' },
    name: { type: 'string' },
    given_name: { type: 'string' },
    family_name: { type: 'string' },
    locale: { type: 'string' },
    zoneinfo: { type: 'string' },
    updated_at: { type: 'integer' },
  },
} as const;

/** The bearer token from the header (RFC 6750 §2.1) or, on POST, the form body (§2.2); never both. */
function bearerToken(request: FastifyRequest): string {
  const header = request.headers.authorization;
  const fromBody = (request.body as Record<string, string> | undefined)?.access_token;
  if (header && fromBody) throw InvalidRequest('Send the access token once.');
  if (fromBody) return fromBody;
  const m = header ? /^Bearer ([A-Za-z0-9_.~+/=-]+)$/i.exec(header) : null;
  if (!m) throw new OAuthError('invalid_token', 'An access token is required.', { status: 401, headers: { 'www-authenticate': 'Bearer' } });
  return m[1]!;
}

/** OIDC Core §5.3: the user's claims, as far as the token's scopes allow (sub always). */
export async function userinfoRoutes(app: FastifyInstance, { gh }: { gh: Gatehouse }) {
  const handler = async (request: FastifyRequest) => {
    const tenant = await requireTenant(gh, request);
    const claims = await findLiveAccessToken(gh, tenant, bearerToken(request));
    if (!claims || !claims.sid) throw InvalidToken('The access token is invalid, expired or revoked.');
    const scopes = claims.scope.split(' ');
    if (!scopes.includes('openid')) {
      throw new OAuthError('insufficient_scope', 'The access token lacks the openid scope.', { headers: { 'www-authenticate': 'Bearer error="insufficient_scope", scope="openid"' } });
    }
    const user = await withTenantTx(gh.db, tenant.id, (tx) => findUserById(tx, claims.sub));
    if (!user || user.status === 'disabled') throw InvalidToken('The access token is invalid, expired or revoked.');
    return scopedClaims(user, scopes);
  };
  const schema = { tags: ['oauth'], summary: 'UserInfo (OIDC Core §5.3)', response: { 200: userinfoSchema, 401: oauthErrorSchema, 403: oauthErrorSchema } };
  app.get('/oauth/userinfo', { schema }, handler);
  app.post('/oauth/userinfo', { schema: { ...schema, consumes: ['application/x-www-form-urlencoded'] } }, handler);
}
