import type { FastifyInstance } from 'fastify';
import { recordAudit } from '../audit/audit.ts';
import { denyRevokedSessions } from '../auth/auth.service.ts';
import type { Gatehouse } from '../context.ts';
import { withTenantTx } from '../db/tenant-tx.ts';
import { auditContext, requireTenant } from '../http/request-context.ts';
import { revokeSessions } from '../session/session.queries.ts';
import { denyToken } from '../tokens/denylist.ts';
import { authenticateClient } from './clients/client-auth.ts';
import { InvalidRequest } from './oauth-error.ts';
import { formBody, oauthErrorSchema } from './token/token.routes.ts';
import { findLiveRefreshToken } from './tokens/token-lookup.ts';
import { verifyOAuthAccessToken } from './tokens/oauth-access-token.ts';

/**
 * RFC 7009 revocation by the client the token was issued to. A refresh token ends its whole grant (and so the
 * grant's access tokens); an access token is denied until it expires. Unknown, foreign or already-revoked tokens
 * get the same 200, so the endpoint tells nothing about them.
 */
export async function revokeRoutes(app: FastifyInstance, { gh }: { gh: Gatehouse }) {
  app.post<{ Body: Record<string, string> }>(
    '/oauth/revoke',
    {
      schema: {
        tags: ['oauth'],
        summary: 'Token revocation (RFC 7009)',
        consumes: ['application/x-www-form-urlencoded'],
        body: formBody,
        response: { 200: { type: 'null' }, 400: oauthErrorSchema, 401: oauthErrorSchema },
      },
    },
    async (request, reply) => {
      const tenant = await requireTenant(gh, request);
      const params = request.body ?? {};
      const client = await authenticateClient(gh, tenant, request, params, `${tenant.issuer}/oauth/revoke`);
      if (!params.token) throw InvalidRequest('token is required.');
      const rt = await findLiveRefreshToken(gh, tenant, params.token);
      if (rt && rt.client_id === client.client_id) {
        const revoked = await withTenantTx(gh.db, tenant.id, async (tx) => {
          const ids = await revokeSessions(tx, [rt.session_id], 'oauth_revoked');
          await recordAudit(tx, auditContext(request), { action: 'oauth.token.revoked', subjectId: rt.user_id, details: { client_id: client.client_id, session_id: rt.session_id, token_type: 'refresh_token' } });
          return ids;
        });
        await denyRevokedSessions(gh, tenant, revoked);
      } else if (!rt) {
        const at = await verifyOAuthAccessToken(gh, tenant, params.token);
        if (at && at.client_id === client.client_id) await denyToken(gh.kv, at.jti, at.exp);
      }
      return reply.code(200).header('cache-control', 'no-store').send();
    },
  );
}
