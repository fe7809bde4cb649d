import type { FastifyInstance } from 'fastify';
import type { Gatehouse } from '../../context.ts';
import { auditContext, authenticate, noContent } from '../../http/request-context.ts';
import { bearerSecurity, errorResponses } from '../../http/schemas.ts';
import { clientIdParams, clientSchema, createClientBody, patchClientBody, rotateSecretBody } from './client.schema.ts';
import { createClient, getClient, patchClient, presentClient, removeClient, rotateSecret, type ClientInput } from './client.service.ts';
import { findClient, listClients } from './client.queries.ts';
import { withTenantTx } from '../../db/tenant-tx.ts';
import { AppError } from '../../errors/app-error.ts';
import { backchannelLogoutQuery, backchannelLogoutSchema, listBackchannelLogouts, type BackchannelStatus } from '../backchannel/backchannel-logout-list.ts';

/** The tenant admin's OAuth client registry: /t/{slug}/api/v1/admin/clients (permission tenant:manage). */
export async function adminClientRoutes(app: FastifyInstance, { gh }: { gh: Gatehouse }) {
  const secured = { security: bearerSecurity, tags: ['admin', 'oauth'] };
  type ById = { Params: { client_id: string } };

  app.post<{ Body: ClientInput }>(
    '/admin/clients',
    { schema: { ...secured, summary: 'Register an OAuth client (its secret is shown once)', body: createClientBody, response: { 201: clientSchema, ...errorResponses(401, 403) } } },
    async (request, reply) => {
      await authenticate(gh, request, 'tenant:manage');
      return reply.code(201).send(await createClient(gh, request.tenant!, request.body, auditContext(request)));
    },
  );

  app.get(
    '/admin/clients',
    { schema: { ...secured, summary: 'The tenant’s OAuth clients', response: { 200: { type: 'object', properties: { clients: { type: 'array', items: clientSchema } } }, ...errorResponses(401, 403) } } },
    async (request) => {
      await authenticate(gh, request, 'tenant:manage');
      return { clients: (await withTenantTx(gh.db, request.tenant!.id, listClients)).map(presentClient) };
    },
  );

  app.get<ById>(
    '/admin/clients/:client_id',
    { schema: { ...secured, summary: 'One OAuth client', params: clientIdParams, response: { 200: clientSchema, ...errorResponses(401, 403, 404) } } },
    async (request) => {
      await authenticate(gh, request, 'tenant:manage');
      return presentClient(await getClient(gh, request.tenant!, request.params.client_id));
    },
  );

  app.patch<ById & { Body: Omit<ClientInput, 'type' | 'name'> & { name?: string } }>(
    '/admin/clients/:client_id',
    { schema: { ...secured, summary: 'Change an OAuth client (redirect URIs, scopes, lifetimes, keys)', params: clientIdParams, body: patchClientBody, response: { 200: clientSchema, ...errorResponses(401, 403, 404) } } },
    async (request) => {
      await authenticate(gh, request, 'tenant:manage');
      return patchClient(gh, request.tenant!, request.params.client_id, request.body, auditContext(request));
    },
  );

  app.post<ById & { Body: { overlap_seconds?: number } | undefined }>(
    '/admin/clients/:client_id/secret',
    {
      schema: { ...secured, summary: 'Rotate the client secret; the previous one works until the overlap ends', params: clientIdParams, body: rotateSecretBody, response: { 200: clientSchema, ...errorResponses(401, 403, 404) } },
      preValidation: async (request) => {
        if (request.body === undefined) request.body = {};
      },
    },
    async (request) => {
      await authenticate(gh, request, 'tenant:manage');
      return rotateSecret(gh, request.tenant!, request.params.client_id, request.body?.overlap_seconds ?? 86_400, auditContext(request));
    },
  );

  app.get<ById & { Querystring: { status?: BackchannelStatus; cursor?: string; limit?: number } }>(
    '/admin/clients/:client_id/backchannel-logouts',
    {
      schema: {
        ...secured,
        summary: 'The client’s back-channel logouts, newest first (cursor pagination): delivery status, attempts and last error; never the token',
        params: clientIdParams,
        querystring: backchannelLogoutQuery,
        response: {
          200: { type: 'object', properties: { deliveries: { type: 'array', items: backchannelLogoutSchema }, next_cursor: { type: ['string', 'null'] } } },
          ...errorResponses(401, 403, 404),
        },
      },
    },
    async (request) => {
      await authenticate(gh, request, 'tenant:manage');
      const clientId = request.params.client_id;
      return withTenantTx(gh.db, request.tenant!.id, async (tx) => {
        if (!(await findClient(tx, clientId))) throw new AppError('CLIENT_NOT_FOUND');
        return listBackchannelLogouts(tx, clientId, request.query);
      });
    },
  );

  app.delete<ById>(
    '/admin/clients/:client_id',
    { schema: { ...secured, summary: 'Delete an OAuth client and end its grants', params: clientIdParams, response: { 204: { type: 'null' }, ...errorResponses(401, 403, 404) } } },
    async (request, reply) => {
      await authenticate(gh, request, 'tenant:manage');
      await removeClient(gh, request.tenant!, request.params.client_id, auditContext(request));
      return noContent(reply);
    },
  );
}
