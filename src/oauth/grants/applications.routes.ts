import type { FastifyInstance } from 'fastify';
import type { Gatehouse } from '../../context.ts';
import { auditContext, authenticate, noContent } from '../../http/request-context.ts';
import { bearerSecurity, errorResponses } from '../../http/schemas.ts';
import { clientIdParams } from '../clients/client.schema.ts';
import { listOwnApplications, revokeOwnApplication } from './applications.service.ts';

const applicationSchema = {
  type: 'object',
  properties: {
    client_id: { type: 'string' },
    name: { type: 'string' },
    scopes: { type: 'array', items: { type: 'string' }, description: 'What the application may access: the consent given and the scopes of its live grants' },
    first_party: { type: 'boolean', description: 'Trusted by the tenant: never asks for consent' },
    granted_at: { type: 'string', format: 'date-time', description: 'When access was first given' },
    last_used_at: { type: ['string', 'null'], format: 'date-time', description: 'Last token issued or refreshed for it' },
    active_sessions: { type: 'integer', description: 'Live grants (each with its own tokens)' },
  },
} as const;

/** The signed-in user's connected applications (OAuth clients let into the account) and removing their access. */
export async function applicationRoutes(app: FastifyInstance, { gh }: { gh: Gatehouse }) {
  const secured = { security: bearerSecurity, tags: ['me'] };

  app.get(
    '/me/applications',
    {
      schema: {
        ...secured,
        summary: 'Applications the signed-in user has authorized (consent given or a live grant)',
        response: { 200: { type: 'object', properties: { applications: { type: 'array', items: applicationSchema } } }, ...errorResponses(401, 403) },
      },
    },
    async (request) => {
      const claims = await authenticate(gh, request, 'profile:read');
      return { applications: await listOwnApplications(gh, request.tenant!, claims.sub) };
    },
  );

  app.delete<{ Params: { client_id: string } }>(
    '/me/applications/:client_id',
    {
      schema: {
        ...secured,
        summary: "Remove an application's access: forget the consent and end its grants (refresh tokens stop working)",
        params: clientIdParams,
        response: { 204: { type: 'null' }, ...errorResponses(401, 403, 404) },
      },
    },
    async (request, reply) => {
      const claims = await authenticate(gh, request, 'profile:read');
      await revokeOwnApplication(gh, request.tenant!, claims.sub, request.params.client_id, auditContext(request));
      return noContent(reply);
    },
  );
}
