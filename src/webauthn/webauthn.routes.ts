import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import type { FastifyInstance } from 'fastify';
import { recordAudit } from '../audit/audit.ts';
import { setRefreshCookies } from '../auth/refresh-cookie.ts';
import type { Gatehouse } from '../context.ts';
import { withTenantTx } from '../db/tenant-tx.ts';
import { AppError } from '../errors/app-error.ts';
import { auditContext, authenticate, noContent, requireTenant } from '../http/request-context.ts';
import { bearerSecurity, errorResponses, tokenResponseSchema, uuidField } from '../http/schemas.ts';
import { currentUser } from '../identity/me.routes.ts';
import { effectiveSettings } from '../tenancy/tenant.model.ts';
import { passkeyLogin, passkeyLoginOptions } from './passkey-login.service.ts';
import { requireRecentAuthentication } from './recent-auth.ts';
import { requireRecentAal2, requireRecentAal2IfEnrolled } from '../mfa/step-up.ts';
import { notifyUserOfMfaChange } from '../mfa/mfa-notify.ts';
import { registrationOptions, verifyRegistration } from './registration.service.ts';
import { removeOwnPasskey } from '../mfa/factor-removal.ts';
import { listUserCredentials, renameCredential } from './webauthn.queries.ts';
import { toPublicCredential } from './webauthn.model.ts';
import {
  assertionOptionsSchema,
  authenticationResponseSchema,
  creationOptionsSchema,
  credentialNameField,
  credentialSchema,
  registrationResponseSchema,
} from './webauthn.schema.ts';

const idParam = { type: 'object', required: ['id'], properties: { id: uuidField } } as const;

/**
 * Passkeys: the signed-in user's own (`/me/mfa/webauthn`) and passwordless sign-in (`/auth/webauthn`). Ceremony
 * challenges live server-side for 5 minutes and are used once.
 */
export async function webauthnRoutes(app: FastifyInstance, { gh }: { gh: Gatehouse }) {
  const me = { security: bearerSecurity, tags: ['passkeys'] };

  app.get(
    '/me/mfa/webauthn',
    {
      schema: {
        ...me,
        summary: 'Passkeys and security keys of the signed-in user',
        response: { 200: { type: 'object', properties: { credentials: { type: 'array', items: credentialSchema } } }, ...errorResponses(401, 403) },
      },
    },
    async (request) => {
      const user = await currentUser(gh, request);
      const rows = await withTenantTx(gh.db, request.tenant!.id, (tx) => listUserCredentials(tx, user.id));
      return { credentials: rows.map(toPublicCredential) };
    },
  );

  app.post(
    '/me/mfa/webauthn/registration/options',
    {
      schema: {
        ...me,
        summary: 'Start registering a passkey: options for navigator.credentials.create() (needs a sign-in within 15 minutes)',
        response: { 200: { type: 'object', properties: { options: creationOptionsSchema } }, ...errorResponses(401, 403, 409) },
      },
    },
    async (request) => {
      const user = await currentUser(gh, request);
      await requireRecentAuthentication(gh, request.tenant!, request.auth!);
      await requireRecentAal2IfEnrolled(gh, request);
      return { options: await registrationOptions(gh, request.tenant!, user) };
    },
  );

  app.post<{ Body: { response: RegistrationResponseJSON; name?: string } }>(
    '/me/mfa/webauthn/registration/verify',
    {
      schema: {
        ...me,
        summary: 'Finish registering a passkey with the authenticator response (credential.toJSON())',
        body: {
          type: 'object',
          required: ['response'],
          additionalProperties: false,
          properties: { response: registrationResponseSchema, name: credentialNameField },
        },
        response: { 201: credentialSchema, ...errorResponses(401, 403, 409) },
      },
    },
    async (request, reply) => {
      const user = await currentUser(gh, request);
      await requireRecentAuthentication(gh, request.tenant!, request.auth!);
      await requireRecentAal2IfEnrolled(gh, request);
      const credential = await verifyRegistration(gh, request.tenant!, user, request.body, auditContext(request));
      await notifyUserOfMfaChange(gh, request.tenant!, user.id, 'mfa_enabled', { type: 'webauthn' });
      return reply.code(201).send(credential);
    },
  );

  app.patch<{ Params: { id: string }; Body: { name: string } }>(
    '/me/mfa/webauthn/:id',
    {
      schema: {
        ...me,
        summary: 'Rename a passkey',
        params: idParam,
        body: { type: 'object', required: ['name'], additionalProperties: false, properties: { name: credentialNameField } },
        response: { 200: credentialSchema, ...errorResponses(401, 403, 404) },
      },
    },
    async (request) => {
      const claims = await authenticate(gh, request, 'profile:read');
      const row = await withTenantTx(gh.db, request.tenant!.id, async (tx) => {
        const r = await renameCredential(tx, claims.sub, request.params.id, request.body.name.trim());
        if (!r) throw new AppError('WEBAUTHN_CREDENTIAL_NOT_FOUND');
        await recordAudit(tx, auditContext(request), { action: 'webauthn.renamed', subjectId: claims.sub, details: { credential: r.id, name: r.name } });
        return r;
      });
      return toPublicCredential(row);
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/me/mfa/webauthn/:id',
    {
      schema: {
        ...me,
        summary: 'Remove a passkey (needs a sign-in within 15 minutes, else 403 REAUTHENTICATION_REQUIRED)',
        params: idParam,
        response: { 204: { type: 'null' }, ...errorResponses(401, 403, 404) },
      },
    },
    async (request, reply) => {
      const claims = await authenticate(gh, request, 'profile:read');
      // Removing a working factor needs a recent second factor (issue 6), as removing the authenticator app does.
      await removeOwnPasskey(gh, request.tenant!, claims.sub, request.params.id, auditContext(request), () => requireRecentAal2(gh, request));
      return noContent(reply);
    },
  );

  const auth = { tags: ['auth'] };

  app.post<{ Body: { email?: string } | undefined }>(
    '/auth/webauthn/authentication/options',
    {
      schema: {
        ...auth,
        summary: 'Start a passkey sign-in: options for navigator.credentials.get() and a challenge id',
        description:
          'Without an email: usernameless, any discoverable credential. With an email: that account\'s credentials ' +
          '(an email without passkeys gets options of the same shape: the answer does not reveal accounts).',
        body: { type: 'object', additionalProperties: false, properties: { email: { type: 'string', minLength: 1, maxLength: 254 } } },
        response: { 200: assertionOptionsSchema, ...errorResponses(404, 429) },
      },
      preValidation: async (request) => {
        if (request.body === undefined) request.body = {};
      },
    },
    async (request) => {
      const tenant = await requireTenant(gh, request);
      return passkeyLoginOptions(gh, tenant, request.body?.email, auditContext(request));
    },
  );

  app.post<{ Body: { challenge_id: string; response: AuthenticationResponseJSON; token_delivery?: string } }>(
    '/auth/webauthn/authentication/verify',
    {
      schema: {
        ...auth,
        summary: 'Finish a passkey sign-in: the login token response (amr hwk or swk; aal 2 when the user was verified)',
        body: {
          type: 'object',
          required: ['challenge_id', 'response'],
          additionalProperties: false,
          properties: {
            challenge_id: { type: 'string', minLength: 1, maxLength: 100 },
            response: authenticationResponseSchema,
            token_delivery: {
              type: 'string',
              enum: ['body', 'cookie'],
              description: '`cookie` puts the refresh token in an httpOnly cookie and returns a csrf_token instead',
            },
          },
        },
        response: { 200: tokenResponseSchema, ...errorResponses(401, 403, 404) },
      },
    },
    async (request, reply) => {
      const tenant = await requireTenant(gh, request);
      const { challenge_id, response, token_delivery } = request.body;
      const client = { ip: request.ip, userAgent: request.headers['user-agent'] ?? null };
      const body = await passkeyLogin(gh, tenant, { challengeId: challenge_id, response }, auditContext(request), client);
      return token_delivery === 'cookie' ? setRefreshCookies(request, reply, body, effectiveSettings(tenant).refresh_token_ttl) : body;
    },
  );
}
