import type { FastifyInstance } from 'fastify';
import type { Gatehouse } from '../../context.ts';
import { errorResponses } from '../../http/schemas.ts';
import { requirePlatform } from '../../platform/platform-credentials.ts';
import { findTenant } from '../../tenancy/tenant.service.ts';
import { clientSchema, createClientBody } from './client.schema.ts';
import { createClient, type ClientInput } from './client.service.ts';

/** Operators and the CLI (`gatehouse client create`): POST /api/v1/platform/tenants/{tenant}/clients. */
export async function platformClientRoutes(app: FastifyInstance, { gh }: { gh: Gatehouse }) {
  app.post<{ Params: { tenant: string }; Body: ClientInput }>(
    '/tenants/:tenant/clients',
    {
      schema: {
        tags: ['platform'],
        security: [{ platformAuth: [] }],
        summary: 'Register an OAuth client in a tenant (its secret is shown once)',
        params: { type: 'object', properties: { tenant: { type: 'string', minLength: 1, maxLength: 63 } } },
        body: createClientBody,
        response: { 201: clientSchema, ...errorResponses(401, 404) },
      },
    },
    async (request, reply) => {
      const ctx = await requirePlatform(gh.db, request);
      const tenant = await findTenant(gh, request.params.tenant);
      return reply.code(201).send(await createClient(gh, tenant, request.body, ctx));
    },
  );
}
