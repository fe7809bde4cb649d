import type { FastifyInstance } from 'fastify';
import { setRefreshCookies } from '../auth/refresh-cookie.ts';
import type { Gatehouse } from '../context.ts';
import { withTenantTx } from '../db/tenant-tx.ts';
import { auditContext, authenticate, noContent, requireTenant } from '../http/request-context.ts';
import { bearerSecurity, emailField, errorResponses, passwordField, tokenResponseSchema, uuidField } from '../http/schemas.ts';
import { ROLES, type Role } from '../rbac/roles.ts';
import { effectiveSettings } from '../tenancy/tenant.model.ts';
import { acceptLanguage, tokenField } from './email-flows.routes.ts';
import { acceptInvitation, createInvitation, invitationView, listInvitations, resendInvitation, revokeInvitation } from './invitations.ts';

const invitationSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    email: { type: 'string' },
    role: { type: 'string', enum: [...ROLES] },
    status: { type: 'string', enum: ['pending', 'accepted', 'revoked', 'expired'] },
    invited_by: { type: ['string', 'null'] },
    expires_at: { type: 'string', format: 'date-time' },
    accepted_user_id: { type: ['string', 'null'] },
    created_at: { type: 'string', format: 'date-time' },
    updated_at: { type: 'string', format: 'date-time' },
  },
} as const;
const idParams = { type: 'object', properties: { id: uuidField } } as const;

export async function invitationRoutes(app: FastifyInstance, { gh }: { gh: Gatehouse }) {
  const secured = { security: bearerSecurity, tags: ['admin'] };

  app.post<{ Body: { email: string; role?: Role } }>(
    '/admin/invitations',
    {
      schema: {
        ...secured,
        summary: 'Invite an address to join with a role; the invitation link is mailed (a pending invitation to it is replaced)',
        body: {
          type: 'object',
          required: ['email'],
          additionalProperties: false,
          properties: { email: emailField, role: { type: 'string', enum: [...ROLES], default: 'user' } },
        },
        response: { 201: invitationSchema, ...errorResponses(401, 403, 409) },
      },
    },
    async (request, reply) => {
      const claims = await authenticate(gh, request, 'users:manage');
      const inv = await createInvitation(
        gh,
        request.tenant!,
        { id: claims.sub, role: claims.role },
        { email: request.body.email, role: request.body.role ?? 'user' },
        auditContext(request),
        acceptLanguage(request),
      );
      return reply.code(201).send(invitationView(inv));
    },
  );

  app.get<{ Querystring: { status?: string } }>(
    '/admin/invitations',
    {
      schema: {
        ...secured,
        summary: 'Invitations, newest first (at most 500)',
        querystring: { type: 'object', additionalProperties: false, properties: { status: { type: 'string', enum: ['pending', 'accepted', 'revoked'] } } },
        response: { 200: { type: 'object', properties: { invitations: { type: 'array', items: invitationSchema } } }, ...errorResponses(401, 403) },
      },
    },
    async (request) => {
      await authenticate(gh, request, 'users:manage');
      const rows = await withTenantTx(gh.db, request.tenant!.id, (tx) => listInvitations(tx, request.query.status));
      return { invitations: rows.map(invitationView) };
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/admin/invitations/:id',
    { schema: { ...secured, summary: 'Withdraw a pending invitation; its link stops working', params: idParams, response: { 204: { type: 'null' }, ...errorResponses(401, 403, 404, 409) } } },
    async (request, reply) => {
      await authenticate(gh, request, 'users:manage');
      await revokeInvitation(gh, request.tenant!, request.params.id, auditContext(request));
      return noContent(reply);
    },
  );

  app.post<{ Params: { id: string } }>(
    '/admin/invitations/:id/resend',
    { schema: { ...secured, summary: 'Mail a pending invitation again with a new link and expiry (the old link stops working)', params: idParams, response: { 200: invitationSchema, ...errorResponses(401, 403, 404, 409) } } },
    async (request) => {
      await authenticate(gh, request, 'users:manage');
      return invitationView(await resendInvitation(gh, request.tenant!, request.params.id, auditContext(request), acceptLanguage(request)));
    },
  );

  app.post<{ Body: { token: string; password: string; name?: string; token_delivery?: string } }>(
    '/auth/invitations/accept',
    {
      schema: {
        tags: ['auth'],
        summary: 'Accept an invitation: creates the account with the invited role (address verified) and signs in',
        body: {
          type: 'object',
          required: ['token', 'password'],
          additionalProperties: false,
          properties: {
            token: tokenField,
            password: passwordField,
            name: { type: 'string', minLength: 1, maxLength: 200 },
            token_delivery: { type: 'string', enum: ['body', 'cookie'] },
          },
        },
        response: { 201: tokenResponseSchema, ...errorResponses(403, 404, 409, 410) },
      },
    },
    async (request, reply) => {
      const tenant = await requireTenant(gh, request);
      const { token_delivery, ...input } = request.body;
      const client = { ip: request.ip, userAgent: request.headers['user-agent'] ?? null };
      const body = await acceptInvitation(gh, tenant, input, auditContext(request), client);
      reply.code(201);
      return token_delivery === 'cookie' ? setRefreshCookies(request, reply, body, effectiveSettings(tenant).refresh_token_ttl) : body;
    },
  );
}
