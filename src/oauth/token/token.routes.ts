import type { FastifyInstance } from 'fastify';
import type { Gatehouse } from '../../context.ts';
import { auditContext, requireTenant } from '../../http/request-context.ts';
import { authenticateClient } from '../clients/client-auth.ts';
import { InvalidRequest, UnauthorizedClient, UnsupportedGrantType } from '../oauth-error.ts';
import { tokenResponseSchema } from '../tokens/token-response.ts';
import { authorizationCode } from './grants/authorization-code.ts';
import { clientCredentials } from './grants/client-credentials.ts';
import { refreshToken } from './grants/refresh-token.ts';
import type { Grant } from './grant.ts';

const GRANTS: Record<string, Grant> = Object.fromEntries([authorizationCode, refreshToken, clientCredentials].map((g) => [g.grantType, g]));
export const SUPPORTED_GRANT_TYPES = Object.keys(GRANTS);

export const oauthErrorSchema = {
  type: 'object',
  properties: { error: { type: 'string' }, error_description: { type: 'string' } },
} as const;

export const formBody = { type: 'object', additionalProperties: { type: 'string' } } as const;

/** The token endpoint (RFC 6749 §3.2): client authentication, then the grant type's handler. Never cached. */
export async function tokenRoutes(app: FastifyInstance, { gh }: { gh: Gatehouse }) {
  app.post<{ Body: Record<string, string> }>(
    '/oauth/token',
    {
      schema: {
        tags: ['oauth'],
        summary: 'Token endpoint: authorization_code, refresh_token, client_credentials',
        consumes: ['application/x-www-form-urlencoded'],
        body: formBody,
        response: { 200: tokenResponseSchema, 400: oauthErrorSchema, 401: oauthErrorSchema, 500: oauthErrorSchema },
      },
    },
    async (request, reply) => {
      const tenant = await requireTenant(gh, request);
      const params = request.body ?? {};
      if (!params.grant_type) throw InvalidRequest('grant_type is required.');
      const grant = GRANTS[params.grant_type];
      if (!grant) throw UnsupportedGrantType(`grant_type ${params.grant_type.slice(0, 60)} is not supported.`);
      const client = await authenticateClient(gh, tenant, request, params, `${tenant.issuer}/oauth/token`);
      if (!client.grant_types.includes(grant.grantType)) throw UnauthorizedClient(`This client may not use ${grant.grantType}.`);
      const body = await grant.handler({
        gh,
        tenant,
        client,
        params,
        audit: auditContext(request),
        ip: request.ip,
        userAgent: request.headers['user-agent'] ?? null,
      });
      reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
      return body;
    },
  );
}
