import type { FastifyInstance } from 'fastify';
import type { Gatehouse } from '../context.ts';
import { withTenantTx } from '../db/tenant-tx.ts';
import { requireTenant } from '../http/request-context.ts';
import { errorResponses } from '../http/schemas.ts';
import { listPublicJwks } from './signing-keys.ts';

export async function jwksRoutes(app: FastifyInstance, { gh }: { gh: Gatehouse }) {
  app.get(
    '/.well-known/jwks.json',
    {
      schema: {
        tags: ['keys'],
        summary: "The tenant's public signing keys (current and recently rotated)",
        response: {
          200: { type: 'object', properties: { keys: { type: 'array', items: { type: 'object', additionalProperties: true } } } },
          ...errorResponses(403, 404),
        },
      },
    },
    async (request, reply) => {
      const tenant = await requireTenant(gh, request);
      const keys = await withTenantTx(gh.db, tenant.id, (tx) => listPublicJwks(tx));
      reply.header('cache-control', 'public, max-age=300');
      return { keys };
    },
  );
}
