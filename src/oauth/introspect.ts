import type { FastifyInstance } from 'fastify';
import type { Gatehouse } from '../context.ts';
import { requireTenant } from '../http/request-context.ts';
import { authenticateClient } from './clients/client-auth.ts';
import { InvalidClient, InvalidRequest } from './oauth-error.ts';
import { formBody, oauthErrorSchema } from './token/token.routes.ts';
import { findLiveAccessToken, findLiveRefreshToken } from './tokens/token-lookup.ts';

const introspectionSchema = {
  type: 'object',
  properties: {
    active: { type: 'boolean' },
    scope: { type: 'string' },
    client_id: { type: 'string' },
    sub: { type: 'string' },
    exp: { type: 'integer' },
    iat: { type: 'integer' },
    iss: { type: 'string' },
    aud: { type: 'string' },
    jti: { type: 'string' },
    sid: { type: 'string' },
    token_type: { type: 'string' },
  },
} as const;

/**
 * RFC 7662 token introspection, for authenticated clients: `{active: false}` for anything unknown, expired, revoked
 * or of another tenant. Access tokens are described to any client of the tenant (resource servers); a refresh
 * token only to the client it was issued to.
 */
export async function introspectRoutes(app: FastifyInstance, { gh }: { gh: Gatehouse }) {
  app.post<{ Body: Record<string, string> }>(
    '/oauth/introspect',
    {
      schema: {
        tags: ['oauth'],
        summary: 'Token introspection (RFC 7662)',
        consumes: ['application/x-www-form-urlencoded'],
        body: formBody,
        response: { 200: introspectionSchema, 400: oauthErrorSchema, 401: oauthErrorSchema },
      },
    },
    async (request, reply) => {
      const tenant = await requireTenant(gh, request);
      const params = request.body ?? {};
      const client = await authenticateClient(gh, tenant, request, params, `${tenant.issuer}/oauth/introspect`);
      // Introspection reveals token contents: only clients that truly authenticate may use it.
      if (client.token_endpoint_auth_method === 'none') throw InvalidClient('Public clients may not introspect tokens.');
      if (!params.token) throw InvalidRequest('token is required.');
      reply.header('cache-control', 'no-store');
      const token = params.token;
      if (params.token_type_hint !== 'access_token') {
        const rt = await findLiveRefreshToken(gh, tenant, token);
        if (rt) {
          if (rt.client_id !== client.client_id) return { active: false };
          return { active: true, token_type: 'refresh_token', client_id: rt.client_id, sub: rt.user_id, scope: rt.scopes.join(' '), iat: rt.iat, exp: rt.exp, iss: tenant.issuer, sid: rt.session_id };
        }
      }
      const at = await findLiveAccessToken(gh, tenant, token);
      if (!at) return { active: false };
      return {
        active: true,
        token_type: 'Bearer',
        client_id: at.client_id,
        sub: at.sub,
        scope: at.scope,
        iat: at.iat,
        exp: at.exp,
        iss: at.iss,
        aud: at.client_id,
        jti: at.jti,
        ...(at.sid ? { sid: at.sid } : {}),
      };
    },
  );
}
